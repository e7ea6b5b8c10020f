// promote's report as pure functions: which keeps are promoted, and each gain's interval and verdict at
// the session's budget and at the longer one, from ledger rows alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pooledSigma, promotedCandidates, promoteReport, type PromoteMeta, type PromoteRow } from "../src/finalize/promote.ts";

let nextId = 1;
function row(fields: Partial<PromoteRow> & Pick<PromoteRow, "kind">): PromoteRow {
  return { id: nextId++, status: "ok", metric: null, meta: null, decision: null, confirms: null, candidateCommit: null, description: "", ...fields };
}
function promoteRun(role: PromoteMeta["role"], of: number | null, metric: number, round = 1): PromoteRow {
  const meta: PromoteMeta = { round, role, of, budgetSeconds: 600, sessionBudgetSeconds: 60, k: 2, runs: 3 };
  return row({ kind: "rescore", metric, meta: { promote: meta } });
}

test("the promoted keeps are the top k by the mean of their session runs, best first in the metric's direction", () => {
  nextId = 1;
  const rows = [
    row({ kind: "baseline", metric: 5 }),
    row({ kind: "candidate", decision: "keep", candidateCommit: "a", metric: 4, description: "a" }),
    row({ kind: "candidate", decision: "discard", candidateCommit: "x", metric: 1 }),
    row({ kind: "candidate", decision: "keep", candidateCommit: "b", metric: 3.5, description: "b" }),
    row({ kind: "remeasure", confirms: 4, metric: 4.5 }),
    row({ kind: "candidate", decision: "keep", candidateCommit: "c", metric: 3.9, description: "c" }),
  ];
  assert.deepEqual(promotedCandidates(rows, 2, "min").map((each) => [each.id, each.metric]), [[6, 3.9], [2, 4]], "#4's re-measure brings its mean to 4");
  assert.deepEqual(promotedCandidates(rows, 5, "max").map((each) => each.id), [2, 4, 6], "a tie goes to the earlier keep");
});

test("each gain's interval at both budgets, σ pooled per budget; holds, not shown, reverses", () => {
  nextId = 1;
  const rows: PromoteRow[] = [
    row({ kind: "baseline", metric: 10 }), row({ kind: "baseline", metric: 10.2 }), row({ kind: "baseline", metric: 9.8 }),
    row({ kind: "candidate", decision: "keep", candidateCommit: "a", metric: 9, description: "holds" }), // #4
    row({ kind: "candidate", decision: "keep", candidateCommit: "b", metric: 8, description: "reverses" }), // #5
    row({ kind: "candidate", decision: "keep", candidateCommit: "c", metric: 9.5, description: "vanishes" }), // #6
    ...[0, 1, 2].flatMap((index) => [
      promoteRun("baseline", null, 7 + [0, 0.1, -0.1][index]!),
      promoteRun("candidate", 4, 6 + [0, 0.1, -0.1][index]!),
      promoteRun("candidate", 5, 8 + [0, 0.1, -0.1][index]!),
      promoteRun("candidate", 6, 7 + [0.3, -0.3, 0.1][index]!),
    ]),
  ];
  const report = promoteReport("t", rows, { metricName: "loss", direction: "min" })!;
  assert.deepEqual(report.baselineRuns, { short: 3, long: 3 });
  const byId = new Map(report.candidates.map((each) => [each.id, each]));
  assert.equal(byId.get(4)!.verdict, "holds");
  assert.ok(Math.abs(byId.get(4)!.short!.estimate - 1) < 1e-9 && Math.abs(byId.get(4)!.long!.estimate - 1) < 1e-9);
  // Short: one session run each, so σ comes from the baseline's three (sd 0.2, 2 df).
  assert.ok(Math.abs(byId.get(4)!.short!.standardError - 0.2 * Math.sqrt(1 + 1 / 3)) < 1e-9);
  assert.equal(byId.get(4)!.short!.degreesOfFreedom, 2);
  // Long: every code has three runs: 4 groups × 2 df.
  assert.equal(byId.get(4)!.long!.degreesOfFreedom, 8);
  assert.equal(byId.get(5)!.verdict, "reverses");
  assert.equal(byId.get(6)!.verdict, "not shown");
  assert.deepEqual(byId.get(4)!.runIds.length, 3);
  // A later round replaces the report; finalize's rescore rows (no meta.promote) are not promote's.
  const later = [...rows, promoteRun("baseline", null, 7, 2), promoteRun("baseline", null, 7.1, 2), promoteRun("candidate", 4, 7.05, 2), row({ kind: "rescore", metric: 1, meta: { finalize: { round: 9 } } })];
  const second = promoteReport("t", later, { metricName: "loss", direction: "min" })!;
  assert.equal(second.round, 2);
  assert.deepEqual(second.candidates.map((each) => [each.id, each.verdict]), [[4, "not shown"]]);
  assert.equal(promoteReport("t", rows.slice(0, 6), { metricName: "loss", direction: "min" }), null);
});

test("pooled σ: the squared deviations of every group of two or more over their degrees of freedom", () => {
  assert.equal(pooledSigma([[1], [2]]), null);
  const pooled = pooledSigma([[1, 3], [5, 5, 8], [4]])!;
  assert.equal(pooled.degreesOfFreedom, 3);
  assert.ok(Math.abs(pooled.sigma - Math.sqrt((2 + 6) / 3)) < 1e-12);
});
