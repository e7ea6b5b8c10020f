// The harness under stress and misuse: huge outputs, bad tags, unwritable state, its own state changed under it.
import { spawn, spawnSync } from "node:child_process";
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Ledger } from "../../src/ledger/sqlite.ts";
import { SESSION_MARKER_ENV } from "../../src/loop/environment.ts";
import { runSession, sessionKey } from "../../src/loop/session.ts";
import { killMarkedProcesses } from "../../src/runner/kill.ts";
import { LOG_HEAD_BYTES, LOG_TAIL_BYTES } from "../../src/runner/log-cap.ts";
import { baseConfig, gitIn, ledgerRows, makeProject, recordingBus } from "../helpers/project.ts";
import { privateMountsWork, runWithMount } from "../helpers/tiny-disk.ts";

const CLI = new URL("../../bin/autoresearch.js", import.meta.url).pathname;
const noPrivateMounts = !privateMountsWork() && "needs a private mount namespace (root + unshare)";

/** A script for runWithMount: runs the CLI in `dir` once per argument list, printing each result as a JSON line. */
function cliScript(dir: string, runs: Array<{ args: string[]; before?: string }>): string {
  const path = join(dir, "..", `cli-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(path, `
    import { spawnSync } from "node:child_process";
    import { rmSync } from "node:fs";
    for (const run of ${JSON.stringify(runs)}) {
      if (run.before) rmSync(run.before, { recursive: true, force: true });
      const result = spawnSync(process.execPath, [${JSON.stringify(CLI)}, ...run.args], { cwd: ${JSON.stringify(dir)}, encoding: "utf8", timeout: 120000 });
      console.log(JSON.stringify({ status: result.status, stdout: result.stdout, stderr: result.stderr }));
    }
  `);
  return path;
}

const never = new AbortController().signal;

function commitAll(dir: string, message: string): void {
  gitIn(dir, "add", "-A");
  gitIn(dir, "-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "-qm", message);
}

test("a self-reported metric printed in the part of the output the log cap cuts out is still found", async (t) => {
  const config = baseConfig({ budgetSeconds: 10, timeoutSeconds: 20 });
  delete config.evaluate;
  const dir = makeProject(t, { config, proposals: [] });
  // 3 MiB of noise, the metric, 3 MiB of noise: the metric line lands between the log's head and tail.
  writeFileSync(join(dir, "train.js"), `
    const noise = (n) => { for (let i = 0; i < n; i++) process.stdout.write("step " + i + " " + "n".repeat(60) + "\\n"); };
    noise(48000);
    process.stdout.write("score: 0.25\\n");
    noise(48000);
  `);
  commitAll(dir, "chatty train");
  const { bus } = recordingBus();
  await runSession({ projectDir: dir, tag: "t", bus, signal: never });
  const [baseline] = ledgerRows(dir);
  assert.equal(baseline!.status, "ok", baseline!.reason ?? "");
  assert.equal(baseline!.metric, 0.25);
  const log = readFileSync(baseline!.logPath, "utf8");
  assert.ok(statSync(baseline!.logPath).size <= LOG_HEAD_BYTES + LOG_TAIL_BYTES + 1000);
  assert.ok(!log.includes("score: 0.25"), "the metric line itself was cut from the log");
  assert.match(log, /bytes \(\d+ lines\) cut/);
});

test("a disk that fills up under .autoresearch stops the session with a clear error, and nothing is left running", { skip: noPrivateMounts }, (t) => {
  const dir = makeProject(t, {
    config: baseConfig({ budgetSeconds: 5, timeoutSeconds: 15 }),
    proposals: [{ description: "x to 6", params: { x: 6, mode: "sleep", seconds: 1 } }, { description: "x to 5", params: { x: 5, mode: "ok" } }],
  });
  const state = join(dir, ".autoresearch");
  mkdirSync(state);
  // In a private 4 MiB tmpfs: once the first candidate starts, a ballast file takes every free byte.
  const script = join(dir, "..", "fill.mjs");
  writeFileSync(script, `
    import { spawn, spawnSync } from "node:child_process";
    import { closeSync, openSync, rmSync, writeSync } from "node:fs";
    const cli = (args) => spawnSync(process.execPath, [${JSON.stringify(CLI)}, ...args], { cwd: ${JSON.stringify(dir)}, encoding: "utf8", timeout: 120000 });
    const ballast = ${JSON.stringify(join(state, "ballast"))};
    const harness = spawn(process.execPath, [${JSON.stringify(CLI)}, "run", "--tag", "t", "--json"], { cwd: ${JSON.stringify(dir)}, stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "", filled = false;
    harness.stderr.on("data", (chunk) => { err += chunk; });
    harness.stdout.on("data", (chunk) => {
      out += chunk;
      if (!filled && out.includes('"kind":"candidate"')) {
        filled = true;
        const fd = openSync(ballast, "w");
        try { for (;;) writeSync(fd, Buffer.alloc(16384)); } catch {} finally { closeSync(fd); }
      }
    });
    const status = await new Promise((resolve) => harness.once("exit", (code) => resolve(code)));
    console.log(JSON.stringify({ status, stdout: out.split("\\n").filter((l) => !l.includes("experiment_log")).join("\\n"), stderr: err }));
    rmSync(ballast, { force: true });
    for (const args of [["run", "--tag", "t", "--max-experiments", "2"], ["results", "--tag", "t", "--json"]]) {
      const result = cli(args);
      console.log(JSON.stringify({ status: result.status, stdout: result.stdout, stderr: result.stderr }));
    }
  `);
  const result = runWithMount(state, { kind: "tmpfs", sizeKb: 4096 }, script, [], { timeoutMs: 300_000 });
  const [full, resumed, results] = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as { status: number; stdout: string; stderr: string });
  assert.equal(full!.status, 4, full!.stdout + full!.stderr + result.stderr);
  assert.match(full!.stderr, /the disk is full/);
  assert.match(full!.stderr, /Free space/);
  assert.doesNotMatch(full!.stderr, /unexpected error|    at /, "no stack trace");
  assert.equal(resumed!.status, 0, resumed!.stderr);
  const rows = JSON.parse(results!.stdout) as Array<{ id: number; description: string; status: string; reason: string | null }>;
  assert.deepEqual(rows.filter((row) => row.status === "running"), [], "nothing is left running");
  const first = rows.find((row) => row.description === "x to 6")!;
  // Recorded as a crash (its train, or the harness writing its log, hit the full disk), or, when the ledger itself
  // could not be written, marked interrupted by the resume; either way with a reason.
  assert.ok(first.status === "crash" || first.status === "interrupted", JSON.stringify(first));
  assert.ok(first.reason, JSON.stringify(first));
});

test("a read-only .autoresearch is a clear error (what to do, exit 4), not a stack trace", { skip: noPrivateMounts }, (t) => {
  const dir = makeProject(t, { proposals: [] });
  const state = join(dir, ".autoresearch");
  mkdirSync(state);
  const script = cliScript(dir, [{ args: ["run", "--tag", "t", "--max-experiments", "1"] }]);
  const result = runWithMount(state, { kind: "read-only" }, script);
  const [run] = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as { status: number; stderr: string });
  assert.equal(run!.status, 4, run!.stderr);
  assert.match(run!.stderr, /read-only/);
  assert.match(run!.stderr, /must write there/);
  assert.doesNotMatch(run!.stderr, /unexpected error|    at /, "no stack trace");
});

test("Ctrl-C during prepare stops the session as interrupted, not as a broken prepare step", async (t) => {
  const dir = makeProject(t, { proposals: [] });
  writeFileSync(join(dir, "prepare.js"), "setTimeout(() => {}, 60000);\n");
  commitAll(dir, "slow prepare");
  const { bus, events } = recordingBus();
  const controller = new AbortController();
  bus.subscribe((event) => {
    if (event.type === "prepare_started") controller.abort();
  });
  const result = await runSession({ projectDir: dir, tag: "t", bus, signal: controller.signal });
  assert.match(result.reason, /^interrupted \(Ctrl-C\) while the data was being prepared/);
  assert.equal(result.paused, false);
  const stopped = events.find((event) => event.type === "session_stopped");
  assert.ok(stopped, "the session says it stopped");
  assert.doesNotMatch(JSON.stringify(events), /[Ff]ix the prepare/);
  const ledger = Ledger.open(join(dir, ".autoresearch"), { readOnly: true });
  t.after(() => ledger.close());
  assert.equal(ledger.getSession("t")!.state, "stopped");
});

test("a branch moved by someone else is put back at the ledger's best before the next decision, and the moved-to commit is kept", async (t) => {
  const dir = makeProject(t, { proposals: [{ description: "x to 6", params: { x: 6, mode: "ok" } }, { description: "x to 100", params: { x: 100, mode: "ok" } }] });
  const base = gitIn(dir, "rev-parse", "HEAD");
  gitIn(dir, "-c", "user.name=x", "-c", "user.email=x@localhost", "commit", "--allow-empty", "-qm", "someone else's work");
  const foreign = gitIn(dir, "rev-parse", "HEAD");
  gitIn(dir, "reset", "-q", "--hard", base);
  const { bus, events } = recordingBus();
  bus.subscribe((event) => {
    // While the first candidate trains, something outside the session moves the branch.
    if (event.type === "experiment_started" && event.kind === "candidate" && event.description === "x to 6") gitIn(dir, "update-ref", "refs/heads/autoresearch/t", foreign);
  });
  await runSession({ projectDir: dir, tag: "t", bus, signal: never });
  const warning = events.find((event) => event.type === "warning" && /was moved by something other than this session/.test(event.message));
  assert.ok(warning, JSON.stringify(events.filter((event) => event.type === "warning")));
  const kept = ledgerRows(dir).find((row) => row.description === "x to 6")!;
  assert.equal(kept.decision, "keep");
  assert.equal(gitIn(dir, "rev-parse", "autoresearch/t"), kept.candidateCommit, "the branch is at the ledger's best");
  assert.match(gitIn(dir, "for-each-ref", "--format=%(objectname) %(refname)", "refs/autoresearch/t/"), new RegExp(`${foreign} refs/autoresearch/t/displaced-\\d+`));
});

for (const change of ["replaced", "deleted"] as const) {
  test(`a ledger ${change} while the session runs stops it with a clear error before the next result is written`, async (t) => {
    const dir = makeProject(t, { proposals: [{ description: "x to 6", params: { x: 6, mode: "ok" } }, { description: "x to 5", params: { x: 5, mode: "ok" } }] });
    const ledgerPath = join(dir, ".autoresearch", "ledger.db");
    const { bus } = recordingBus();
    bus.subscribe((event) => {
      if (event.type !== "experiment_started" || event.kind !== "candidate") return;
      if (change === "replaced") {
        copyFileSync(ledgerPath, `${ledgerPath}.copy`);
        renameSync(`${ledgerPath}.copy`, ledgerPath);
      } else {
        for (const suffix of ["", "-wal", "-shm"]) rmSync(`${ledgerPath}${suffix}`, { force: true });
      }
    });
    await assert.rejects(runSession({ projectDir: dir, tag: "t", bus, signal: never }), (error: Error) => {
      assert.equal(error.name, "LedgerChangedError");
      assert.match(error.message, new RegExp(`ledger .* was ${change}`));
      return true;
    });
  });
}

test("status of a stopped session never borrows another session's harness; a double Ctrl-C leaves nothing running", async (t) => {
  const dir = makeProject(t, { proposals: [] });
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: "utf8", timeout: 120_000 });
  assert.equal(cli("run", "--tag", "a", "--max-experiments", "1").status, 0);
  writeFileSync(join(dir, "params.json"), `${JSON.stringify({ x: 3, mode: "sleep", seconds: 60 })}\n`);
  writeFileSync(join(dir, "autoresearch.config.json"), `${JSON.stringify(baseConfig({ budgetSeconds: 60, timeoutSeconds: 70 }), null, 2)}\n`);
  commitAll(dir, "a slow baseline");

  const harness = spawn(process.execPath, [CLI, "run", "--tag", "b", "--json"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => harness.once("exit", (code) => resolve(code)));
  let output = "";
  await new Promise<void>((resolve, reject) => {
    harness.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"phase":"train"')) resolve();
    });
    harness.once("exit", () => reject(new Error(`the harness exited early: ${output}`)));
  });

  const statusOfA = JSON.parse(cli("status", "--tag", "a", "--json").stdout) as { state: string; harnessPid: number | null };
  assert.equal(statusOfA.state, "stopped");
  assert.equal(statusOfA.harnessPid, null);
  const statusOfB = JSON.parse(cli("status", "--tag", "b", "--json").stdout) as { state: string; harnessPid: number | null };
  assert.equal(statusOfB.state, "running");
  assert.equal(statusOfB.harnessPid, harness.pid);

  // Quitting at once leaves the train process behind (the next run would kill it); the test kills it itself.
  t.after(() => killMarkedProcesses({ name: SESSION_MARKER_ENV, value: sessionKey(dir, "b") }, { graceMs: 200 }));
  harness.kill("SIGINT");
  harness.kill("SIGINT");
  assert.equal(await exited, 130);
  const after = JSON.parse(cli("status", "--tag", "b", "--json").stdout) as { state: string; stopReason: string | null; running: unknown[] };
  assert.equal(after.state, "stopped");
  assert.deepEqual(after.running, []);
  const ledger = Ledger.open(join(dir, ".autoresearch"), { readOnly: true });
  t.after(() => ledger.close());
  assert.equal(ledger.getSession("b")!.state, "stopped", "recorded in the ledger, not only shown");
  assert.match(ledger.getSession("b")!.stopReason ?? "", /Ctrl-C/);
  assert.deepEqual(ledger.listExperiments({ tag: "b", status: ["running"] }), []);
});

test("a mutable glob that matches no file, or a file both mutable and protected, is refused before the session starts", async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ mutable: ["params.json", "trian.js"] }, /mutable\[1\]: "trian\.js" matches no committed file/],
    [{ mutable: ["params.json", "*.js"] }, /mutable\[1\]: "\*\.js" makes evaluate\.js mutable, but protected "evaluate\.js" protects it/],
  ];
  for (const [override, message] of cases) {
    const dir = makeProject(t, { config: baseConfig(override), proposals: [] });
    const { bus } = recordingBus();
    await assert.rejects(runSession({ projectDir: dir, tag: "t", bus, signal: never }), (error: Error) => {
      assert.equal(error.name, "ConfigError");
      assert.match(error.message, message);
      return true;
    });
    assert.equal(gitIn(dir, "branch", "--list", "autoresearch/t"), "", "no session (branch) was made");
  }
});

test("uncommitted edits to mutable files are named once at the start: the run uses committed code", async (t) => {
  const dir = makeProject(t, { proposals: [] });
  writeFileSync(join(dir, "params.json"), `${JSON.stringify({ x: 7, mode: "ok" })}\n`);
  const { bus, events } = recordingBus();
  await runSession({ projectDir: dir, tag: "t", bus, signal: never, maxExperiments: 1 });
  const warnings = events.filter((event) => event.type === "warning" && /uncommitted changes/.test(event.message));
  assert.equal(warnings.length, 1);
  assert.match((warnings[0] as { message: string }).message, /params\.json\) are not used: experiments start from committed code/);
  assert.equal(ledgerRows(dir)[0]!.metric, 16, "the baseline ran the committed x = 3, not the edited x = 7");
});
