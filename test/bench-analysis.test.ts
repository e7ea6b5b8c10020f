// The throughput benchmark's arithmetic (bench/analysis.ts): its figures decide whether a target is met,
// so they are checked against traces whose answer is known.
import { test } from "node:test";
import assert from "node:assert/strict";
import { analyse, type ExperimentTrace } from "../bench/analysis.ts";

const IDEAL_MS = 4500;

/** One slot's candidates, training starting every `cycleMs` from `firstMs`; 4 s train, 0.5 s evaluate. */
function slotTraces(slot: number, firstMs: number, cycleMs: number, count: number, firstId: number): ExperimentTrace[] {
  return Array.from({ length: count }, (_, index) => {
    const calledAt = firstMs + index * cycleMs;
    return {
      id: firstId + index, kind: "candidate", slot, status: "ok",
      startedAt: calledAt - 10, finishedAt: calledAt + 4500 + 20,
      train: { calledAt, returnedAt: calledAt + 4000, processWallMs: 4000 },
      evaluate: { calledAt: calledAt + 4000, returnedAt: calledAt + 4500, processWallMs: 500 },
      setupMs: 5, totalMs: 4530,
    };
  });
}

test("steady ratio: slots that drift apart count at their own rates, not the fastest slot's", () => {
  // Slot 0 cycles in 4.5 s (the ideal), slot 1 in 5.5 s: together 2 / (1/4.5 + 1/5.5) = 4.95 s per slot.
  const traces = [...slotTraces(0, 0, 4500, 6, 1), ...slotTraces(1, 100, 5500, 6, 101)];
  const figures = analyse(traces, 2, IDEAL_MS);
  assert.ok(Math.abs(figures.effectiveCycleMs - 4950) < 1, `effective cycle ${figures.effectiveCycleMs}`);
  assert.ok(Math.abs(figures.steadyRatio - 4500 / 4950) < 1e-9);
});

test("steady ratio: a slot left idle lowers it", () => {
  // Two slots, only one ever runs more than one candidate: half the pool's rate.
  const traces = [...slotTraces(0, 0, 4500, 6, 1), ...slotTraces(1, 0, 4500, 1, 101)];
  assert.ok(Math.abs(analyse(traces, 2, IDEAL_MS).steadyRatio - 0.5) < 1e-9);
});

test("steady ratio: one slot at the ideal cycle is 1", () => {
  assert.ok(Math.abs(analyse(slotTraces(0, 0, 4500, 5, 1), 1, IDEAL_MS).steadyRatio - 1) < 1e-9);
});
