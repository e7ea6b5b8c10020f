// The cascade's judgment as pure functions: the smoke budget, the yardstick (smoke runs of the unchanged
// code), "clearly bad" and its error rate on simulated nulls, the two decisions beside the reducer, and
// the config rules (a measure-only study is refused).
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../src/config/load.ts";
import { ConfigError } from "../src/errors.ts";
import { judgeSmoke, smokeBudgetSeconds, smokeReference, type SmokeRow } from "../src/loop/cascade.ts";
import { decideCascade, isCascadeOutcome } from "../src/loop/cascade-decide.ts";
import type { BestState } from "../src/loop/reducer.ts";
import type { ExperimentOutcome, Job } from "../src/loop/experiment.ts";
import { createRandom } from "../src/stats/random.ts";
import { proportionInterval } from "../src/stats/intervals.ts";

const AT = "2025-01-01T00:00:00.000Z";
const judging = { alpha: 0.01, minMargin: 0, direction: "min" as const, metricName: "loss", budgetSeconds: 5 };

test("the smoke budget is the cascade's seconds, or its fraction of the full budget, never below 0.1 s", () => {
  assert.equal(smokeBudgetSeconds({ budgetSeconds: 5 }, 300), 5);
  assert.equal(smokeBudgetSeconds({ budgetFraction: 0.1 }, 300), 30);
  assert.equal(smokeBudgetSeconds({ budgetFraction: 0.1 }, 60), 6);
  assert.equal(smokeBudgetSeconds({ budgetFraction: 0.01 }, 1), 0.1);
});

test("clearly bad means beyond the t prediction bound of the unchanged code's smoke runs, in the metric's direction", () => {
  const reference = [2.0, 2.1, 1.9];
  // sd 0.1, m 3: bound = t(0.99, 2) 6.965 × 0.1 × √(4/3) = 0.804
  const screened = judgeSmoke(2.9, reference, judging);
  assert.equal(screened.verdict, "screened");
  assert.ok(Math.abs(screened.bound! - 6.964557 * 0.1 * Math.sqrt(4 / 3)) < 1e-3, `bound ${screened.bound}`);
  assert.match(screened.rationale, /clearly bad, discarded without a full run/);
  assert.equal(judgeSmoke(2.7, reference, judging).verdict, "pass", "worse, but within the bound");
  assert.equal(judgeSmoke(1.0, reference, judging).verdict, "pass", "better is never screened");
  // For a metric to maximise, lower is worse.
  assert.equal(judgeSmoke(1.0, reference, { ...judging, direction: "max" }).verdict, "screened");
  assert.equal(judgeSmoke(2.9, reference, { ...judging, direction: "max" }).verdict, "pass");
  // minMargin is a floor in the metric's units.
  assert.equal(judgeSmoke(2.9, reference, { ...judging, minMargin: 1 }).verdict, "pass");
});

test("without a spread to judge by, the smoke stage catches failures only", () => {
  assert.equal(judgeSmoke(9, [2], judging).verdict, "unjudged", "one run has no spread");
  assert.equal(judgeSmoke(9, [], judging).verdict, "unjudged");
  assert.equal(judgeSmoke(9, [2, 2, 2], judging).verdict, "unjudged", "runs that do not vary give no noise margin");
  assert.equal(judgeSmoke(9, [2, 2, 2], { ...judging, minMargin: 1 }).verdict, "screened", "unless minMargin sets one");
});

test("a candidate that changes nothing is screened out at about rate alpha, whatever the noise", () => {
  // Each trial: m fresh smoke runs of the unchanged code, then one null candidate's smoke run, all N(μ, σ²).
  const random = createRandom(12);
  const trials = 20_000;
  for (const [alpha, m, sigma] of [[0.01, 3, 0.1], [0.05, 5, 3]] as const) {
    let screened = 0;
    for (let trial = 0; trial < trials; trial++) {
      const reference = Array.from({ length: m }, () => 7 + sigma * random.normal());
      if (judgeSmoke(7 + sigma * random.normal(), reference, { ...judging, alpha }).verdict === "screened") screened += 1;
    }
    // 99.9% Wilson interval of the observed rate must hold alpha.
    const rate = proportionInterval(screened, trials, 0.999);
    assert.ok(rate.low <= alpha && alpha <= rate.high, `alpha ${alpha}, m ${m}: screened ${screened}/${trials} (${rate.low}–${rate.high})`);
  }
});

test("the yardstick: smoke runs of the unchanged code on this kind of device; off when one failed; pending while one runs", () => {
  const smoke = (id: number, status: SmokeRow["status"], metric: number | null, device = "cpu"): SmokeRow => ({ id, kind: "smoke", status, metric, device, confirms: null });
  assert.deepEqual(smokeReference([], "cpu"), { state: "off", reason: "the unchanged code has no smoke runs in this session" });
  assert.deepEqual(smokeReference([smoke(2, "ok", 1), smoke(3, "ok", 2, "cuda:0"), smoke(4, "ok", 3)], "cpu"), { state: "on", values: [1, 3] });
  assert.deepEqual(smokeReference([smoke(2, "ok", 1), smoke(3, "ok", 2, "cuda:0")], "cuda:1"), { state: "on", values: [2] });
  assert.deepEqual(smokeReference([smoke(2, "ok", 1), smoke(3, "running", null)], "cpu"), { state: "pending" });
  assert.deepEqual(smokeReference([smoke(2, "ok", 1), smoke(3, "interrupted", null)], "cpu"), { state: "on", values: [1] });
  const off = smokeReference([smoke(2, "ok", 1), smoke(3, "timeout", null)], "cpu");
  assert.equal(off.state, "off");
  assert.match(off.state === "off" ? off.reason : "", /smoke run #3 ended timeout/);
});

function state(overrides: Partial<BestState> = {}): BestState {
  return { commit: "base", metric: 2, experimentId: null, noiseSigma: 0.1, bestRuns: [2, 2.1], keptRuns: 0, noiseGroups: [], awaiting: [], consecutiveFailures: 2, sinceRemeasure: 1, ...overrides };
}
const candidate: Job = { kind: "candidate", parentCommit: "base", proposer: "test", description: "bad", hypothesis: "", meta: null, files: {}, proposeMs: 0, usage: null };
const smokeJob: Job = { kind: "smoke", commit: "base", of: null, description: "smoke run of the unchanged code", meta: null };
function outcome(job: Job, status: ExperimentOutcome["status"], metric: number | null, extra: Partial<ExperimentOutcome> = {}): ExperimentOutcome {
  return { id: 9, job, status, candidateCommit: "c9", metric, heldOutMetric: null, selfReported: false, reason: null, dataTampered: false, timings: { totalMs: 100 }, ...extra };
}

test("a smoke run of the unchanged code is recorded and decides nothing, not even the failures in a row", () => {
  const before = state();
  for (const [status, metric] of [["ok", 2.5], ["crash", null]] as const) {
    const input = { outcome: outcome(smokeJob, status, metric), flags: [], at: AT };
    assert.ok(isCascadeOutcome(input));
    const decided = decideCascade(before, input);
    assert.deepEqual(decided.state, before);
    assert.equal(decided.ledger.session, null);
    assert.equal(decided.ledger.finish.patch.decision, undefined);
    assert.equal(decided.ref, null);
    assert.deepEqual(decided.events.map((event) => event.type), ["experiment_finished"]);
  }
});

test("a screened candidate is discarded with an empty metric: its smoke metric never meets the best", () => {
  const stage = { budgetSeconds: 5, metric: 9, verdict: "screened" as const, rationale: "smoke stage (5 s): loss 9 ... clearly bad", wallMs: 50 };
  const input = { outcome: outcome(candidate, "ok", null, { smoke: stage, reason: "smoke stage: clearly worse" }), flags: [], at: AT };
  assert.ok(isCascadeOutcome(input));
  const before = state();
  const decided = decideCascade(before, input);
  assert.equal(decided.ledger.finish.patch.decision, "discard");
  assert.equal(decided.ledger.finish.patch.metric, null);
  assert.equal(decided.ledger.finish.patch.delta, null);
  assert.equal(decided.ledger.finish.patch.rationale, stage.rationale);
  assert.deepEqual({ ...decided.state, consecutiveFailures: 2 }, before, "only the failures in a row change");
  assert.equal(decided.state.consecutiveFailures, 0);
  const decision = decided.events.find((event) => event.type === "decision");
  assert.equal(decision?.type === "decision" ? decision.metric : "missing", null);
  // A candidate whose smoke stage passed, or failed, goes to the reducer.
  assert.ok(!isCascadeOutcome({ outcome: outcome(candidate, "ok", 1.5, { smoke: { ...stage, verdict: "pass" } }) }));
  assert.ok(!isCascadeOutcome({ outcome: outcome(candidate, "crash", null, { smoke: { ...stage, verdict: "failed" } }) }));
});

const trained = {
  mutable: ["train.py"], train: { command: "python train.py" }, budgetSeconds: 60, metric: { name: "loss", direction: "min" },
};
function problems(config: Record<string, unknown>): string {
  try {
    parseConfig(JSON.stringify(config), "/p/autoresearch.config.json", "/p");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.message;
  }
  assert.fail("the config was accepted");
}

test("config: a cascade needs a train phase, one kind of smoke budget, and a smoke budget below the full one", () => {
  const parsed = parseConfig(JSON.stringify({ ...trained, cascade: { budgetFraction: 0.1 } }), "/p/autoresearch.config.json", "/p");
  assert.deepEqual(parsed.cascade, { budgetFraction: 0.1, baselineRuns: 3, alpha: 0.01, minMargin: 0 });
  const measureOnly = { mutable: ["sort.js"], measure: { command: "node bench.js" }, metric: { name: "ms", direction: "min" } };
  assert.match(problems({ ...measureOnly, cascade: { budgetSeconds: 5 } }), /cascade: a measure-only study has no train phase/);
  assert.match(problems({ ...measureOnly, promote: { budgetSeconds: 60 } }), /promote: a measure-only study has no train budget/);
  assert.match(problems({ ...trained, cascade: { budgetSeconds: 5, budgetFraction: 0.1 } }), /cascade: expected exactly one of budgetSeconds/);
  assert.match(problems({ ...trained, cascade: {} }), /cascade: expected exactly one of budgetSeconds/);
  assert.match(problems({ ...trained, cascade: { budgetSeconds: 60 } }), /cascade.budgetSeconds: 60 is not shorter than the full budget \(60 s\)/);
  assert.match(problems({ ...trained, budgetByDevice: { cpu: 10 }, cascade: { budgetSeconds: 20 } }), /not shorter than the full budget \(10 s\)/);
  assert.match(problems({ ...trained, cascade: { budgetFraction: 1 } }), /cascade.budgetFraction/);
  assert.match(problems({ ...trained, cascade: { budgetSeconds: 5, baselineRuns: 1 } }), /cascade.baselineRuns/);
});
