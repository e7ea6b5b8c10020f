// A measure-only study's proposers hear about a measure command, not about training under a budget.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildAgentPrompt } from "../src/proposers/agents/prompt.ts";
import { buildProposalPrompt, systemPrompt } from "../src/proposers/llm/prompt.ts";
import type { ProposalContext } from "../src/proposers/types.ts";

const context = (measureOnly: boolean): ProposalContext => ({
  program: "Make sorting faster.", files: { "src/sort.js": "const INSERTION_THRESHOLD = 2;\n" }, best: { commit: "a".repeat(40), metric: 12.5 },
  metric: { name: "runtime_ms", direction: "min" }, history: [], noiseSigma: 0.4, mutableGlobs: ["src/**/*.js"], measureOnly,
});

test("the llm and agent prompts of a measure-only study speak of the measure command, a training study's of training", () => {
  assert.match(systemPrompt(true), /has a protected measure command run the code and measure the metric/);
  assert.doesNotMatch(systemPrompt(true), /train/i);
  assert.match(systemPrompt(false), /trains under a fixed time budget/);
  const agent = buildAgentPrompt({ context: context(true), feedback: null });
  assert.match(agent, /has a protected measure command\nrun the code and measure it/);
  assert.match(agent, /Do NOT run the measure command or the experiment/);
  assert.doesNotMatch(agent, /train|budget/i);
  assert.match(buildAgentPrompt({ context: context(false), feedback: null }), /trains it under a fixed\ntime budget/);
  assert.doesNotMatch(buildProposalPrompt({ context: context(true), readOnlyFiles: {}, notebook: null }), /\btrain/i);
});
