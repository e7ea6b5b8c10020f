import assert from "node:assert/strict";
import { test } from "node:test";
import { EVALUATION_LIMIT_FACTOR, EVALUATION_LIMIT_FLOOR_SECONDS, evaluationLimitSeconds } from "../src/loop/evaluation-limit.ts";

test("the evaluation limit: configured until a baseline has evaluated, then ten times the slowest baseline, never below the floor", () => {
  const table: [configured: number, baselines: number[], expected: number][] = [
    [600, [], 600],
    [600, [Number.NaN, 0], 600],
    [600, [12_000, 30_000], 300],
    [600, [1_000], EVALUATION_LIMIT_FLOOR_SECONDS],
    [120, [30_000], 120],
    [600, [6_100], 61],
  ];
  for (const [configured, baselines, expected] of table) {
    assert.equal(evaluationLimitSeconds(configured, baselines), expected, `${configured} s configured, baselines ${baselines.join(", ")} ms`);
  }
  assert.equal(EVALUATION_LIMIT_FACTOR, 10);
});
