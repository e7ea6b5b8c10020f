// The command line as a user meets it: real processes of bin/autoresearch.js.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { sandboxProblem } from "../../src/sandbox/index.ts";
import { Ledger } from "../../src/ledger/sqlite.ts";
import { sessionKey } from "../../src/loop/session.ts";
import { SESSION_MARKER_ENV } from "../../src/loop/environment.ts";
import { baseConfig, CLI, gitIn, isAlive, makeProject } from "../helpers/project.ts";

function cli(cwd: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Pids of live processes whose environment carries `name=value`. */
function markedProcesses(name: string, value: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(`${name}=${value}`) && isAlive(Number(entry))) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

test("a bad config file is refused with the file, the field and what was expected", (t) => {
  const config = baseConfig({ budgetSeconds: "ten" });
  (config.train as Record<string, unknown>).bogus = true;
  const dir = makeProject(t, { config });
  const result = cli(dir, "run");
  assert.equal(result.code, 3);
  assert.match(result.stderr, /autoresearch\.config\.json: train\.bogus: unknown key; expected one of: command, timeoutSeconds/);
  assert.match(result.stderr, /autoresearch\.config\.json: budgetSeconds: expected a number \(the train phase's wall-clock budget in seconds, e\.g\. 300\); found the string "ten"/);
  assert.doesNotMatch(result.stderr, /    at /, "no stack trace for a user error");
});

test("bad flags and unknown commands say what is wrong and exit 2", (t) => {
  const dir = makeProject(t);
  const badNumber = cli(dir, "run", "--max-experiments", "zero");
  assert.equal(badNumber.code, 2);
  assert.match(badNumber.stderr, /--max-experiments must be a positive integer, got "zero"/);
  const unknownFlag = cli(dir, "run", "--max-experiment", "3");
  assert.equal(unknownFlag.code, 2);
  assert.match(unknownFlag.stderr, /^autoresearch run: unknown flag --max-experiment; did you mean --max-experiments\?\n/);
  const unknownCommand = cli(dir, "frobnicate");
  assert.equal(unknownCommand.code, 2);
  assert.match(unknownCommand.stderr, /unknown command "frobnicate"/);
  const noSessions = cli(dir, "status");
  assert.equal(noSessions.code, 3);
  assert.match(noSessions.stderr, /no research sessions .* yet/);
});

test("run, status, results and show tell the same story", (t) => {
  const dir = makeProject(t, { proposals: [{ description: "x to 6", params: { x: 6, mode: "ok" } }, { description: "crash it", params: { x: 6, mode: "crash" } }] });
  const run = cli(dir, "run", "--tag", "cli", "--max-experiments", "3");
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /keep .*x to 6/);
  assert.match(run.stdout, /crash .*crash it/);
  assert.match(run.stdout, /stopped: ran the maximum of 3 experiments/);

  const status = JSON.parse(cli(dir, "status", "--json").stdout) as Record<string, unknown>;
  assert.equal(status.tag, "cli");
  assert.equal(status.experiments, 3);
  assert.equal(status.kept, 1);
  assert.equal(status.failed, 1);
  assert.equal(status.best, 1);
  assert.equal(status.baseline, 16);

  const tsv = cli(dir, "results", "--tsv").stdout.split("\n");
  assert.match(tsv[0]!, /^commit\tscore\tmemory_gb\tstatus\tdescription\t/);
  assert.equal(tsv.filter((line) => line.trim() !== "").length, 4);
  const rows = JSON.parse(cli(dir, "results", "--json").stdout) as Array<{ id: number; description: string }>;
  const crashed = rows.find((row) => row.description === "crash it")!;

  const show = cli(dir, "show", String(crashed.id));
  assert.equal(show.code, 0);
  assert.match(show.stdout, /status: +crash — train exited with code 3/);
  assert.match(show.stdout, /-\{"x":6,"mode":"ok"\}|\+\{"x":6,"mode":"crash"\}/);
  assert.match(show.stdout, /boom: simulated crash/, "the log tail shows the error");
  assert.match(show.stdout, /outputs: +- \(removed by the outputs policy/, "a crash's outputs go once it is decided");
  const best = rows.find((row) => row.description === "x to 6")!;
  assert.match(cli(dir, "show", String(best.id)).stdout, new RegExp(`outputs: +${join(dir, ".autoresearch", "runs", String(best.id), "out")}`));
  assert.equal(cli(dir, "show", "999").code, 2);
});

for (const sandboxed of [true, false]) test(`kill -9 of the harness mid-experiment, then run again: nothing finished is lost and nothing is left over (${sandboxed ? "sandboxed" : "unsandboxed"})`, async (t) => {
  const problem = sandboxed ? await sandboxProblem() : null;
  if (problem) return t.skip(problem);
  const modeFlags = sandboxed ? [] : ["--unsandboxed"];
  const dir = makeProject(t, {
    config: baseConfig({ startupSeconds: 119, timeoutSeconds: undefined }),
    proposals: [
      { description: "x to 6", params: { x: 6, mode: "ok" } },
      { description: "slow one", params: { x: 5, mode: "sleep", seconds: 60 } },
      { description: "x to 7", params: { x: 7, mode: "ok" } },
    ],
  });
  const harness = spawn(process.execPath, [CLI, "run", "--tag", "k", "--json", ...modeFlags], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const lines = createInterface({ input: harness.stdout! });
  const deadline = setTimeout(() => harness.kill("SIGKILL"), 60_000);
  let slowId: number | null = null;
  for await (const line of lines) {
    const event = JSON.parse(line) as { type: string; id?: number; description?: string; phase?: string };
    if (event.type === "experiment_started" && event.description === "slow one") slowId = event.id!;
    if (event.type === "experiment_log" && event.id === slowId) break; // its training process is running
  }
  assert.ok(slowId, "the slow experiment started");
  harness.kill("SIGKILL");
  await new Promise((resolve) => harness.once("exit", resolve));
  clearTimeout(deadline);
  const projectDir = gitIn(dir, "rev-parse", "--show-toplevel");
  const key = sessionKey(projectDir, "k");
  if (sandboxed) {
    // The sandbox dies with the harness (bwrap --die-with-parent): the kernel tears it down at once.
    for (let waited = 0; markedProcesses(SESSION_MARKER_ENV, key).length > 0 && waited < 5000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(markedProcesses(SESSION_MARKER_ENV, key), [], "nothing of the sandboxed phase outlives the harness");
  } else {
    assert.ok(markedProcesses(SESSION_MARKER_ENV, key).length > 0, "the killed harness left its training process behind");
  }

  const resumed = cli(dir, "run", "--tag", "k", ...modeFlags);
  assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
  if (!sandboxed) assert.match(resumed.stdout, /killed \d+ process\(es\) left over/);
  assert.match(resumed.stdout, new RegExp(`experiment\\(s\\) ${slowId} were running when the harness stopped`));
  assert.deepEqual(markedProcesses(SESSION_MARKER_ENV, key), []);

  const ledger = Ledger.open(join(dir, ".autoresearch"), { readOnly: true });
  t.after(() => ledger.close());
  const rows = ledger.listExperiments({ tag: "k", order: "asc" });
  assert.deepEqual(ledger.checkIntegrity(), []);
  const status = Object.fromEntries(rows.map((row) => [row.description, row.decision ?? row.status]));
  assert.deepEqual(status, { "baseline (unchanged code)": "ok", "x to 6": "keep", "slow one": "interrupted", "x to 7": "keep" });
  assert.equal(gitIn(dir, "rev-parse", "autoresearch/k"), rows.at(-1)!.candidateCommit);
  assert.equal(gitIn(dir, "worktree", "list").split("\n").length, 1, "no worktree left behind");
  assert.equal(gitIn(dir, "status", "--porcelain"), "");
});

test("npx autoresearch works from the repository", () => {
  const root = join(import.meta.dirname, "..", "..");
  const result = spawnSync("npx", ["--no-install", "autoresearch", "--version"], { cwd: root, encoding: "utf8", timeout: 60_000 });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout.trim(), /^\d+\.\d+\.\d+$/);
});
