// The decision after an experiment as plain input -> output tables (loop/reducer.ts): no git, no SQLite.
import { test } from "node:test";
import assert from "node:assert/strict";
import { greedyPolicy, noiseAwarePolicy, sequentialPolicy } from "../src/loop/decide.ts";
import type { ExperimentOutcome, Job } from "../src/loop/experiment.ts";
import { decide, pendingFollowUps, stateFromLedger, type BestState, type DecisionPolicy } from "../src/loop/reducer.ts";
import type { LedgerExperiment } from "../src/ledger/sqlite.ts";
import type { ReviewFlag } from "../src/core/experiment.ts";

const AT = "2025-01-02T03:04:05.000Z";
const BASE = "base0000";

const greedy: DecisionPolicy = { acceptance: greedyPolicy(), direction: "min", metricName: "loss", baselineRuns: 1 };
const confirming: DecisionPolicy = {
  acceptance: noiseAwarePolicy({ z: 2, minDelta: 0, confirm: true }), direction: "min", metricName: "loss", baselineRuns: 3,
};

function state(overrides: Partial<BestState> = {}): BestState {
  return { commit: BASE, metric: 2, experimentId: null, noiseSigma: null, bestRuns: [2], keptRuns: 0, noiseGroups: [], awaiting: [], consecutiveFailures: 0, sinceRemeasure: 0, ...overrides };
}

const baselineJob: Job = { kind: "baseline", commit: BASE, description: "baseline (unchanged code)" };
function candidateJob(description: string): Job {
  return { kind: "candidate", parentCommit: BASE, proposer: "test", description, hypothesis: "", meta: null, files: {}, proposeMs: 0, usage: null };
}
function confirmationOf(id: number, commit: string, description: string): Job {
  return { kind: "confirmation", confirms: id, commit, description: `confirm #${id}: ${description}` };
}

function outcome(id: number, job: Job, status: ExperimentOutcome["status"], metric: number | null, commit = `c${id}`): ExperimentOutcome {
  return {
    id, job, status, candidateCommit: commit, metric, heldOutMetric: null, selfReported: false,
    reason: status === "ok" ? null : `${status} happened`, dataTampered: false, timings: { totalMs: 1000 },
  };
}

const input = (result: ExperimentOutcome, flags: ReviewFlag[] = []) => ({ outcome: result, flags, at: AT });

function row(fields: Partial<LedgerExperiment> & Pick<LedgerExperiment, "id" | "kind" | "status">): LedgerExperiment {
  return {
    tag: "t", confirms: null, parentCommit: BASE, candidateCommit: `c${fields.id}`, candidateTree: null, proposer: "test",
    description: `experiment ${fields.id}`, hypothesis: "", meta: null, diff: "", decision: null, reason: null, rationale: null,
    metric: null, heldOutMetric: null, secondary: {}, selfReported: false, flags: [], bestBefore: null, delta: null, device: "cpu",
    slot: 0, logPath: "", timings: {}, memoryGb: null, usage: null, startedAt: AT, finishedAt: AT, ...fields,
  };
}

test("baselines: the first k-1 runs only record; the k-th sets the best to their mean and estimates the noise", () => {
  const empty = state({ metric: null, bestRuns: [] });
  const first = decide(empty, input(outcome(1, baselineJob, "ok", 1.0, BASE)), confirming);
  assert.deepEqual(first.ledger, {
    finish: { id: 1, patch: { status: "ok", metric: 1.0, heldOutMetric: null, selfReported: false, flags: [], reason: null, timings: { totalMs: 1000 }, finishedAt: AT, rationale: "baseline run 1 of 3" } },
    amend: null, session: null,
  });
  assert.deepEqual(first.events.map((event) => event.type), ["experiment_finished"]);
  assert.equal(first.state.metric, null, "no best before the baseline is complete");
  assert.deepEqual(first.state.bestRuns, [1.0]);
  assert.equal(first.ref, null);

  const second = decide(first.state, input(outcome(2, baselineJob, "ok", 1.2, BASE)), confirming);
  assert.equal(second.ledger.session, null);
  const third = decide(second.state, input(outcome(3, baselineJob, "ok", 1.4, BASE)), confirming);
  const mean = (1.0 + 1.2 + 1.4) / 3;
  assert.deepEqual(third.ledger.session, { bestMetric: mean, noiseSigma: third.state.noiseSigma, bestExperimentId: null });
  assert.ok(Math.abs(third.state.noiseSigma! - 0.2) < 1e-12, `σ of 1.0, 1.2, 1.4 is 0.2 (got ${third.state.noiseSigma})`);
  assert.equal(third.ledger.finish.patch.rationale, `baseline run 3 of 3; baseline = mean ${mean}`);
  assert.deepEqual(third.events.slice(1), [
    { type: "noise_estimated", at: AT, sigma: third.state.noiseSigma, samples: 3, baseline: mean, degreesOfFreedom: 2 },
    { type: "best_updated", at: AT, id: 3, commit: BASE, metric: mean, previous: null },
  ]);
  assert.deepEqual({ commit: third.state.commit, metric: third.state.metric, experimentId: third.state.experimentId }, { commit: BASE, metric: mean, experimentId: null });
  assert.equal(third.ref, null, "the branch already points at the base");
  assert.deepEqual(third.followUps, []);
});

test("baselines: one run (greedy) sets the best without a noise estimate; a failed baseline records the failure only", () => {
  const only = decide(state({ metric: null, bestRuns: [] }), input(outcome(1, baselineJob, "ok", 3, BASE)), greedy);
  assert.deepEqual(only.events.map((event) => event.type), ["experiment_finished", "best_updated"]);
  assert.deepEqual(only.ledger.session, { bestMetric: 3, noiseSigma: null, bestExperimentId: null });

  const crashed = decide(state({ metric: null, bestRuns: [] }), input(outcome(1, baselineJob, "crash", null, BASE)), greedy);
  assert.equal(crashed.ledger.session, null);
  assert.equal(crashed.state.metric, null);
  assert.equal(crashed.state.consecutiveFailures, 1);
});

test("candidates: strictly better is kept and moves the branch; equal or worse is discarded and moves nothing", () => {
  const rows: { name: string; policy: DecisionPolicy; best: number; metric: number; decision: "keep" | "discard"; rationale: RegExp }[] = [
    { name: "better (min)", policy: greedy, best: 2, metric: 1.5, decision: "keep", rationale: /loss 1\.5 beats best 2 by 0\.5 > threshold 0 .*: keep/ },
    { name: "tie", policy: greedy, best: 2, metric: 2, decision: "discard", rationale: /loss 2 equals best 2, no improvement: discard/ },
    { name: "worse (min)", policy: greedy, best: 2, metric: 2.5, decision: "discard", rationale: /is worse than best 2 by 0\.5: discard/ },
    { name: "better (max)", policy: { ...greedy, direction: "max" }, best: 2, metric: 2.5, decision: "keep", rationale: /beats best 2 by 0\.5/ },
    { name: "tie (max)", policy: { ...greedy, direction: "max" }, best: 2, metric: 2, decision: "discard", rationale: /equals best 2/ },
  ];
  for (const each of rows) {
    const before = state({ metric: each.best, consecutiveFailures: 2 });
    const decided = decide(before, input(outcome(7, candidateJob(each.name), "ok", each.metric)), each.policy);
    const patch = decided.ledger.finish.patch;
    assert.equal(patch.decision, each.decision, each.name);
    assert.match(patch.rationale!, each.rationale, each.name);
    assert.equal(patch.bestBefore, each.best, each.name);
    assert.equal(patch.delta, each.metric - each.best, each.name);
    assert.equal(decided.state.consecutiveFailures, 0, `${each.name}: an ok result resets the failures in a row`);
    assert.deepEqual(decided.followUps, [], each.name);
    const decision = decided.events.find((event) => event.type === "decision");
    assert.deepEqual(decision, { type: "decision", at: AT, id: 7, decision: each.decision, metric: each.metric, best: each.best, delta: each.metric - each.best, rationale: patch.rationale }, each.name);
    if (each.decision === "keep") {
      assert.deepEqual(decided.ref, { commit: "c7" }, each.name);
      assert.deepEqual(decided.ledger.session, { bestCommit: "c7", bestMetric: each.metric, bestExperimentId: 7, noiseSigma: null }, each.name);
      assert.deepEqual({ commit: decided.state.commit, metric: decided.state.metric, experimentId: decided.state.experimentId }, { commit: "c7", metric: each.metric, experimentId: 7 }, each.name);
      assert.deepEqual(decided.events.map((event) => event.type), ["experiment_finished", "decision", "best_updated"], each.name);
      assert.deepEqual(decided.events[2], { type: "best_updated", at: AT, id: 7, commit: "c7", metric: each.metric, previous: each.best }, each.name);
    } else {
      assert.equal(decided.ref, null, each.name);
      assert.deepEqual(decided.ledger.session, { noiseSigma: null }, each.name);
      assert.deepEqual({ commit: decided.state.commit, metric: decided.state.metric }, { commit: BASE, metric: each.best }, each.name);
      assert.deepEqual(decided.events.map((event) => event.type), ["experiment_finished", "decision"], each.name);
    }
  }
});

test("failed outcomes change no best, count as failures (interrupted does not), and carry their reason and flags", () => {
  const rows: { status: ExperimentOutcome["status"]; failures: number }[] = [
    { status: "crash", failures: 4 }, { status: "timeout", failures: 4 }, { status: "no_metric", failures: 4 },
    { status: "invalid", failures: 4 }, { status: "rejected", failures: 4 }, { status: "interrupted", failures: 3 },
  ];
  for (const each of rows) {
    const before = state({ metric: 1.5, commit: "best", experimentId: 4, consecutiveFailures: 3 });
    const decided = decide(before, input(outcome(9, candidateJob(each.status), each.status, null)), confirming);
    assert.deepEqual(decided.ledger, {
      finish: { id: 9, patch: { status: each.status, metric: null, heldOutMetric: null, selfReported: false, flags: [], reason: `${each.status} happened`, timings: { totalMs: 1000 }, finishedAt: AT } },
      amend: null, session: null,
    }, each.status);
    assert.equal(decided.ref, null, each.status);
    assert.deepEqual(decided.followUps, [], each.status);
    assert.deepEqual(decided.state, { ...before, consecutiveFailures: each.failures }, each.status);
    assert.deepEqual(decided.events, [{ type: "experiment_finished", at: AT, id: 9, status: each.status, metric: null, heldOutMetric: null, selfReported: false, wallMs: 1000, reason: `${each.status} happened` }], each.status);
  }
  const flags: ReviewFlag[] = [{ kind: "implausible_score", detail: "far better than the baseline" }];
  const flagged = decide(state(), input(outcome(3, candidateJob("flagged"), "ok", 1), flags), greedy);
  assert.deepEqual(flagged.ledger.finish.patch.flags, flags);
  assert.deepEqual((flagged.events[0] as { flags?: ReviewFlag[] }).flags, flags);
});

test("confirmations: a would-be keep asks for a re-run; the mean of both runs decides the original", () => {
  const before = state({ metric: 2, bestRuns: [1.9, 2.0, 2.1], noiseSigma: 0.1 });
  const first = decide(before, input(outcome(5, candidateJob("faster"), "ok", 1.5)), confirming);
  assert.equal(first.ledger.finish.patch.decision, null, "no decision until the confirmation ran");
  assert.match(first.ledger.finish.patch.rationale!, /re-run once to confirm before keeping/);
  assert.equal(first.ledger.session, null);
  assert.equal(first.ref, null);
  assert.deepEqual(first.followUps, [confirmationOf(5, "c5", "faster")]);
  assert.deepEqual(first.state.awaiting, [{ id: 5, metric: 1.5, runs: [1.5], commit: "c5", description: "faster" }]);
  assert.deepEqual(first.events[1], { type: "decision", at: AT, id: 5, decision: "confirm", metric: 1.5, best: 2, delta: -0.5, rationale: first.ledger.finish.patch.rationale });

  const rows: { name: string; second: number; decision: "keep" | "discard" }[] = [
    { name: "confirmed", second: 1.6, decision: "keep" },
    { name: "not confirmed", second: 2.3, decision: "discard" },
  ];
  for (const each of rows) {
    const decided = decide(first.state, input(outcome(6, confirmationOf(5, "c5", "faster"), "ok", each.second, "c5")), confirming);
    const mean = (1.5 + each.second) / 2;
    const rationale = decided.ledger.finish.patch.rationale!;
    assert.match(rationale, new RegExp(`mean of 1\\.5, ${each.second}`), each.name);
    assert.equal(decided.ledger.finish.patch.decision, each.decision, `${each.name}: the confirmation row records the decision`);
    assert.deepEqual(decided.ledger.amend, { id: 5, patch: { decision: each.decision, rationale } }, `${each.name}: so does the original`);
    assert.deepEqual(decided.state.awaiting, [], each.name);
    // The pair is a noise group; on a keep the former best's runs close into one too.
    const groups = each.decision === "keep" ? [[1.5, each.second], [1.9, 2.0, 2.1]] : [[1.5, each.second]];
    assert.deepEqual(decided.state.noiseGroups, groups, `${each.name}: the noise groups`);
    assert.deepEqual(decided.state.bestRuns, each.decision === "keep" ? [] : [1.9, 2.0, 2.1], `${each.name}: the best's fresh runs`);
    assert.deepEqual(decided.followUps, [], `${each.name}: noise-aware re-measures nothing`);
    const decision = decided.events.find((event) => event.type === "decision");
    assert.deepEqual(decision, { type: "decision", at: AT, id: 5, decision: each.decision, metric: mean, best: 2, delta: mean - 2, rationale }, `${each.name}: the decision is the original's`);
    if (each.decision === "keep") {
      assert.deepEqual(decided.ref, { commit: "c5" });
      assert.deepEqual(decided.ledger.session, { bestCommit: "c5", bestMetric: mean, bestExperimentId: 5, noiseSigma: decided.state.noiseSigma });
      assert.deepEqual({ commit: decided.state.commit, metric: decided.state.metric, experimentId: decided.state.experimentId }, { commit: "c5", metric: mean, experimentId: 5 });
      assert.deepEqual(decided.events.at(-1), { type: "best_updated", at: AT, id: 5, commit: "c5", metric: mean, previous: 2 });
    } else {
      assert.equal(decided.ref, null);
      assert.deepEqual(decided.ledger.session, { noiseSigma: decided.state.noiseSigma });
      assert.equal(decided.state.metric, 2);
    }
  }
});

test("noise: each confirmation pair joins the pooled estimate, which the next judgement uses", () => {
  const before = state({ metric: 2, bestRuns: [1.9, 2.1], noiseSigma: Math.sqrt(0.02), awaiting: [{ id: 5, metric: 1.5, runs: [1.5], commit: "c5", description: "x" }] });
  const decided = decide(before, input(outcome(6, confirmationOf(5, "c5", "x"), "ok", 1.9, "c5")), confirming);
  // Squares: (0.1² + 0.1²) + (0.2² + 0.2²) = 0.1 over 2 degrees of freedom.
  assert.ok(Math.abs(decided.state.noiseSigma! - Math.sqrt(0.05)) < 1e-12, `pooled σ (got ${decided.state.noiseSigma})`);
  assert.equal(decided.ledger.session!.noiseSigma, decided.state.noiseSigma);
  // The pair was judged with the σ before it (0.141...): mean 1.7 beats 2 by 0.3 > 2σ = 0.283.
  assert.equal(decided.ledger.finish.patch.decision, "keep");
  assert.match(decided.ledger.finish.patch.rationale!, /σ=0\.14142 from 2 samples/);

  const failedPair = decide(before, input(outcome(6, confirmationOf(5, "c5", "x"), "crash", null, "c5")), confirming);
  assert.deepEqual(failedPair.state.noiseGroups, before.noiseGroups, "a crashed confirmation measures nothing");
  assert.equal(failedPair.state.noiseSigma, before.noiseSigma);
});

test("a confirmation that fails or is interrupted discards its original", () => {
  for (const status of ["crash", "timeout", "interrupted"] as const) {
    const before = state({ metric: 2, awaiting: [{ id: 5, metric: 1.5, runs: [1.5], commit: "c5", description: "x" }] });
    const decided = decide(before, input(outcome(6, confirmationOf(5, "c5", "x"), status, null, "c5")), confirming);
    const rationale = `confirmation run 6 ended ${status}: not kept`;
    assert.deepEqual(decided.ledger.amend, { id: 5, patch: { decision: "discard", rationale } }, status);
    assert.equal(decided.ledger.finish.patch.decision, undefined, `${status}: the confirmation row itself has no decision`);
    assert.equal(decided.ledger.session, null, status);
    assert.deepEqual(decided.state.awaiting, [], status);
    assert.deepEqual(decided.events[1], { type: "decision", at: AT, id: 5, decision: "discard", metric: null, best: 2, delta: null, rationale }, status);
  }
});

test("a confirmation whose original was superseded is judged against the best at its end, not the one it was proposed on", () => {
  // 5 was a would-be keep against 2.0; meanwhile 8 was kept at 1.6.
  const before = state({ commit: "c8", metric: 1.6, experimentId: 8, bestRuns: [], keptRuns: 1, noiseGroups: [[1.95, 2.05]], noiseSigma: Math.sqrt(0.005), awaiting: [{ id: 5, metric: 1.7, runs: [1.7], commit: "c5", description: "x" }] });
  const decided = decide(before, input(outcome(9, confirmationOf(5, "c5", "x"), "ok", 1.7, "c5")), confirming);
  assert.equal(decided.ledger.finish.patch.decision, "discard");
  assert.equal(decided.ledger.finish.patch.bestBefore, 1.6);
  assert.match(decided.ledger.finish.patch.rationale!, /is worse than best 1\.6/);
  assert.deepEqual(decided.ledger.amend?.patch.decision, "discard");
  assert.equal(decided.ref, null, "the branch stays on the newer best");
  assert.deepEqual({ commit: decided.state.commit, metric: decided.state.metric, experimentId: decided.state.experimentId }, { commit: "c8", metric: 1.6, experimentId: 8 });
});

test("a confirmation of an experiment that awaits none is a harness bug, reported, not guessed", () => {
  assert.throws(() => decide(state(), input(outcome(6, confirmationOf(5, "c5", "x"), "ok", 1, "c5")), confirming), /5 is not awaiting one/);
});

test("decide does not change its input state", () => {
  const before = state({ metric: 2, bestRuns: [1.9, 2.1], awaiting: [{ id: 5, metric: 1.5, runs: [1.5], commit: "c5", description: "x" }] });
  const copy = structuredClone(before);
  decide(before, input(outcome(6, confirmationOf(5, "c5", "x"), "ok", 1.6, "c5")), confirming);
  decide(before, input(outcome(7, baselineJob, "ok", 2, BASE)), confirming);
  decide(before, input(outcome(8, candidateJob("y"), "crash", null)), confirming);
  assert.deepEqual(before, copy);
});

test("resume: the state comes back from the ledger, and a would-be keep whose confirmation never ran is queued again", () => {
  const session = { bestCommit: "c4", bestMetric: 1.8, bestExperimentId: 4, noiseSigma: 0.1 };
  const rows = [
    row({ id: 1, kind: "baseline", status: "ok", metric: 2.0 }),
    row({ id: 2, kind: "baseline", status: "ok", metric: 2.2 }),
    row({ id: 3, kind: "baseline", status: "crash" }),
    row({ id: 4, kind: "candidate", status: "ok", metric: 1.7, decision: "keep" }),
    row({ id: 5, kind: "confirmation", status: "ok", metric: 1.9, confirms: 4, decision: "keep" }),
    row({ id: 6, kind: "candidate", status: "ok", metric: 1.2, description: "much faster" }),
    row({ id: 7, kind: "confirmation", status: "interrupted", confirms: 6 }),
    row({ id: 8, kind: "candidate", status: "ok", metric: 2.5, decision: "discard" }),
    row({ id: 9, kind: "candidate", status: "crash" }),
  ];
  const resumed = stateFromLedger(session, rows);
  assert.deepEqual(resumed, {
    commit: "c4", metric: 1.8, experimentId: 4, noiseSigma: 0.1,
    bestRuns: [], keptRuns: 2,
    noiseGroups: [[2.0, 2.2], [1.7, 1.9]],
    awaiting: [{ id: 6, metric: 1.2, runs: [1.2], commit: "c6", description: "much faster" }],
    consecutiveFailures: 0, sinceRemeasure: 0,
  });
  assert.deepEqual(pendingFollowUps(resumed, confirming), [confirmationOf(6, "c6", "much faster")]);
  assert.deepEqual(pendingFollowUps(stateFromLedger(session, rows.filter((each) => each.id !== 6)), confirming), [], "nothing awaits: nothing is queued");

  // The re-queued confirmation is decided like any other.
  const decided = decide(resumed, input(outcome(10, confirmationOf(6, "c6", "much faster"), "ok", 1.3, "c6")), confirming);
  assert.equal(decided.ledger.amend?.id, 6);
  assert.equal(decided.ledger.finish.patch.decision, "keep");
  assert.deepEqual(decided.state.awaiting, []);
});

const sequential: DecisionPolicy = {
  acceptance: sequentialPolicy({ lookAlpha: 0.025, maxRuns: 3, futility: 0.8, minDelta: 0 }),
  direction: "min", metricName: "loss", baselineRuns: 4, remeasure: { afterKeep: 2, every: 3, upTo: 5 },
};
function remeasureOf(of: number | null, commit: string): Job {
  return { kind: "remeasure", commit, of, description: `re-measure ${of === null ? "the baseline" : `best #${of}`}`, meta: null };
}
// A best measured 4 times (σ ≈ 0.1, 3 df), as after a sequential baseline.
const measured = () => state({ metric: 2, bestRuns: [1.9, 2.0, 2.1, 2.0], noiseSigma: estimateSigma([1.9, 2.0, 2.1, 2.0]) });
function estimateSigma(values: number[]): number {
  const average = values.reduce((sum, value) => sum + value, 0) / values.length;
  return Math.sqrt(values.reduce((sum, value) => sum + (value - average) ** 2, 0) / (values.length - 1));
}

test("sequential: an in-between candidate runs again with its runs carried; a keep asks for fresh runs of the new best", () => {
  const first = decide(measured(), input(outcome(5, candidateJob("faster"), "ok", 1.8)), sequential);
  assert.equal(first.ledger.finish.patch.decision, null);
  assert.match(first.ledger.finish.patch.rationale!, /run 1 of at most 3.*run again/);
  assert.deepEqual(first.followUps, [confirmationOf(5, "c5", "faster")]);
  assert.deepEqual(first.state.awaiting, [{ id: 5, metric: 1.8, runs: [1.8], commit: "c5", description: "faster" }]);

  const second = decide(first.state, input(outcome(6, confirmationOf(5, "c5", "faster"), "ok", 1.75, "c5")), sequential);
  assert.equal(second.ledger.finish.patch.decision, "keep", second.ledger.finish.patch.rationale!);
  assert.deepEqual(second.ledger.amend, { id: 5, patch: { decision: "keep", rationale: second.ledger.finish.patch.rationale } });
  assert.deepEqual(second.ref, { commit: "c5" });
  assert.deepEqual(second.followUps, [remeasureOf(5, "c5"), remeasureOf(5, "c5")], "two fresh runs of the new best");
  assert.deepEqual(second.state.bestRuns, [], "the winning runs are not the best's fresh runs");
  assert.equal(second.state.keptRuns, 2);
  assert.equal(second.state.metric, 1.775, "until re-measured, the best is the winning runs' mean");
  assert.deepEqual(second.state.noiseGroups, [[1.8, 1.75], [1.9, 2.0, 2.1, 2.0]]);

  // The fresh runs replace the winning runs' value.
  const third = decide(second.state, input(outcome(7, remeasureOf(5, "c5"), "ok", 1.9, "c5")), sequential);
  assert.equal(third.state.metric, 1.9);
  assert.deepEqual(third.state.bestRuns, [1.9]);
  assert.equal(third.ref, null, "the branch already points at the best");
  assert.equal(third.ledger.finish.patch.decision, undefined, "a re-measure decides nothing");
  assert.deepEqual(third.ledger.session, { bestMetric: 1.9, noiseSigma: third.state.noiseSigma });
  const fourth = decide(third.state, input(outcome(8, remeasureOf(5, "c5"), "ok", 1.86, "c5")), sequential);
  assert.ok(Math.abs(fourth.state.metric! - 1.88) < 1e-12);
  assert.deepEqual(fourth.events.map((event) => event.type), ["experiment_finished", "best_remeasured"]);
  assert.deepEqual(fourth.events[1], {
    type: "best_remeasured", at: AT, id: 8, of: 5, commit: "c5", metric: fourth.state.metric, runs: 2, previous: 1.9,
    sigma: fourth.state.noiseSigma, degreesOfFreedom: 5,
  });
  // Later candidates are judged against the fresh mean, with the best's 2 runs in the standard error.
  const later = decide(fourth.state, input(outcome(9, candidateJob("y"), "ok", 1.6)), sequential);
  assert.match(later.ledger.finish.patch.rationale!, /best 1\.88 .*best from 2 runs/);
});

test("sequential: the best is re-measured every few decided candidates up to its cap; a re-run far off warns of drift", () => {
  let current = measured();
  const followUps: Job[][] = [];
  for (let id = 10; id < 19; id += 1) {
    const decided = decide(current, input(outcome(id, candidateJob(`worse ${id}`), "ok", 2.5)), sequential);
    assert.equal(decided.ledger.finish.patch.decision, "discard");
    followUps.push(decided.followUps);
    current = decided.state;
  }
  // Every 3rd decided candidate while the best has fewer than 5 fresh runs (it has 4; each re-measure is queued, not yet run).
  assert.deepEqual(followUps.map((jobs) => jobs.length), [0, 0, 1, 0, 0, 1, 0, 0, 1]);
  assert.deepEqual(followUps[2], [remeasureOf(null, BASE)]);
  const capped = decide({ ...current, bestRuns: [1.9, 2.0, 2.1, 2.0, 2.0], sinceRemeasure: 2 }, input(outcome(30, candidateJob("z"), "ok", 2.5)), sequential);
  assert.deepEqual(capped.followUps, [], "5 fresh runs is the cap");

  const steady = decide(measured(), input(outcome(20, remeasureOf(null, BASE), "ok", 2.05, BASE)), sequential);
  assert.ok(!steady.events.some((event) => event.type === "warning"));
  const drifted = decide(measured(), input(outcome(20, remeasureOf(null, BASE), "ok", 3.0, BASE)), sequential);
  const warning = drifted.events.find((event) => event.type === "warning");
  assert.ok(warning && warning.type === "warning");
  assert.match(warning.message, /re-run 3 is .* standard errors from its 4 earlier runs .*drifting/);
  assert.match(drifted.ledger.finish.patch.rationale!, /drifting/);
});

test("sequential: a re-measure of a replaced best, and finalize's runs, change nothing but their own row", () => {
  const before = { ...measured(), commit: "c5", experimentId: 5, bestRuns: [], keptRuns: 2 };
  const stale = decide(before, input(outcome(9, remeasureOf(null, BASE), "ok", 2.0, BASE)), sequential);
  assert.deepEqual(stale.state, before);
  assert.match(stale.ledger.finish.patch.rationale!, /no longer the best/);
  for (const kind of ["rescore", "ablation"] as const) {
    const job: Job = { kind, commit: "c5", of: null, description: kind, meta: null };
    for (const status of ["ok", "crash"] as const) {
      const decided = decide(before, input(outcome(10, job, status, status === "ok" ? 1.5 : null, "c5")), sequential);
      assert.deepEqual(decided.state, before, `${kind} ${status}`);
      assert.equal(decided.ledger.session, null);
      assert.equal(decided.ledger.finish.patch.decision, undefined);
      assert.deepEqual(decided.events.map((event) => event.type), ["experiment_finished"]);
    }
  }
  const crashedRemeasure = decide(before, input(outcome(11, remeasureOf(5, "c5"), "crash", null, "c5")), sequential);
  assert.deepEqual(crashedRemeasure.state, before, "a failed re-measure is not a proposer's failure");
});

test("sequential resume: the best's fresh runs come back, and missing re-measures of a new best are queued again", () => {
  const session = { bestCommit: "c4", bestMetric: 1.8, bestExperimentId: 4, noiseSigma: 0.1 };
  const rows = [
    row({ id: 1, kind: "baseline", status: "ok", metric: 2.0 }),
    row({ id: 2, kind: "baseline", status: "ok", metric: 2.2 }),
    row({ id: 3, kind: "remeasure", status: "ok", metric: 2.1 }),
    row({ id: 4, kind: "candidate", status: "ok", metric: 1.7, decision: "keep" }),
    row({ id: 5, kind: "confirmation", status: "ok", metric: 1.9, confirms: 4, decision: "keep" }),
    row({ id: 6, kind: "remeasure", status: "ok", metric: 1.8, confirms: 4, candidateCommit: "c4" }),
    row({ id: 7, kind: "remeasure", status: "interrupted", confirms: 4, candidateCommit: "c4" }),
    row({ id: 8, kind: "candidate", status: "ok", metric: 1.85 }),
    row({ id: 9, kind: "confirmation", status: "ok", metric: 1.75, confirms: 8 }),
    row({ id: 10, kind: "rescore", status: "ok", metric: 1.0 }),
  ];
  const resumed = stateFromLedger(session, rows);
  assert.deepEqual(resumed.bestRuns, [1.8]);
  assert.equal(resumed.keptRuns, 2);
  assert.deepEqual(resumed.noiseGroups, [[2.0, 2.2, 2.1], [1.7, 1.9]], "the base's fresh runs, the kept candidate's own runs; not finalize's");
  assert.deepEqual(resumed.awaiting, [{ id: 8, metric: 1.8, runs: [1.85, 1.75], commit: "c8", description: "experiment 8" }]);
  assert.deepEqual(pendingFollowUps(resumed, sequential), [confirmationOf(8, "c8", "experiment 8"), remeasureOf(4, "c4")]);
  // The carried runs decide on: a third run ends it (the last of 3).
  const decided = decide(resumed, input(outcome(11, confirmationOf(8, "c8", "experiment 8"), "ok", 1.8, "c8")), sequential);
  assert.notEqual(decided.ledger.finish.patch.decision, null);
  assert.match(decided.ledger.finish.patch.rationale!, /mean of 1\.85, 1\.75, 1\.8/);
});
