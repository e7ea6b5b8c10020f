// The llm proposer against the real provider APIs. Skipped unless the key is set (they cost money
// and need the network): ANTHROPIC_API_KEY, OPENAI_API_KEY; the model can be chosen with
// AUTORESEARCH_TEST_ANTHROPIC_MODEL / AUTORESEARCH_TEST_OPENAI_MODEL.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createLlmProposer } from "../../src/proposers/llm/proposer.ts";
import { makeContext, neverAborted } from "../helpers/proposers.ts";

const REAL = [
  { provider: "anthropic", keyEnv: "ANTHROPIC_API_KEY", model: process.env.AUTORESEARCH_TEST_ANTHROPIC_MODEL ?? "claude-haiku-4-5" },
  { provider: "openai", keyEnv: "OPENAI_API_KEY", model: process.env.AUTORESEARCH_TEST_OPENAI_MODEL ?? "gpt-4o-mini" },
] as const;

const MODEL_JS = `// A tiny regression model; the metric is the validation loss.
const LEARNING_RATE = 0.5; // far too high: the loss diverges
const EPOCHS = 10;
module.exports = { LEARNING_RATE, EPOCHS };
`;

for (const real of REAL) {
  test(`${real.provider} (${real.model}): a real model answers in the edit protocol with a change that applies`, { skip: process.env[real.keyEnv] ? false : `set ${real.keyEnv} to run` }, async () => {
    const proposer = createLlmProposer({ name: "llm", provider: real.provider, model: real.model, maxOutputTokens: 2048, requestTimeoutSeconds: 120 }, process.cwd());
    const context = { ...makeContext({ "model.js": MODEL_JS }), program: "Lower the validation loss. The learning rate is probably the problem." };
    const result = await proposer.propose(context, neverAborted);
    assert.equal(result.kind, "proposal", result.kind === "skip" ? result.reason : "");
    if (result.kind !== "proposal") return;
    assert.ok(result.description.length > 0);
    assert.ok(result.edits.every((edit) => edit.path === "model.js"));
    assert.ok(result.usage!.inputTokens > 0 && result.usage!.outputTokens > 0);
    assert.ok(result.usage!.costUsd! > 0);
  });
}
