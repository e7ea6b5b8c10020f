// The domain core's counting rules (core/summary.ts), as plain input → output tables.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EXPERIMENT_STATUSES, FAILED_STATUSES, FAILED_WITH_LOG, isFailed, type ExperimentStatus } from "../src/core/experiment.ts";
import { summarise, type CountedRow } from "../src/core/summary.ts";

const row = (kind: CountedRow["kind"], status: ExperimentStatus, decision: CountedRow["decision"] = null, metric: number | null = null): CountedRow => ({ kind, status, decision, metric });

test("failed means the code failed: crash, timeout, no metric, invalid, rejected — not running, ok or interrupted", () => {
  assert.deepEqual(EXPERIMENT_STATUSES.filter(isFailed), ["crash", "timeout", "no_metric", "invalid", "rejected"]);
  assert.deepEqual([...FAILED_STATUSES], EXPERIMENT_STATUSES.filter(isFailed));
  // A rejected candidate never ran, so it has no log to learn from.
  assert.deepEqual([...FAILED_WITH_LOG], FAILED_STATUSES.filter((status) => status !== "rejected"));
});

test("summarise counts finished runs, decisions of candidates only, failures, and the mean baseline", () => {
  const cases: { name: string; rows: CountedRow[]; expected: ReturnType<typeof summarise> }[] = [
    { name: "nothing yet", rows: [], expected: { experiments: 0, running: 0, kept: 0, discarded: 0, failed: 0, baseline: null } },
    {
      name: "a baseline running",
      rows: [row("baseline", "running")],
      expected: { experiments: 0, running: 1, kept: 0, discarded: 0, failed: 0, baseline: null },
    },
    {
      name: "two baselines, a keep, a discard, a confirmation, a crash, a rejection, an interruption",
      rows: [
        row("baseline", "ok", null, 2), row("baseline", "ok", null, 3),
        row("candidate", "ok", "keep", 1.5), row("candidate", "ok", "discard", 2.5),
        row("confirmation", "ok", "keep", 1.6),
        row("candidate", "crash"), row("candidate", "rejected"), row("candidate", "interrupted"),
        row("candidate", "running"),
      ],
      expected: { experiments: 8, running: 1, kept: 1, discarded: 1, failed: 2, baseline: 2.5 },
    },
    {
      name: "a baseline that failed has no metric to average",
      rows: [row("baseline", "timeout"), row("baseline", "ok", null, 4)],
      expected: { experiments: 2, running: 0, kept: 0, discarded: 0, failed: 1, baseline: 4 },
    },
  ];
  for (const { name, rows, expected } of cases) assert.deepEqual(summarise(rows), expected, name);
});
