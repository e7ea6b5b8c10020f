// Config normalisation: the budget and hard limit each device kind gets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { budgetFor, parseConfig } from "../src/config/load.ts";
import { ConfigError } from "../src/errors.ts";
import { baseConfig } from "./helpers/project.ts";

function parse(overrides: Record<string, unknown>) {
  const config = baseConfig(overrides);
  for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete config[key];
  return parseConfig(JSON.stringify(config), "/p/autoresearch.config.json", "/p");
}

test("each device kind gets its budget plus a start-up allowance of 10 s + 5% of it, and no more", () => {
  const config = parse({ budgetSeconds: 300, budgetByDevice: { cpu: 60 }, timeoutSeconds: undefined });
  assert.deepEqual(budgetFor(config, "cuda:3"), { budgetSeconds: 300, startupSeconds: 25, timeoutSeconds: 325 });
  assert.deepEqual(budgetFor(config, "cpu"), { budgetSeconds: 60, startupSeconds: 13, timeoutSeconds: 73 });
  const both = parse({ budgetSeconds: 300, budgetByDevice: { cpu: 60, cuda: 120 }, timeoutSeconds: undefined });
  assert.deepEqual(budgetFor(both, "cuda:0"), { budgetSeconds: 120, startupSeconds: 16, timeoutSeconds: 136 });
  // Tiny budgets: no floating-point dust in the limit a message prints.
  assert.deepEqual(budgetFor(parse({ budgetSeconds: 0.4, timeoutSeconds: undefined }), "cpu"), { budgetSeconds: 0.4, startupSeconds: 10, timeoutSeconds: 10.4 });
});

test("startupSeconds and startupByDevice state the allowance; startupByDevice wins on its kind", () => {
  const config = parse({ budgetSeconds: 300, budgetByDevice: { cpu: 60 }, startupSeconds: 5, startupByDevice: { cuda: 40 }, timeoutSeconds: undefined });
  assert.deepEqual(budgetFor(config, "cuda:0"), { budgetSeconds: 300, startupSeconds: 40, timeoutSeconds: 340 });
  assert.deepEqual(budgetFor(config, "cpu"), { budgetSeconds: 60, startupSeconds: 5, timeoutSeconds: 65 });
  assert.deepEqual(budgetFor(parse({ budgetSeconds: 30, startupSeconds: 0, timeoutSeconds: undefined }), "cpu"), { budgetSeconds: 30, startupSeconds: 0, timeoutSeconds: 30 });
  assert.throws(() => parse({ startupSeconds: -1 }), /startupSeconds: expected a number at least 0; found -1/);
  assert.throws(() => parse({ startupByDevice: { tpu: 5 } }), /startupByDevice: unknown key|startupByDevice\.tpu/);
});

test("an explicit timeoutSeconds applies to every device kind: at least every budget, at most every budget + its allowance", () => {
  // Tighter than the allowance is fine: the allowance shown is what is left of it.
  const config = parse({ budgetSeconds: 30, budgetByDevice: { cpu: 10 }, startupSeconds: 25, timeoutSeconds: 35 });
  assert.deepEqual(budgetFor(config, "cpu"), { budgetSeconds: 10, startupSeconds: 25, timeoutSeconds: 35 });
  assert.deepEqual(budgetFor(config, "cuda:0"), { budgetSeconds: 30, startupSeconds: 5, timeoutSeconds: 35 });
  assert.throws(() => parse({ budgetSeconds: 30, budgetByDevice: { cuda: 80 }, timeoutSeconds: 50 }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /timeoutSeconds: 50 is shorter than budgetByDevice\.cuda \(80\)/);
    return true;
  });
  // The old default (budget * 1.25 + 15) is now refused: a run could train 90 s longer than its budget says.
  assert.throws(() => parse({ budgetSeconds: 300, timeoutSeconds: 390 }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.problems.length, 1, "one problem, not one per device kind");
    assert.match(error.message, /timeoutSeconds: 390 would let a run go 90s past its budget \(budgetSeconds: 300\), more than its start-up allowance of 25s \(the default 10 \+ 5% of the budget\); expected at most 325, or leave timeoutSeconds out and set startupSeconds/);
    return true;
  });
  assert.throws(() => parse({ budgetSeconds: 300, budgetByDevice: { cpu: 60 }, startupByDevice: { cpu: 20 }, timeoutSeconds: 320 }), /would let a run on cpu go 260s past its budget \(budgetByDevice\.cpu: 60\), more than its start-up allowance of 20s \(startupByDevice\.cpu\); expected at most 80, or leave timeoutSeconds out and set startupSeconds or startupByDevice\.cpu/);
  assert.throws(() => parse({ budgetByDevice: { tpu: 5 } }), /budgetByDevice\.tpu|budgetByDevice: unknown key/);
});

test("hideFromTrain needs a prepare step and globs inside the data directory", () => {
  assert.throws(() => parse({ prepare: undefined, hideFromTrain: ["val.bin"] }), /hideFromTrain: lists files of the prepared data, but there is no prepare step/);
  assert.throws(() => parse({ hideFromTrain: ["../secret"] }), /hideFromTrain\[0\]: "\.\.\/secret" must be relative to the prepared data directory/);
  assert.deepEqual(parse({ hideFromTrain: ["*/val.bin"] }).hideFromTrain, ["*/val.bin"]);
});

test("a field that is missing or of the wrong type is named with what it is for and what was found, not zod's words", () => {
  const problems = (overrides: Record<string, unknown>) => {
    try {
      parse(overrides);
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.message;
    }
    assert.fail("the config was accepted");
  };
  const wrong = problems({ metric: { direction: "up" }, budgetSeconds: "ten", slots: 1.5, train: "node train.js" });
  assert.match(wrong, /^autoresearch\.config\.json: metric\.name: required; expected the metric's name in the metrics file or the output, e\.g\. "val_loss"$/m);
  assert.match(wrong, /^autoresearch\.config\.json: metric\.direction: expected one of "min", "max"; found the string "up"$/m);
  assert.match(wrong, /^autoresearch\.config\.json: budgetSeconds: expected a number \(the train phase's wall-clock budget in seconds, e\.g\. 300\); found the string "ten"$/m);
  assert.match(wrong, /^autoresearch\.config\.json: slots: expected a whole number; found 1\.5$/m);
  assert.match(wrong, /^autoresearch\.config\.json: train: expected an object \(the command that trains a candidate under the budget, e\.g\. \{"command": "python train\.py"\}\); found the string "node train\.js"$/m);
  assert.match(problems({ mutable: undefined }), /^autoresearch\.config\.json: mutable: required; expected globs of the files proposers may change, e\.g\. \["train\.py"\]$/m);
  assert.doesNotMatch(wrong, /Invalid input|received/);
});
