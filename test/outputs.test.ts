// Which experiments' output directories each `outputs` policy lets go once decided.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { LedgerExperiment } from "../src/ledger/rows.ts";
import { outputsMayGo, type OutputsPolicy } from "../src/loop/outputs.ts";

type Row = Pick<LedgerExperiment, "id" | "kind" | "status" | "decision">;
const rows: Record<string, Row> = {
  baseline: { id: 1, kind: "baseline", status: "ok", decision: null },
  oldBest: { id: 2, kind: "candidate", status: "ok", decision: "keep" },
  discarded: { id: 3, kind: "candidate", status: "ok", decision: "discard" },
  crashed: { id: 4, kind: "candidate", status: "crash", decision: null },
  awaitingConfirmation: { id: 5, kind: "candidate", status: "ok", decision: null },
  running: { id: 6, kind: "candidate", status: "running", decision: null },
  best: { id: 7, kind: "candidate", status: "ok", decision: "keep" },
  confirmationOfBest: { id: 8, kind: "confirmation", status: "ok", decision: "keep" },
};

function stays(policy: OutputsPolicy, bestExperimentId: number | null): string[] {
  return Object.entries(rows).filter(([, row]) => !outputsMayGo(row as LedgerExperiment, { bestExperimentId }, policy)).map(([name]) => name);
}

test("best keeps the current best's outputs, the baselines' until a keep, and anything undecided", () => {
  assert.deepEqual(stays("best", 7), ["awaitingConfirmation", "running", "best"]);
  assert.deepEqual(stays("best", null), ["baseline", "awaitingConfirmation", "running"]);
});

test("kept keeps every kept experiment's and the baselines'; all keeps everything", () => {
  assert.deepEqual(stays("kept", 7), ["baseline", "oldBest", "awaitingConfirmation", "running", "best", "confirmationOfBest"]);
  assert.deepEqual(stays("all", 7), Object.keys(rows));
});
