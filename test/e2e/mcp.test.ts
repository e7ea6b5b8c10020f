// `autoresearch mcp` driven by the MCP SDK's own client over stdio: a real server process, real
// experiments in real git worktrees, the harness's decisions.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { Ledger } from "../../src/ledger/sqlite.ts";
import { baseConfig, CLI, gitIn, isAlive, makeProject } from "../helpers/project.ts";

type ToolAnswer = { content: Array<{ type: string; text?: string }>; structuredContent?: Record<string, unknown>; isError?: boolean };

async function connect(t: TestContext, dir: string): Promise<Client> {
  // The server's stderr (only unexpected errors go there) shows up in the test output.
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp", "--tag", "mcp"], cwd: dir, env: process.env as Record<string, string>, stderr: "inherit" });
  const client = new Client({ name: "autoresearch-test", version: "1.0.0" });
  await client.connect(transport);
  t.after(() => client.close());
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}, progress: string[] = []): Promise<ToolAnswer> {
  return (await client.callTool({ name, arguments: args }, undefined, {
    timeout: 120_000, resetTimeoutOnProgress: true, onprogress: (event) => progress.push(event.message ?? ""),
  })) as ToolAnswer;
}

const textOf = (answer: ToolAnswer) => answer.content.map((part) => part.text ?? "").join("\n");
const dataOf = (answer: ToolAnswer) => JSON.parse(answer.content.at(-1)!.text!) as Record<string, unknown>;

test("an MCP client drives a session: run_experiment keeps, discards and refuses; status, results, show and the notebook", async (t) => {
  const dir = makeProject(t);
  const client = await connect(t, dir);

  const listed = (await client.listTools()).tools;
  assert.deepEqual(listed.map((tool) => tool.name).sort(), ["append_notebook", "results", "run_experiment", "show_experiment", "status"]);
  for (const tool of listed) assert.equal(tool.outputSchema?.type, "object", `${tool.name} declares an output schema`);
  const before = await call(client, "status");
  assert.match(textOf(before), /no session yet: call run_experiment/);
  assert.equal(before.structuredContent?.session, null);

  // A better change: the harness runs the baseline first, then the change, and keeps it.
  writeFileSync(join(dir, "params.json"), '{"x":6,"mode":"ok"}\n');
  const progress: string[] = [];
  const kept = await call(client, "run_experiment", { description: "x to 6", hypothesis: "closer to the optimum" }, progress);
  assert.equal(kept.isError, false, textOf(kept));
  const keep = dataOf(kept);
  assert.equal(keep.decision, "keep");
  assert.equal(keep.metric, 1);
  assert.equal(keep.delta, -15);
  assert.deepEqual(kept.structuredContent, keep, "the structured content is the JSON the text block holds");
  assert.deepEqual((keep.baselines as Array<{ metric: number }>).map((run) => run.metric), [16]);
  assert.match(textOf(kept), /experiment 2: keep — metric 1\.000000 \(best before 16\.00000, delta -15/);
  assert.match(textOf(kept), /<untrusted-data source="log tail of experiment 2">\n--- train: node train.js\nstep 3\/3/);
  assert.ok(progress.some((message) => /experiment 2: train/.test(message)), `progress: ${progress.join(" | ")}`);
  assert.equal(gitIn(dir, "show", "autoresearch/mcp:params.json"), '{"x":6,"mode":"ok"}');

  // A worse change is discarded; the best stays.
  writeFileSync(join(dir, "params.json"), '{"x":100,"mode":"ok"}\n');
  const discarded = dataOf(await call(client, "run_experiment", { description: "x to 100" }));
  assert.equal(discarded.decision, "discard");
  assert.equal(discarded.metric, 93 * 93);
  assert.match(String(discarded.next), /git checkout autoresearch\/mcp -- \./);
  assert.equal(gitIn(dir, "show", "autoresearch/mcp:params.json"), '{"x":6,"mode":"ok"}');

  const stoppedBefore = (await call(client, "status")).structuredContent!;
  // A change to a protected file is refused before anything runs.
  writeFileSync(join(dir, "evaluate.js"), "require('fs').writeFileSync(process.env.AUTORESEARCH_METRICS_FILE, '{\"score\":0}')\n");
  const refused = await call(client, "run_experiment", { description: "a perfect evaluator" });
  assert.equal(refused.isError, true);
  assert.match(textOf(refused), /refused: .*evaluate\.js is protected/);
  const ledger = Ledger.open(join(dir, ".autoresearch"), { readOnly: true });
  try {
    assert.equal(ledger.listExperiments({ tag: "mcp" }).length, 3, "the refused change was never run");
  } finally {
    ledger.close();
  }
  // The refusal was the call's answer: the session is as the call found it, not "stopped (refused: ...)".
  const afterRefusal = (await call(client, "status")).structuredContent!;
  assert.equal(afterRefusal.state, stoppedBefore.state);
  assert.equal(afterRefusal.stopReason, stoppedBefore.stopReason);
  assert.doesNotMatch(String(afterRefusal.stopReason), /refus/);
  gitIn(dir, "checkout", "--", "evaluate.js");

  const shownAnswer = await call(client, "show_experiment", { id: 2 });
  const shown = textOf(shownAnswer);
  assert.equal(shownAnswer.structuredContent?.decision, "keep");
  assert.match(String(shownAnswer.structuredContent?.diff), /\+\{"x":6,"mode":"ok"\}/);
  assert.match(shown, /status: +ok → keep/);
  assert.match(shown, /hypothesis: +closer to the optimum/);
  assert.match(shown, /-\{"x":3,"mode":"ok"\}\n\+\{"x":6,"mode":"ok"\}/);
  assert.match(shown, /--- log tail/);
  assert.match(textOf(await call(client, "show_experiment", { id: 99 })), /no experiment 99/);

  const resultsAnswer = await call(client, "results");
  const results = textOf(resultsAnswer);
  assert.deepEqual((resultsAnswer.structuredContent?.experiments as Array<{ id: number; result: string }>).map((row) => [row.id, row.result]), [[1, "ok"], [2, "keep"], [3, "discard"]]);
  assert.match(results, /^ +2 +keep +1\.000000 .*x to 6$/m);
  assert.match(results, /^ +3 +discard .*x to 100$/m);
  const status = JSON.parse(textOf(await call(client, "status"))) as Record<string, unknown>;
  assert.equal(status.kept, 1);
  assert.equal(status.discarded, 1);
  assert.equal(status.best, 1);
  assert.equal(status.branch, "autoresearch/mcp");
  // The agent is a proposer: the held-out metric never reaches it.
  for (const answer of [shown, results, JSON.stringify(status), JSON.stringify(keep), JSON.stringify(shownAnswer.structuredContent), JSON.stringify(resultsAnswer.structuredContent)]) {
    assert.doesNotMatch(answer, /heldout|heldOut|16\.5/);
  }

  const appended = textOf(await call(client, "append_notebook", { note: "x near 7 is best; large x is far worse." }));
  const notes = join(dir, ".autoresearch", "sessions", "mcp", "notes.md");
  assert.match(appended, /appended to .*notes\.md/);
  assert.ok(existsSync(notes));
  assert.match(readFileSync(notes, "utf8"), /x near 7 is best; large x is far worse\./);
  assert.equal(gitIn(dir, "worktree", "list").split("\n").length, 1, "no worktree left behind");
});

test("closing the client while an experiment runs interrupts it cleanly: recorded as interrupted, the lock released, no worktree left", async (t) => {
  const dir = makeProject(t);
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp", "--tag", "stop"], cwd: dir, env: process.env as Record<string, string>, stderr: "inherit" });
  const client = new Client({ name: "autoresearch-test", version: "1.0.0" });
  await client.connect(transport);
  const serverPid = transport.pid!;
  writeFileSync(join(dir, "params.json"), '{"x":6,"mode":"hang"}\n');
  let training!: () => void;
  const trainingStarted = new Promise<void>((resolve) => (training = resolve));
  const pending = client.callTool({ name: "run_experiment", arguments: { description: "hangs" } }, undefined, {
    timeout: 120_000, onprogress: (event) => {
      if (/experiment 2: train/.test(event.message ?? "")) training();
    },
  }).catch((error: unknown) => error);
  await trainingStarted;
  await client.close();
  await pending;
  await waitFor(() => !isAlive(serverPid), 20_000, "the server exits");

  const ledger = Ledger.open(join(dir, ".autoresearch"), { readOnly: true });
  try {
    const candidate = ledger.getExperiment(2)!;
    assert.equal(candidate.status, "interrupted");
  } finally {
    ledger.close();
  }
  assert.equal(existsSync(join(dir, ".autoresearch", "run.lock")), false, "the run lock is released");
  assert.equal(gitIn(dir, "worktree", "list").split("\n").length, 1);
});

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("a keep confirmed by a second run: the answer's headline gives the mean it was judged on and the σ its rationale names", async (t) => {
  // Scores vary from run to run, so the confirmation's mean differs from the first run's score.
  const noisy = `
const fs = require("fs");
const { x } = JSON.parse(fs.readFileSync(process.env.AUTORESEARCH_OUTPUT_DIR + "/x.json", "utf8"));
const score = (x - 7) ** 2 + Math.random() * 0.5;
fs.writeFileSync(process.env.AUTORESEARCH_METRICS_FILE, JSON.stringify({ score, heldout: score + 0.5, data_bytes: 1 }));
`;
  const dir = makeProject(t, { config: baseConfig({ acceptance: { policy: "noise-aware", baselineRuns: 2, confirm: true } }), files: { "evaluate.js": noisy } });
  const client = await connect(t, dir);
  writeFileSync(join(dir, "params.json"), '{"x":6,"mode":"ok"}\n');
  const answer = await call(client, "run_experiment", { description: "x to 6" });
  assert.equal(answer.isError, false, textOf(answer));
  const data = answer.structuredContent!;
  assert.equal(data.decision, "keep", textOf(answer));
  const runs = (data.runs as Array<{ experiment: number; metric: number }>).map((run) => run.metric);
  assert.equal(runs.length, 2, "the candidate and its confirmation");
  const mean = (runs[0]! + runs[1]!) / 2;
  assert.ok(Math.abs((data.metric as number) - mean) < 1e-9, `judged on the mean ${mean}, answered ${data.metric}`);
  assert.ok(Math.abs((data.delta as number) - (mean - (data.bestBefore as number))) < 1e-9);
  const rationaleSigma = /σ=([\d.e+-]+)/.exec(String(data.rationale))?.[1];
  assert.ok(rationaleSigma, `the rationale names σ: ${data.rationale}`);
  assert.equal(data.noiseSigma, Number(rationaleSigma), "the answer's σ is the rationale's");
  const headline = textOf(answer).split("\n")[0]!;
  assert.match(headline, new RegExp(`^experiment 3: keep — metric ${(mean).toFixed(6)} \\(mean of 2 runs\\) \\(best before .*, σ ${Number(rationaleSigma).toFixed(6).slice(0, 5)}`));
});

test("the MCP Inspector's CLI, a client this project did not write, lists the tools with output schemas and calls them", (t) => {
  const dir = makeProject(t);
  const inspector = join(import.meta.dirname, "..", "..", "node_modules", "@modelcontextprotocol", "inspector", "cli", "build", "cli.js");
  const inspect = (...args: string[]) => {
    const result = spawnSync(process.execPath, [inspector, "--cli", process.execPath, CLI, "mcp", "--tag", "insp", "--project", dir, ...args], { cwd: dir, encoding: "utf8", timeout: 120_000 });
    assert.equal(result.status, 0, `inspector ${args.join(" ")}: ${result.stderr}`);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  };
  const { tools } = inspect("--method", "tools/list") as { tools: Array<{ name: string; outputSchema?: { type: string; properties: Record<string, unknown> } }> };
  assert.deepEqual(tools.map((tool) => tool.name).sort(), ["append_notebook", "results", "run_experiment", "show_experiment", "status"]);
  for (const tool of tools) assert.equal(tool.outputSchema?.type, "object", tool.name);
  assert.ok("noiseSigma" in tools.find((tool) => tool.name === "run_experiment")!.outputSchema!.properties);

  const empty = inspect("--method", "tools/call", "--tool-name", "status");
  assert.deepEqual(empty.structuredContent, { session: null, message: (empty.content as Array<{ text: string }>)[0]!.text });

  writeFileSync(join(dir, "params.json"), '{"x":6,"mode":"ok"}\n');
  const ran = inspect("--method", "tools/call", "--tool-name", "run_experiment", "--tool-arg", "description=x to 6");
  const data = ran.structuredContent as Record<string, unknown>;
  assert.equal(ran.isError, false);
  assert.equal(data.decision, "keep");
  assert.equal(data.metric, 1);
  assert.match((ran.content as Array<{ text: string }>)[0]!.text, /^experiment 2: keep — metric 1\.000000/);

  const shown = inspect("--method", "tools/call", "--tool-name", "show_experiment", "--tool-arg", "id=2");
  assert.equal((shown.structuredContent as Record<string, unknown>).description, "x to 6");
  const missing = inspect("--method", "tools/call", "--tool-name", "show_experiment", "--tool-arg", "id=99");
  assert.equal(missing.isError, true);
});
