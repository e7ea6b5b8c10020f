// The rule that flags implausible results for review: pure, tested with plain values.
import assert from "node:assert/strict";
import { test } from "node:test";
import { reviewFlags, type ReviewInput } from "../src/loop/review-flags.ts";

const base: ReviewInput = {
  metricName: "val_bpb", direction: "min", metric: 2.55, baseline: 2.6, best: 2.58, noiseSigma: 0.005,
  evaluateMs: 20_000, baselineEvaluateMs: 18_000, printedMetric: null, selfReported: false,
};
const kinds = (input: Partial<ReviewInput>) => reviewFlags({ ...base, ...input }).map((flag) => flag.kind);

test("an ordinary improvement, a worse result and a first step within reason are not flagged", () => {
  assert.deepEqual(kinds({}), []);
  assert.deepEqual(kinds({ metric: 2.7 }), []);
  // 8% better than the baseline in one step, before any progress: big, but not beyond the rule.
  assert.deepEqual(kinds({ best: 2.6, metric: 2.4 }), []);
});

test("implausible_score: a score far beyond what the session has seen, for either direction", () => {
  // The reward hack of issue 14: val_bpb 0.008 against a baseline of 2.6.
  const [flag] = reviewFlags({ ...base, metric: 0.008 });
  assert.equal(flag?.kind, "implausible_score");
  assert.match(flag!.detail, /val_bpb 0\.008 improves on the best 2\.58/);
  // The threshold grows with the session's progress: after 2.6 → 1.6, a step to 1.2 is in line.
  assert.deepEqual(kinds({ best: 1.6, metric: 1.2 }), []);
  assert.deepEqual(kinds({ best: 1.6, metric: 0.5 }), ["implausible_score"]);
  // ...and with the noise: 10σ of a noisy metric is allowed.
  assert.deepEqual(kinds({ best: 2.6, metric: 2.2, noiseSigma: 0.05 }), []);
  assert.deepEqual(kinds({ best: 2.6, metric: 2.2, noiseSigma: 0.005 }), ["implausible_score"]);
  // Higher is better: accuracy 0.61 → 0.99 is flagged, 0.61 → 0.65 is not.
  assert.deepEqual(kinds({ direction: "max", baseline: 0.6, best: 0.61, metric: 0.99, noiseSigma: 0.01 }), ["implausible_score"]);
  assert.deepEqual(kinds({ direction: "max", baseline: 0.6, best: 0.61, metric: 0.65, noiseSigma: 0.01 }), []);
  // Before the baseline is known there is nothing to compare with.
  assert.deepEqual(kinds({ baseline: null, best: null, metric: 0.008 }), []);
  // An unknown σ counts as 0, not as a reason to skip the rule.
  assert.deepEqual(kinds({ noiseSigma: null, metric: 0.008 }), ["implausible_score"]);
});

test("slow_evaluation: more than 3× the baseline's evaluation and more than 5 s slower", () => {
  assert.deepEqual(kinds({ evaluateMs: 54_000 }), []);
  const [flag] = reviewFlags({ ...base, evaluateMs: 60_000 });
  assert.equal(flag?.kind, "slow_evaluation");
  assert.match(flag!.detail, /60\.0s, 3\.3× the baseline's 18\.0s/);
  // A tiny evaluation four times as slow is no news.
  assert.deepEqual(kinds({ evaluateMs: 400, baselineEvaluateMs: 100 }), []);
  assert.deepEqual(kinds({ evaluateMs: null }), []);
  assert.deepEqual(kinds({ baselineEvaluateMs: null, evaluateMs: 600_000 }), []);
});

test("self_report_mismatch: the workload's own number for the metric disagrees with the evaluator's", () => {
  assert.deepEqual(kinds({ printedMetric: 2.5 }), [], "within 10%: training and evaluation measure slightly differently");
  const [flag] = reviewFlags({ ...base, printedMetric: 0.008 });
  assert.equal(flag?.kind, "self_report_mismatch");
  assert.match(flag!.detail, /reported val_bpb 0\.008 but the evaluator scored 2\.55/);
  // The other way round: a faked score with an honest print.
  assert.deepEqual(kinds({ metric: 0.008, printedMetric: 2.55 }), ["implausible_score", "self_report_mismatch"]);
  // When the metric itself is self-reported, it is the printed number: nothing to compare.
  assert.deepEqual(kinds({ printedMetric: 0.5, selfReported: true }), []);
});
