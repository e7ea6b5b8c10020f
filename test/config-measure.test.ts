// A measure-only study's config: `measure` instead of train + budget, errors that name the fields, and its defaults.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MEASURE_BASELINE_RUNS, parseConfig } from "../src/config/load.ts";
import { ConfigError } from "../src/errors.ts";

const measureOnly = {
  mutable: ["src/sort.js"],
  protected: ["bench.js"],
  measure: { command: "node bench.js" },
  metric: { name: "runtime_ms", direction: "min" },
};

function parse(config: Record<string, unknown>) {
  return parseConfig(JSON.stringify(config), "/p/autoresearch.config.json", "/p");
}

function problems(config: Record<string, unknown>): string {
  try {
    parse(config);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.message;
  }
  assert.fail("the config was accepted");
}

test("a measure-only study needs no train phase and no budget, and gets more baseline runs unless it says otherwise", () => {
  const config = parse(measureOnly);
  assert.equal(config.train, undefined);
  assert.equal(config.budgetSeconds, undefined);
  assert.equal(config.measure?.command, "node bench.js");
  assert.equal(config.acceptance.baselineRuns, MEASURE_BASELINE_RUNS);
  assert.equal(parse({ ...measureOnly, acceptance: { baselineRuns: 3 } }).acceptance.baselineRuns, 3);
  // With a train phase the default stays the acceptance policy's own.
  const trained = parse({ ...measureOnly, train: { command: "node build.js" }, budgetSeconds: 30 });
  assert.notEqual(trained.acceptance.baselineRuns, MEASURE_BASELINE_RUNS);
});

test("without train or measure, with train but no budget, or with measure and evaluate, the error names the fields", () => {
  const { measure: _measure, ...neither } = measureOnly;
  assert.match(problems(neither), /^autoresearch\.config\.json: train: missing; expected \{"command": "\.\.\."\} .* or "measure": \{"command": "\.\.\."\} for a study without training/m);
  assert.match(problems({ ...neither, train: { command: "node train.js" } }), /^autoresearch\.config\.json: budgetSeconds: missing; the train phase needs its wall-clock budget in seconds/m);
  assert.match(problems({ ...measureOnly, evaluate: { command: "node evaluate.js" } }), /^autoresearch\.config\.json: measure: a study scores with either "measure" or "evaluate", not both/m);
});

test("train-phase limits in a measure-only study are refused, pointing at measure.timeoutSeconds", () => {
  const message = problems({ ...measureOnly, budgetSeconds: 30, timeoutSeconds: 40 });
  assert.match(message, /^autoresearch\.config\.json: budgetSeconds: limits the train phase, but there is none \(a measure-only study\); remove budgetSeconds, or set measure\.timeoutSeconds/m);
  assert.match(message, /^autoresearch\.config\.json: timeoutSeconds: limits the train phase, but there is none/m);
  assert.equal(parse({ ...measureOnly, measure: { command: "node bench.js", timeoutSeconds: 20 } }).measure?.timeoutSeconds, 20);
});
