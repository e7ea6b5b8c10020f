// The llm proposer against fake provider servers speaking the real wire protocols (the real AI SDK
// client runs): both protocols streamed and not, edit feedback, skips, faults, the notebook.
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createLlmProposer, JOURNAL_FILE, type LlmProposerHooks } from "../src/proposers/llm/proposer.ts";
import { NOTEBOOK_SYSTEM } from "../src/proposers/llm/notebook.ts";
import type { ProposalContext } from "../src/proposers/types.ts";
import { ConfigError } from "../src/errors.ts";
import { parseConfig } from "../src/config/load.ts";
import { baseConfig } from "./helpers/project.ts";
import { FAKE_KEY_ENV, fakeProposerConfig, paramsAnswer, protocolAnswer, startFakeLlm, type FakeProtocol, type FakeScript } from "./helpers/fake-llm.ts";
import { makeContext, makeEntry, makeTempDir, neverAborted } from "./helpers/proposers.ts";

const PARAMS = `{"x": 3, "mode": "ok"}\n`;
const GOOD = paramsAnswer("x to 5", { x: 5, mode: "ok" });
const BAD_SEARCH = protocolAnswer({ description: "x to 4", edits: [{ path: "params.json", search: `"x": 33`, replace: `"x": 4` }] });

function context(t: TestContext, extra: Partial<ProposalContext> = {}): ProposalContext {
  const temp = makeTempDir("autoresearch-llm-");
  t.after(temp.cleanup);
  return { ...makeContext({ "params.json": PARAMS }), sessionDir: join(temp.dir, "session"), ...extra };
}

/** A proposer against a fresh fake server; sleeps are recorded instead of waited. */
async function setup(t: TestContext, protocol: FakeProtocol, script: FakeScript, extra: Record<string, unknown> = {}) {
  const fake = await startFakeLlm(protocol, script);
  t.after(() => fake.close());
  const sleeps: number[] = [];
  const hooks: LlmProposerHooks = { env: FAKE_KEY_ENV, sleep: async (ms) => void sleeps.push(ms), backoffBaseMs: 100, random: () => 0.5 };
  const proposer = createLlmProposer(fakeProposerConfig(protocol, fake, extra), "/nonexistent", hooks);
  return { fake, proposer, sleeps };
}

describe("the llm proposer over each wire protocol", () => {
  for (const protocol of ["anthropic", "openai"] as const) {
    for (const stream of [true, false]) {
      test(`${protocol}, ${stream ? "streaming" : "not streaming"}: a checked proposal with usage and cost`, async (t) => {
        const { fake, proposer } = await setup(t, protocol, [{ text: GOOD, usage: { inputTokens: 2000, outputTokens: 100 } }], { stream });
        const result = await proposer.propose(context(t), neverAborted);
        assert.equal(result.kind, "proposal");
        if (result.kind !== "proposal") return;
        assert.equal(result.description, "x to 5");
        assert.deepEqual(result.edits, [{ path: "params.json", content: `{"x":5,"mode":"ok"}\n` }]);
        assert.deepEqual({ ...result.usage, costUsd: undefined }, { inputTokens: 2000, outputTokens: 100, costUsd: undefined });
        const price = protocol === "anthropic" ? (2000 * 3 + 100 * 15) / 1e6 : (2000 * 2.5 + 100 * 10) / 1e6;
        assert.ok(Math.abs(result.usage!.costUsd! - price) < 1e-12);
        const request = fake.requests[0]!;
        assert.equal(request.stream, stream);
        assert.equal(request.body.model, protocol === "anthropic" ? "claude-sonnet-4-5" : "gpt-4o");
        if (protocol === "anthropic") assert.equal(request.headers["x-api-key"], "sk-fake-test-key");
        else assert.equal(request.headers.authorization, "Bearer sk-fake-test-key");
        assert.match(request.system, /<<<<<<< SEARCH path\/to\/file/);
        assert.match(request.lastUser, /## params\.json\n\n```\n\{"x": 3, "mode": "ok"\}\n```/);
      });
    }
  }

  test("an openai-compatible server (a local model) needs no key, and its cost is unknown unless priced", async (t) => {
    const fake = await startFakeLlm("openai", [{ text: GOOD }, { text: paramsAnswer("x to 6", { x: 6, mode: "ok" }) }]);
    t.after(() => fake.close());
    const config = { name: "llm", provider: "openai-compatible" as const, model: "qwen2.5-coder:7b", baseURL: fake.baseURL };
    const first = await createLlmProposer(config, "/nonexistent", { env: {} }).propose(context(t), neverAborted);
    assert.equal(first.kind === "proposal" && first.usage?.costUsd, null);
    assert.equal(fake.requests[0]!.headers.authorization, undefined);
    const priced = await createLlmProposer({ ...config, pricing: { inputPerMillion: 1, outputPerMillion: 1 } }, "/nonexistent", { env: {} }).propose(context(t), neverAborted);
    assert.ok(priced.kind === "proposal" && priced.usage!.costUsd! > 0);
  });

  test("a missing API key is a config error naming the variable", () => {
    assert.throws(
      () => createLlmProposer({ name: "llm", provider: "anthropic", model: "claude-sonnet-4-5", apiKeyEnv: "NO_SUCH_KEY_VAR" }, "/x", { env: {} }),
      (error: unknown) => error instanceof ConfigError && /NO_SUCH_KEY_VAR is not set/.test(error.message),
    );
  });
});

describe("edit feedback", () => {
  test("a bad edit is sent back with the precise error, and the corrected answer is used", async (t) => {
    const { fake, proposer } = await setup(t, "anthropic", [{ text: BAD_SEARCH }, { text: GOOD }]);
    const result = await proposer.propose(context(t), neverAborted);
    assert.equal(result.kind, "proposal");
    const meta = (result as { meta: { attempts: number; editFailures: number } }).meta;
    assert.equal(meta.attempts, 2);
    assert.equal(meta.editFailures, 1);
    const retry = fake.requests[1]!;
    assert.deepEqual(retry.messages.map((message) => message.role), ["user", "assistant", "user"]);
    assert.equal(retry.messages[1]!.content.trim(), BAD_SEARCH.trim());
    assert.match(retry.lastUser, /could not be used: edit 1 of 1 \(params\.json\): "search" text "\\"x\\": 33" was not found/);
    // The context is not rebuilt or grown for the retry: the first message is the same prompt.
    assert.equal(retry.messages[0]!.content, fake.requests[0]!.lastUser);
  });

  test("no-ops, duplicates and edits to other files are refused and retried; after the last try the proposal is skipped", async (t) => {
    const earlier = paramsAnswer("x to 9", { x: 9, mode: "ok" });
    const { proposer: scout } = await setup(t, "openai", [{ text: earlier }]);
    const made = await scout.propose(context(t), neverAborted);
    assert.equal(made.kind, "proposal");
    const history = [makeEntry({ id: 5, description: "x to 9", status: "ok", decision: "discard", meta: (made as { meta: unknown }).meta })];
    const answers = [
      protocolAnswer({ description: "same", edits: [{ path: "params.json", search: `"x": 3`, replace: `"x": 3` }] }),
      earlier,
      protocolAnswer({ description: "cheat", edits: [{ path: "evaluate.js", content: "score = 0\n" }] }),
    ];
    const { fake, proposer } = await setup(t, "openai", answers.map((text) => ({ text, usage: { inputTokens: 100, outputTokens: 10 } })));
    const ctx = context(t, { history });
    const result = await proposer.propose(ctx, neverAborted);
    assert.equal(result.kind, "skip");
    assert.match((result as { reason: string }).reason, /rejected 3 times in a row \(proposer\.editRetries: 2\); last problem: edit 1 of 1 changes "evaluate\.js", but it is not one of the mutable files/);
    assert.match(fake.requests[1]!.lastUser, /leave every file as it is/);
    assert.match(fake.requests[2]!.lastUser, /same code as experiment #5 \("x to 9", ok, discard\)/);
    // The skip leaves a trace in the session directory.
    const journal = readFileSync(join(ctx.sessionDir!, JOURNAL_FILE), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(journal.map((entry) => [entry.outcome, entry.attempts, entry.editFailures]), [["skip", 3, 3]]);
  });

  test("tokens spent on a skipped proposal are added to the next proposal's usage", async (t) => {
    const { proposer } = await setup(t, "anthropic", [
      { text: BAD_SEARCH, usage: { inputTokens: 100, outputTokens: 10 } },
      { text: BAD_SEARCH, usage: { inputTokens: 100, outputTokens: 10 } },
      { text: GOOD, usage: { inputTokens: 1000, outputTokens: 50 } },
    ], { editRetries: 1 });
    const ctx = context(t);
    assert.equal((await proposer.propose(ctx, neverAborted)).kind, "skip");
    const next = await proposer.propose(ctx, neverAborted);
    assert.equal(next.kind, "proposal");
    assert.equal(next.usage?.inputTokens, 1200);
    assert.equal(next.usage?.outputTokens, 70);
    assert.equal((next as { meta: { carriedTokens: number } }).meta.carriedTokens, 220);
  });
});

describe("faults", () => {
  test("429 with retry-after: waits what the server asked, then succeeds", async (t) => {
    const { fake, proposer, sleeps } = await setup(t, "anthropic", [{ status: 429, headers: { "retry-after": "7" } }, { text: GOOD }]);
    const result = await proposer.propose(context(t), neverAborted);
    assert.equal(result.kind, "proposal");
    assert.deepEqual(sleeps, [7000]);
    assert.equal(fake.requests.length, 2);
  });

  test("5xx, a cut-off stream and a malformed body are retried with backoff", async (t) => {
    const { fake, proposer, sleeps } = await setup(t, "openai", [
      { status: 500 }, { status: 503 }, { text: GOOD, truncateAfterChars: 30 }, { rawBody: "{\"choices\": [" }, { text: GOOD },
    ], { requestRetries: 4 });
    const result = await proposer.propose(context(t), neverAborted);
    assert.equal(result.kind, "proposal");
    assert.deepEqual(sleeps, [100, 200, 400, 800]);
    assert.equal(fake.requests.length, 5);
    assert.equal((result as { meta: { requests: number } }).meta.requests, 5);
  });

  test("a request that hangs past requestTimeoutSeconds is abandoned and retried", async (t) => {
    const { fake, proposer } = await setup(t, "anthropic", [{ hang: true }, { text: GOOD }], { requestTimeoutSeconds: 0.2 });
    const result = await proposer.propose(context(t), neverAborted);
    assert.equal(result.kind, "proposal");
    assert.equal(fake.requests.length, 2);
  });

  test("repeated failure ends in an error that says what failed; a bad key is not retried", async (t) => {
    const down = await setup(t, "openai", () => ({ status: 500, errorMessage: "upstream exploded" }), { requestRetries: 2 });
    await assert.rejects(down.proposer.propose(context(t), neverAborted), /openai model gpt-4o: server error \(500: upstream exploded\) — gave up after 3 requests \(proposer\.requestRetries: 2\)/);
    assert.equal(down.fake.requests.length, 3);
    const denied = await setup(t, "anthropic", () => ({ status: 401, errorMessage: "invalid x-api-key" }));
    await assert.rejects(denied.proposer.propose(context(t), neverAborted), /refused the credentials \(401: invalid x-api-key\); check the key in AUTORESEARCH_FAKE_LLM_KEY/);
    assert.equal(denied.fake.requests.length, 1);
  });

  test("aborting the signal stops a hanging request at once, without retries", async (t) => {
    const { fake, proposer } = await setup(t, "anthropic", [{ hang: true }, { text: GOOD }]);
    const controller = new AbortController();
    const pending = proposer.propose(context(t), controller.signal);
    while (fake.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort(new Error("stop now"));
    await assert.rejects(pending, /stop now/);
    assert.equal(fake.requests.length, 1);
  });
});

describe("the notebook", () => {
  test("every N finished experiments the model distils notes.md, which later prompts carry instead of raw hypotheses", async (t) => {
    const notes = "## What helped\n- x closer to 7 (#2)\n## What did not help\n- crashing (#3)\n## Open questions and next ideas\n- try x = 7";
    const { fake, proposer } = await setup(t, "anthropic", (request) => ({ text: request.system === NOTEBOOK_SYSTEM ? `\`\`\`markdown\n${notes}\n\`\`\`` : GOOD }), { notebookEvery: 2 });
    const history = [
      makeEntry({ id: 2, description: "x to 6", hypothesis: "closer to the optimum HYPO-TWO", status: "ok", decision: "keep", metric: 1, delta: -15 }),
      makeEntry({ id: 3, description: "crash it", hypothesis: "see what a crash does HYPO-THREE", status: "crash", decision: null, metric: null, delta: null, logTail: "boom" }),
    ];
    const ctx = context(t, { history });
    const result = await proposer.propose(ctx, neverAborted);
    assert.equal(result.kind, "proposal");
    assert.equal(fake.requests[0]!.system, NOTEBOOK_SYSTEM);
    assert.match(fake.requests[0]!.lastUser, /take in experiments 2–3/);
    const file = readFileSync(join(ctx.sessionDir!, "notes.md"), "utf8");
    assert.match(file, /^<!-- autoresearch notebook: distilled through experiment 3 at \d{4}-/);
    assert.ok(file.includes(notes));
    const prompt = fake.requests[1]!.lastUser;
    assert.ok(prompt.includes(`# Research notebook (your distilled notes from earlier experiments)\n\n<untrusted-data source="research notebook notes.md">\n${notes}\n</untrusted-data>`));
    assert.doesNotMatch(prompt, /HYPO-TWO|HYPO-THREE/);
    assert.equal((result as { meta: { notebookUpdated: number } }).meta.notebookUpdated, 3);
    // Nothing new has finished: the next proposal uses the notes without distilling again.
    await proposer.propose(ctx, neverAborted);
    assert.equal(fake.requests.filter((request) => request.system === NOTEBOOK_SYSTEM).length, 1);
    assert.ok(existsSync(join(ctx.sessionDir!, JOURNAL_FILE)));
  });
});

describe("the llm proposer's config", () => {
  const problemsOf = (proposer: Record<string, unknown>) => {
    try {
      parseConfig(JSON.stringify(baseConfig({ proposer })), "/p/autoresearch.config.json", "/p");
      return "";
    } catch (error) {
      return (error as Error).message;
    }
  };

  test("names each missing or wrong field and what it expects", () => {
    assert.match(problemsOf({ name: "llm" }), /proposer\.provider: missing.*\n.*proposer\.model: missing/);
    assert.match(problemsOf({ name: "llm", provider: "openai-compatible", model: "m" }), /proposer\.baseURL: missing; an openai-compatible server needs its URL/);
    assert.match(problemsOf({ name: "llm", provider: "gemini", model: "m" }), /proposer\.provider: .*"anthropic".*"openai".*"openai-compatible"/);
    assert.match(problemsOf({ name: "llm", provider: "openai", model: "m", baseURL: "localhost:11434" }), /proposer\.baseURL: must be an http\(s\) URL/);
    assert.match(problemsOf({ name: "llm", provider: "openai", model: "m", apiKeyEnv: "sk-abc123" }), /proposer\.apiKeyEnv: must be an environment variable name/);
    assert.equal(problemsOf({ name: "llm", provider: "anthropic", model: "claude-sonnet-4-5", editRetries: 1, pricing: { inputPerMillion: 1, outputPerMillion: 2 } }), "");
  });
});
