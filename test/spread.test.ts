// Spreading the pool's first starts (loop/spread.ts), as input -> output tables.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_START_SPACING_MS, startSpacingMs, StartSpreader } from "../src/loop/spread.ts";

test("the spacing is one baseline's length shared among the slots, capped, and 0 where there is nothing to spread", () => {
  const cases: { totals: number[]; slots: number; spacing: number; why: string }[] = [
    { totals: [4600], slots: 16, spacing: 288, why: "4.6 s over 16 slots" },
    { totals: [4000, 5000, 9000], slots: 2, spacing: 2500, why: "the median baseline, not the mean" },
    { totals: [4000, 5000], slots: 3, spacing: 1500, why: "an even count takes the middle two" },
    { totals: [300_000], slots: 16, spacing: MAX_START_SPACING_MS, why: "5-minute experiments: capped" },
    { totals: [4600], slots: 1, spacing: 0, why: "one slot has no one to wait for" },
    { totals: [], slots: 8, spacing: 0, why: "no baseline timed" },
    { totals: [Number.NaN, 0, -5], slots: 8, spacing: 0, why: "no usable timing" },
    { totals: [Number.NaN, 800], slots: 8, spacing: 100, why: "unusable timings are skipped" },
  ];
  for (const { totals, slots, spacing, why } of cases) assert.equal(startSpacingMs(totals, slots), spacing, why);
});

test("each of the first `slots` launches starts one spacing after the one before, counted from the first", () => {
  const spreader = new StartSpreader(4, () => 300);
  // Launched together at t=1000: 0, 300, 600, 900 ms of delay.
  assert.deepEqual([1000, 1000, 1000, 1000].map((now) => spreader.next(now)), [0, 300, 600, 900]);
  // Later launches (a slot freed in the steady state) are not held back.
  assert.equal(spreader.next(1001), 0);
});

test("a launch that comes late anyway (a slow proposer) waits only for what is left of its turn", () => {
  const spreader = new StartSpreader(3, () => 500);
  assert.deepEqual([0, 200, 1600].map((now) => spreader.next(now)), [0, 300, 0]);
});

test("the spacing is asked for once, at the first launch, when the baselines have finished", () => {
  let asked = 0;
  const spreader = new StartSpreader(2, () => {
    asked += 1;
    return 100;
  });
  assert.equal(asked, 0);
  spreader.next(0);
  spreader.next(0);
  spreader.next(0);
  assert.equal(asked, 1);
});

test("with no slots to spread (a cluster's executor) nothing waits", () => {
  const spreader = new StartSpreader(0, () => 1000);
  assert.deepEqual([0, 0, 0].map((now) => spreader.next(now)), [0, 0, 0]);
});
