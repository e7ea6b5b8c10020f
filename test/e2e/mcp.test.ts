// `autoresearch mcp` driven by the MCP SDK's own client over stdio: a real server process, real
// experiments in real git worktrees, the harness's decisions.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { Ledger } from "../../src/ledger/sqlite.ts";
import { CLI, gitIn, isAlive, makeProject } from "../helpers/project.ts";

type ToolAnswer = { content: Array<{ type: string; text?: string }>; isError?: boolean };

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

  const tools = (await client.listTools()).tools.map((tool) => tool.name).sort();
  assert.deepEqual(tools, ["append_notebook", "results", "run_experiment", "show_experiment", "status"]);
  assert.match(textOf(await call(client, "status")), /no session yet: call run_experiment/);

  // A better change: the harness runs the baseline first, then the change, and keeps it.
  writeFileSync(join(dir, "params.json"), '{"x":6,"mode":"ok"}\n');
  const progress: string[] = [];
  const kept = await call(client, "run_experiment", { description: "x to 6", hypothesis: "closer to the optimum" }, progress);
  assert.equal(kept.isError, false, textOf(kept));
  const keep = dataOf(kept);
  assert.equal(keep.decision, "keep");
  assert.equal(keep.metric, 1);
  assert.equal(keep.delta, -15);
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
  gitIn(dir, "checkout", "--", "evaluate.js");

  const shown = textOf(await call(client, "show_experiment", { id: 2 }));
  assert.match(shown, /status: +ok → keep/);
  assert.match(shown, /hypothesis: +closer to the optimum/);
  assert.match(shown, /-\{"x":3,"mode":"ok"\}\n\+\{"x":6,"mode":"ok"\}/);
  assert.match(shown, /--- log tail/);
  assert.match(textOf(await call(client, "show_experiment", { id: 99 })), /no experiment 99/);

  const results = textOf(await call(client, "results"));
  assert.match(results, /^ +2 +keep +1\.000000 .*x to 6$/m);
  assert.match(results, /^ +3 +discard .*x to 100$/m);
  const status = JSON.parse(textOf(await call(client, "status"))) as Record<string, unknown>;
  assert.equal(status.kept, 1);
  assert.equal(status.discarded, 1);
  assert.equal(status.best, 1);
  assert.equal(status.branch, "autoresearch/mcp");
  // The agent is a proposer: the held-out metric never reaches it.
  for (const answer of [shown, results, JSON.stringify(status), JSON.stringify(keep)]) assert.doesNotMatch(answer, /heldout|heldOut|16\.5/);

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
