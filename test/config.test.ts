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

test("budgetByDevice replaces the budget on its device kind, and each kind gets its own default hard limit", () => {
  const config = parse({ budgetSeconds: 300, budgetByDevice: { cpu: 60 }, timeoutSeconds: undefined });
  assert.deepEqual(budgetFor(config, "cuda:3"), { budgetSeconds: 300, timeoutSeconds: 390 });
  assert.deepEqual(budgetFor(config, "cpu"), { budgetSeconds: 60, timeoutSeconds: 90 });
  const both = parse({ budgetSeconds: 300, budgetByDevice: { cpu: 60, cuda: 120 }, timeoutSeconds: undefined });
  assert.deepEqual(budgetFor(both, "cuda:0"), { budgetSeconds: 120, timeoutSeconds: 165 });
});

test("an explicit timeoutSeconds applies to every device kind and must exceed every budget", () => {
  const config = parse({ budgetSeconds: 30, budgetByDevice: { cpu: 10 }, timeoutSeconds: 50 });
  assert.deepEqual(budgetFor(config, "cpu"), { budgetSeconds: 10, timeoutSeconds: 50 });
  assert.throws(() => parse({ budgetSeconds: 30, budgetByDevice: { cuda: 80 }, timeoutSeconds: 50 }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /timeoutSeconds: 50 is shorter than budgetByDevice\.cuda \(80\)/);
    return true;
  });
  assert.throws(() => parse({ budgetByDevice: { tpu: 5 } }), /budgetByDevice\.tpu|budgetByDevice: unknown key/);
});

test("hideFromTrain needs a prepare step and globs inside the data directory", () => {
  assert.throws(() => parse({ prepare: undefined, hideFromTrain: ["val.bin"] }), /hideFromTrain: lists files of the prepared data, but there is no prepare step/);
  assert.throws(() => parse({ hideFromTrain: ["../secret"] }), /hideFromTrain\[0\]: "\.\.\/secret" must be relative to the prepared data directory/);
  assert.deepEqual(parse({ hideFromTrain: ["*/val.bin"] }).hideFromTrain, ["*/val.bin"]);
});
