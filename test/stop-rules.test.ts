import { test } from "node:test";
import assert from "node:assert/strict";
import { checkStopRules, type StopState } from "../src/loop/stop-rules.ts";
import { stopSchema } from "../src/config/schema.ts";

const HOUR = 3_600_000;
const state = (overrides: Partial<StopState> = {}): StopState => ({
  experiments: 10, startedAtMs: 1_000_000, nowMs: 1_000_000 + HOUR, best: 2.5, direction: "min", consecutiveFailures: 0, ...overrides,
});

test("with only the defaults a healthy session keeps going", () => {
  assert.equal(checkStopRules(state({ experiments: 10_000, nowMs: 1_000_000 + 1000 * HOUR }), stopSchema.parse({})), null);
});

test("maxExperiments stops once that many have run", () => {
  const rules = { maxExperiments: 12 };
  assert.equal(checkStopRules(state({ experiments: 11 }), rules), null);
  const verdict = checkStopRules(state({ experiments: 12 }), rules);
  assert.equal(verdict?.action, "stop");
  assert.match(verdict!.reason, /maximum of 12 experiments/);
});

test("maxHours stops once the wall clock since the start passes the limit", () => {
  const rules = { maxHours: 8 };
  assert.equal(checkStopRules(state({ nowMs: 1_000_000 + 7.9 * HOUR }), rules), null);
  const verdict = checkStopRules(state({ nowMs: 1_000_000 + 8 * HOUR }), rules);
  assert.equal(verdict?.action, "stop");
  assert.match(verdict!.reason, /ran for 8 hours, the limit is 8/);
});

test("target stops when the best reaches it, in the metric's direction", () => {
  assert.equal(checkStopRules(state({ best: 2.01 }), { target: 2 }), null);
  assert.equal(checkStopRules(state({ best: null }), { target: 2 }), null);
  const minReached = checkStopRules(state({ best: 2 }), { target: 2 });
  assert.deepEqual(minReached, { action: "stop", reason: "target reached: best 2 <= target 2" });

  assert.equal(checkStopRules(state({ direction: "max", best: 0.89 }), { target: 0.9 }), null);
  const maxReached = checkStopRules(state({ direction: "max", best: 0.93 }), { target: 0.9 });
  assert.equal(maxReached?.action, "stop");
  assert.match(maxReached!.reason, /best 0\.93 >= target 0\.9/);
});

test("consecutive failures pause with instructions to inspect, fix and resume", () => {
  const rules = stopSchema.parse({ maxConsecutiveFailures: 3 });
  assert.equal(checkStopRules(state({ consecutiveFailures: 2 }), rules), null);
  const verdict = checkStopRules(state({ consecutiveFailures: 3, lastFailureId: 42 }), rules);
  assert.equal(verdict?.action, "pause");
  assert.match(verdict!.reason, /3 failed experiments in a row/);
  assert.match(verdict!.reason, /autoresearch show 42/);
  assert.match(verdict!.reason, /autoresearch run` again to resume/);
  // The config is the one at the session's base: a fix committed to it only takes effect in a new session.
  assert.match(verdict!.reason, /needs a new session.*--tag <new tag>/);
  // Without a known id the message still says where to look.
  assert.match(checkStopRules(state({ consecutiveFailures: 3 }), rules)!.reason, /autoresearch show <id>/);
});

test("the failure limit defaults to 5 when the rules leave it out", () => {
  assert.equal(checkStopRules(state({ consecutiveFailures: 4 }), {}), null);
  assert.equal(checkStopRules(state({ consecutiveFailures: 5 }), {})?.action, "pause");
});

test("a finished session stops rather than pausing, even after failures", () => {
  const verdict = checkStopRules(state({ experiments: 20, consecutiveFailures: 9 }), { maxExperiments: 20, maxConsecutiveFailures: 5 });
  assert.equal(verdict?.action, "stop");
});
