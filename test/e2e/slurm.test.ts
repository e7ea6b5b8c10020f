// The Slurm executor on a real single-node Slurm cluster (scripts/slurm-local.sh; .ci/run starts it): a
// session gives the same results as on this machine; a harness killed with jobs queued and running finds
// them again and nothing is lost or run twice; a job cancelled from outside is re-queued once; a job
// whose evaluator was altered on the shared filesystem is refused on the node.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { JobResult } from "../../src/job/spec.ts";
import { runSession } from "../../src/loop/session.ts";
import { baseConfig, CLI, gitIn, ledgerRows, makeProject, recordingBus, type Proposal } from "../helpers/project.ts";
import { slurmJobStates, slurmMissing } from "../helpers/slurm.ts";

const missing = slurmMissing();
const never = new AbortController().signal;

function slurmConfig(overrides: Record<string, unknown> = {}, executor: Record<string, unknown> = {}) {
  return baseConfig({ outputs: "all", executor: { kind: "slurm", gpusPerJob: 1, pollSeconds: 0.5, ...executor }, ...overrides });
}

const runDir = (dir: string, id: number) => join(dir, ".autoresearch", "runs", String(id));

/** The Slurm job ids the executor recorded for an experiment, oldest first. */
function jobIds(dir: string, id: number): string[] {
  const file = join(runDir(dir, id), "slurm-jobs");
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).map((line) => line.split("\t")[0]!) : [];
}

function resultOf(dir: string, id: number): JobResult {
  return JSON.parse(readFileSync(join(runDir(dir, id), "result.json"), "utf8")) as JobResult;
}

/** Polls `check` every 100 ms, at most `tries` times. */
async function until<T>(check: () => T | undefined | null | false, what: string, tries = 600): Promise<T> {
  for (let attempt = 0; attempt < tries; attempt += 1) {
    const value = check();
    if (value) return value;
    await delay(100);
  }
  throw new Error(`gave up waiting for ${what}`);
}

const sleepy = (x: number, seconds: number): Proposal => ({ description: `x to ${x}, ${seconds} s`, params: { x, mode: "sleep", seconds } });

test("a session on Slurm with 4 jobs in flight gives the results it gives on this machine, each saying where it ran", { skip: missing ?? false }, async (t) => {
  const proposals: Proposal[] = [
    { description: "x to 6", params: { x: 6, mode: "ok" } },
    { description: "x to 5", params: { x: 5, mode: "ok" } },
    { description: "crash", params: { x: 1, mode: "crash" } },
    { description: "x to 8", params: { x: 8, mode: "ok" } },
    { description: "x to 7", params: { x: 7, mode: "ok" } },
  ];
  const dir = makeProject(t, { config: slurmConfig({ slots: 4 }), proposals });
  await runSession({ projectDir: dir, tag: "local", bus: recordingBus().bus, signal: never, executorKind: "local" });
  const { bus, events } = recordingBus();
  const result = await runSession({ projectDir: dir, tag: "slurm", bus, signal: never, slots: 4 });
  assert.match(result.reason, /replay file exhausted/);

  const rows = ledgerRows(dir);
  const local = rows.filter((row) => row.tag === "local");
  const slurm = rows.filter((row) => row.tag === "slurm");
  const kinds = (list: typeof rows) => list.map((row) => `${row.kind} ${row.description}: ${row.status} ${row.metric}`).sort();
  assert.deepEqual(kinds(slurm), kinds(local), "the same statuses and metrics as on this machine");
  assert.deepEqual(slurm.map((row) => row.status).sort(), ["crash", "ok", "ok", "ok", "ok", "ok"]);
  assert.ok(events.some((event) => event.type === "session_started" && event.slots === 4));

  const host = hostname();
  const visible = new Set<string>();
  for (const row of slurm) {
    const ran = resultOf(dir, row.id);
    const ids = jobIds(dir, row.id);
    assert.equal(ids.length, 1, `experiment ${row.id} was one Slurm job`);
    assert.equal(ran.host?.slurmJobId, ids[0]);
    assert.equal(ran.host?.name, host, "the node it ran on, from the node");
    assert.match(ran.host?.visibleDevices ?? "", /^\d+$/, "the GPU Slurm gave it");
    visible.add(ran.host!.visibleDevices!);
    assert.match(readFileSync(row.logPath, "utf8"), new RegExp(`--- Slurm job ${ids[0]} ran on ${host}`));
    assert.equal(slurmJobStates(ids).get(ids[0]!), "COMPLETED", "the job had ended when its result was taken");
  }
  assert.ok(visible.size > 1, "jobs in flight together got different GPUs");
  // The ledger keeps where each ran, and the views show it: the node and the Slurm job on a cluster, this machine locally.
  for (const row of slurm) assert.deepEqual(row.ranOn, { host, deviceName: resultOf(dir, row.id).device.name, slurmJobId: jobIds(dir, row.id)[0] });
  for (const row of local) assert.deepEqual(row.ranOn, { host, deviceName: cpus()[0]!.model.trim() }, "a local run records this machine");
  const place = `${host} · ${slurm[0]!.ranOn?.deviceName ?? "cuda:0"}`; // a fake GPU has no model to read
  const results = spawnSync(process.execPath, [CLI, "results", "--tag", "slurm"], { cwd: dir, encoding: "utf8" });
  assert.match(results.stdout.split("\n")[0]!, /time {2}ran on +description$/, "the cluster's runs get a column");
  assert.equal(results.stdout.split("\n").filter((line) => line.includes(`  ${place}  `)).length, 6);
  const plain = spawnSync(process.execPath, [CLI, "results", "--tag", "local"], { cwd: dir, encoding: "utf8" });
  assert.doesNotMatch(plain.stdout, /ran on/, "runs on this machine alone need no column");
  const status = spawnSync(process.execPath, [CLI, "status", "--tag", "slurm"], { cwd: dir, encoding: "utf8" });
  assert.ok(status.stdout.includes(`\n  ran on ${place} ×6\n`), status.stdout);
  const crashed = slurm.find((row) => row.status === "crash")!;
  assert.match(crashed.reason!, /train exited with code 3/, "the job's own reason, not Slurm's state");
});

test("a harness killed with jobs queued and running finds them again: each is adopted, none lost or run twice", { skip: missing ?? false }, async (t) => {
  const proposals = [sleepy(6, 2), sleepy(5, 2), sleepy(8, 2), sleepy(4, 2), sleepy(7, 1)];
  // Jobs start 2 s after they are submitted: some are still queued when the harness dies.
  const config = slurmConfig({ slots: 4, budgetSeconds: 3, timeoutSeconds: 12 }, { extraSbatch: ["--begin=now+2"] });
  const dir = makeProject(t, { config, proposals });
  const harness = spawn(process.execPath, [CLI, "run", "--tag", "k", "--json"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => harness.once("exit", (_code, signal) => resolve(signal)));
  let output = "";
  harness.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const started = () => output.split("\n").filter((line) => line.includes('"type":"experiment_started"') && line.includes('"kind":"candidate"'))
    .map((line) => (JSON.parse(line) as { id: number }).id);
  const inFlight = await until(() => {
    const ids = started();
    return ids.length >= 3 && ids.every((id) => jobIds(dir, id).length === 1) && ids;
  }, "three candidates submitted to Slurm");
  const statesAtKill = slurmJobStates(inFlight.map((id) => jobIds(dir, id)[0]!));
  harness.kill("SIGKILL");
  assert.equal(await exited, "SIGKILL");
  assert.ok([...statesAtKill.values()].every((state) => state === "PENDING" || state === "RUNNING"), JSON.stringify([...statesAtKill]));
  assert.ok(ledgerRows(dir).some((row) => row.status === "running"), "the killed harness left its experiments running");

  const { bus, events } = recordingBus();
  await runSession({ projectDir: dir, tag: "k", bus, signal: never });
  const rows = ledgerRows(dir);
  assert.deepEqual(rows.filter((row) => row.status !== "ok").map((row) => `${row.id} ${row.status}: ${row.reason}`), [], "every experiment finished ok: none lost");
  for (const id of inFlight) {
    assert.equal(jobIds(dir, id).length, 1, `experiment ${id} was submitted once`);
    assert.equal(rows.find((row) => row.id === id)!.status, "ok");
  }
  const descriptions = rows.filter((row) => row.kind === "candidate").map((row) => row.description).sort();
  assert.deepEqual(descriptions, proposals.map((proposal) => proposal.description).sort(), "each proposal ran exactly once");
  const warning = events.find((event) => event.type === "warning" && /adopted/.test(event.message));
  assert.ok(warning, "the resumed run says it adopted the jobs");
  const allIds = rows.flatMap((row) => jobIds(dir, row.id));
  assert.equal(new Set(allIds).size, allIds.length);
  assert.deepEqual([...slurmJobStates(allIds).values()].filter((state) => state !== "COMPLETED"), [], "no job left queued or running");
});

test("a job cancelled with scancel from outside is re-queued once, and recorded interrupted if it is cancelled again", { skip: missing ?? false }, async (t) => {
  const proposals = [sleepy(6, 3), sleepy(5, 3)];
  const dir = makeProject(t, { config: slurmConfig({ slots: 2, budgetSeconds: 4, timeoutSeconds: 14 }), proposals });
  const { bus } = recordingBus();
  const cancellations: Promise<void>[] = [];
  /**
   * scancels the experiment's `attempt`-th Slurm job once it trains. Not as soon as squeue says RUNNING: a job
   * cancelled while slurmd launches it may get no signal at all and run to its result (seen on Slurm 22.05).
   */
  const cancelWhenRunning = async (id: number, attempt: number) => {
    const log = join(dir, ".autoresearch", "logs", `${id}.log`);
    const jobId = await until(() => {
      // Finished without this attempt (not re-queued): nothing to cancel; the assertions below say how it ended.
      if (ledgerRows(dir).find((row) => row.id === id)?.status !== "running") return "finished";
      const ids = jobIds(dir, id);
      const current = ids[attempt - 1];
      if (ids.length !== attempt || slurmJobStates(ids).get(current!) !== "RUNNING" || !existsSync(log)) return false;
      // Each attempt is cancelled while it trains, so the attempt-th one trains when the log has that many train lines.
      return (readFileSync(log, "utf8").match(/^--- train:/gm)?.length ?? 0) >= attempt && current;
    }, `experiment ${id}'s job ${attempt} training`);
    if (jobId !== "finished") execFileSync("scancel", [jobId]);
  };
  bus.subscribe((event) => {
    if (event.type !== "experiment_started" || event.kind !== "candidate") return;
    const times = event.description.startsWith("x to 6") ? 1 : 2;
    cancellations.push((async () => {
      for (let attempt = 1; attempt <= times; attempt += 1) await cancelWhenRunning(event.id, attempt);
    })());
  });
  await runSession({ projectDir: dir, tag: "c", bus, signal: never });
  await Promise.all(cancellations);
  const rows = ledgerRows(dir);
  const once = rows.find((row) => row.description.startsWith("x to 6"))!;
  const twice = rows.find((row) => row.description.startsWith("x to 5"))!;
  const story = (row: typeof once) => `${row.status}: ${row.reason}; Slurm jobs ${jobIds(dir, row.id).join(", ")}; log:\n${readFileSync(row.logPath, "utf8")}`;
  assert.equal(jobIds(dir, once.id).length, 2, story(once));
  assert.equal(jobIds(dir, twice.id).length, 2, story(twice));
  assert.equal(once.status, "ok", `re-queued once, then it ran to its result: ${story(once)}`);
  assert.equal(once.metric, 1);
  assert.match(readFileSync(once.logPath, "utf8"), /was stopped from outside the harness \(CANCELLED\): re-queued once|was cancelled outside the harness \(scancel\): re-queued once/);
  assert.equal(twice.status, "interrupted", `a second cancellation is not re-queued again: ${story(twice)}`);
  assert.match(twice.reason!, /after a re-queue: Slurm jobs \d+, \d+/);
});

test("a job whose evaluator was altered on the shared filesystem is refused by autoresearch job on the node", { skip: missing ?? false }, async (t) => {
  // The candidate's job waits 2 s in the queue; meanwhile the evaluator in the shared repository is replaced.
  const config = slurmConfig({ slots: 1 }, { extraSbatch: ["--begin=now+2"] });
  const dir = makeProject(t, { config, proposals: [{ description: "x to 6", params: { x: 6, mode: "ok" } }] });
  const { bus } = recordingBus();
  let replaced = false;
  bus.subscribe((event) => {
    if (event.type !== "experiment_started" || event.kind !== "candidate" || replaced) return;
    replaced = true;
    const original = gitIn(dir, "rev-parse", "HEAD:evaluate.js");
    const altered = execFileSync("git", ["hash-object", "-w", "--stdin"], { cwd: dir, input: "require('fs').writeFileSync(process.env.AUTORESEARCH_METRICS_FILE, JSON.stringify({ score: -1e9 }));\n", encoding: "utf8" }).trim();
    gitIn(dir, "replace", original, altered);
  });
  await runSession({ projectDir: dir, tag: "r", bus, signal: never });
  assert.ok(replaced);
  const candidate = ledgerRows(dir).find((row) => row.kind === "candidate")!;
  assert.equal(candidate.status, "rejected");
  assert.match(candidate.reason!, /protected files differ from the session's: changed: evaluate\.js/);
  const ran = resultOf(dir, candidate.id);
  assert.equal(ran.host?.name, hostname(), "refused on the node, by the job itself");
  assert.match(readFileSync(candidate.logPath, "utf8"), /refused before running/);
  assert.equal(existsSync(join(runDir(dir, candidate.id), "out", "x.json")), false, "train never ran");
});

test("with executor.gitRemote the nodes fetch each candidate from that remote, and a remote without the candidate's ref is a clear error", { skip: missing ?? false }, async (t) => {
  const remote = mkdtempSync(join(tmpdir(), "autoresearch-remote-"));
  t.after(() => rmSync(remote, { recursive: true, force: true }));
  execFileSync("git", ["init", "--quiet", "--bare", remote]);
  // The remote loses experiment 3's ref as soon as it is pushed: its node finds nothing to fetch.
  writeFileSync(join(remote, "hooks", "post-receive"), '#!/bin/sh\nwhile read old new ref; do case "$ref" in */3) git update-ref -d "$ref" ;; esac; done\n', { mode: 0o755 });
  const proposals = [{ description: "x to 6", params: { x: 6, mode: "ok" } }, { description: "x to 5", params: { x: 5, mode: "ok" } }];
  const dir = makeProject(t, { config: slurmConfig({ slots: 1 }, { gitRemote: `file://${remote}` }), proposals });
  await runSession({ projectDir: dir, tag: "g", bus: recordingBus().bus, signal: never });
  const rows = ledgerRows(dir);
  assert.deepEqual(rows.map((row) => `${row.id} ${row.status}`), ["1 ok", "2 ok", "3 crash"]);
  for (const row of rows.slice(0, 2)) {
    assert.match(readFileSync(row.logPath, "utf8"), new RegExp(`--- fetched refs/autoresearch/g/${row.id} \\(${row.candidateCommit!.slice(0, 10)}\\) from file://`), "the node fetched it");
    assert.equal(gitIn(remote, "rev-parse", `refs/autoresearch/g/${row.id}`), row.candidateCommit, "the harness pushed it there");
  }
  assert.notEqual(rows[1]!.metric, null, "the fetched candidate ran");
  assert.match(rows[2]!.reason!, /^could not fetch the candidate: the git remote file:\/\/\S+ has no refs\/autoresearch\/g\/3 \(the harness pushes each candidate there/);
  assert.equal(resultOf(dir, 3).host?.name, hostname(), "said by the job on the node");
});

/**
 * A preamble that makes each batch script outlive its `autoresearch job` by `seconds`: bash (not in POSIX mode)
 * calls a function before a builtin of the same name, so the script's final `exec` becomes "run, then wait".
 */
const lingering = (seconds: number) => [`exec() { "$@"; local status=$?; sleep ${seconds}; return $status; }`];

test("a job's handle resolves only once Slurm says the job has ended, not when its result file appears", { skip: missing ?? false }, async (t) => {
  const dir = makeProject(t, { config: slurmConfig({ slots: 2 }, { preamble: lingering(3) }), proposals: [sleepy(6, 1), sleepy(5, 1)] });
  const { bus } = recordingBus();
  const atFinish = new Map<number, string | undefined>();
  bus.subscribe((event) => {
    if (event.type === "experiment_finished") atFinish.set(event.id, slurmJobStates(jobIds(dir, event.id)).get(jobIds(dir, event.id)[0]!));
  });
  await runSession({ projectDir: dir, tag: "linger", bus, signal: never });
  const rows = ledgerRows(dir);
  assert.deepEqual(rows.map((row) => row.status), ["ok", "ok", "ok"]);
  for (const row of rows) assert.equal(atFinish.get(row.id), "COMPLETED", `experiment ${row.id}'s job had ended when its result was used`);
});

test("a job still running 10 s after writing its result is cancelled, and its result stands", { skip: missing ?? false }, async (t) => {
  const dir = makeProject(t, { config: slurmConfig({}, { preamble: lingering(120) }) });
  const started = Date.now();
  await runSession({ projectDir: dir, tag: "stuck", bus: recordingBus().bus, signal: never });
  assert.ok(Date.now() - started < 60_000, "the harness did not wait out the 120 s the script lingers");
  const [baseline] = ledgerRows(dir);
  assert.equal(baseline!.status, "ok", "the result the job wrote is kept");
  const [id] = jobIds(dir, baseline!.id);
  assert.match(readFileSync(baseline!.logPath, "utf8"), new RegExp(`--- Slurm job ${id} was still RUNNING 10 s after writing its result: cancelled`));
  const state = await until(() => {
    const now = slurmJobStates([id!]).get(id!);
    return now !== "RUNNING" && now !== "COMPLETING" && now;
  }, `Slurm job ${id} to end`);
  assert.equal(state, "CANCELLED");
});

test("doctor checks the Slurm executor: the tools, and a partition that does not exist with what to set instead", { skip: missing ?? false }, (t) => {
  const dir = makeProject(t, { config: slurmConfig({}, { partition: "nope" }) });
  const doctor = spawnSync(process.execPath, [CLI, "doctor"], { cwd: dir, encoding: "utf8", timeout: 120_000 });
  assert.match(doctor.stdout, /ok {4}slurm tools: sbatch, squeue, scancel and sinfo/);
  assert.match(doctor.stdout, /FAIL {2}slurm partition: partition "nope" does not exist \(partitions: [^)]+\)\n {6}Set "executor": \{"kind": "slurm", "partition": "<one of/);
  assert.equal(doctor.status, 4, "a missing partition fails the doctor");
  const plain = makeProject(t);
  const asked = spawnSync(process.execPath, [CLI, "doctor", "--executor", "slurm"], { cwd: plain, encoding: "utf8", timeout: 120_000 });
  assert.match(asked.stdout, /ok {4}slurm partition: \S+ \(the default\): up, \d+ node\(s\)/);
  const remote = makeProject(t, { config: slurmConfig({}, { gitRemote: "/nonexistent/study.git" }) });
  const unreachable = spawnSync(process.execPath, [CLI, "doctor"], { cwd: remote, encoding: "utf8", timeout: 120_000 });
  assert.match(unreachable.stdout, /FAIL {2}slurm git remote: \/nonexistent\/study\.git: .+\n {6}Check the URL and the credentials/);
});
