// A shared study on this machine for the e2e tests (#11): a fast measure-only workload with two @knobs
// for the search proposer, a bare git repository as the remote, `share init` in the host's project and
// `join` for each worker, all through the real CLI; workers run as real processes.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import pg from "pg";
import { savedWorkerId } from "../../src/share/worker.ts";
import { CLI, gitIn } from "./project.ts";

/** knobs.js with these values: the search proposer's two @knobs, read by both measures. */
export function knobsFile(x: number, y: number): string {
  return `const X = ${x}; // @knob min=0 max=20 int
const Y = ${y}; // @knob min=0.01 max=1 scale=log
module.exports = { X, Y };
`;
}

// With AUTORESEARCH_TEST_GATE set (to a directory the sandbox may read), a candidate (any code but the base's)
// waits until the file "open" appears there: a test holds a worker mid-experiment for as many steps as it needs.
// AUTORESEARCH_TEST_NOISE=W adds uniform noise of width W to every score (the same code then measures differently);
// AUTORESEARCH_TEST_SLEEP_MS=T makes every measurement take T ms first (the benchmark's sleep workload).
const MEASURE = `const { existsSync } = require("node:fs");
const { X, Y } = require("./knobs.js");
const noise = Number(process.env.AUTORESEARCH_TEST_NOISE ?? 0) * (Math.random() - 0.5);
const score = () => console.log("score: " + ((X - 7) ** 2 + 10 * (Y - 0.3) ** 2 + noise));
const gate = process.env.AUTORESEARCH_TEST_GATE;
const held = gate !== undefined && (X !== 3 || Y !== 0.9);
const wait = () => (existsSync(gate + "/open") ? score() : setTimeout(wait, 50));
setTimeout(() => (held ? wait() : score()), Number(process.env.AUTORESEARCH_TEST_SLEEP_MS ?? 0));
`;

// The benchmark's sleep workload without a Node start per measurement (about 0.12 CPU-seconds, which on two
// cores weighs more than the engine it is meant to measure): the same score from knobs.js, in the shell and awk.
const MEASURE_SH = `sleep "$(awk "BEGIN { print \${AUTORESEARCH_TEST_SLEEP_MS:-0} / 1000 }")"
awk -F'[=;]' '/^const X / { x = $2 } /^const Y / { y = $2 } END { printf "score: %.12g\\n", (x - 7) ^ 2 + 10 * (y - 0.3) ^ 2 }' knobs.js
`;

/** What measures a candidate: `node measure.js` (gate, noise and sleep), or `sh measure.sh` (sleep only, cheap to start). */
export type MeasureKind = "node" | "sh";

const MEASURES: Record<MeasureKind, { file: string; text: string; command: string }> = {
  node: { file: "measure.js", text: MEASURE, command: "node measure.js" },
  sh: { file: "measure.sh", text: MEASURE_SH, command: "sh measure.sh" },
};

export interface Study {
  root: string;
  db: string;
  remote: string;
  workers: string[];
  /** The directory a worker started with `{AUTORESEARCH_TEST_GATE: study.gate}` waits on; open it with openGate. */
  gate: string;
}

/** What makeStudy registers its clean-up with: a test's context, or a benchmark's list. */
export interface Cleanup {
  after(fn: () => unknown): void;
}

export interface StudyOptions {
  /** ledger.leaseSeconds (share init --lease). */
  leaseSeconds?: number;
  /** What measures a candidate (default "node"). */
  measure?: MeasureKind;
}

export async function cli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  return finished(child);
}

export function startWorker(dir: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [CLI, "run", "--json", ...args], { cwd: dir, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
}

export function finished(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => (stdout += chunk));
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

/** The study's project, not shared yet (a local ledger): the host's directory, committed, and the gate. */
export function makeProject(t: Cleanup, config: Record<string, unknown> = {}, measureKind: MeasureKind = "node"): { root: string; host: string; gate: string } {
  const measure = MEASURES[measureKind];
  const root = mkdtempSync(join(tmpdir(), "autoresearch-study-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const gate = join(root, "gate");
  mkdirSync(gate);
  const host = join(root, "host");
  mkdirSync(host);
  const files: Record<string, string> = {
    "knobs.js": knobsFile(3, 0.9),
    [measure.file]: measure.text,
    "program.md": "# Make score small\n",
    ".gitignore": "/.autoresearch/\n/results.tsv\n",
    "autoresearch.config.json": `${JSON.stringify({
      mutable: ["knobs.js"], protected: [measure.file], measure: { command: measure.command, timeoutSeconds: 120 },
      metric: { name: "score", direction: "min" }, devices: ["cpu"], slots: 1, killGraceSeconds: 1,
      proposer: { name: "search" }, acceptance: { policy: "greedy" },
      env: { pass: ["AUTORESEARCH_TEST_GATE", "AUTORESEARCH_TEST_NOISE", "AUTORESEARCH_TEST_SLEEP_MS"] }, sandbox: { readOnly: [gate] }, ...config,
    }, null, 2)}\n`,
  };
  for (const [path, content] of Object.entries(files)) writeFileSync(join(host, path), content);
  gitIn(host, "init", "-q", "-b", "main");
  gitIn(host, "add", "-A");
  gitIn(host, "-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "-qm", "init");
  return { root, host, gate };
}

/** The host's project shared as study "s" on `db`, and `workers` clones that joined it. */
export async function makeStudy(t: Cleanup, db: string, workers: number, config: Record<string, unknown> = {}, options: StudyOptions = {}): Promise<Study> {
  const { root, host, gate } = makeProject(t, config, options.measure);
  const remote = join(root, "remote.git");
  gitIn(root, "init", "-q", "--bare", remote);
  const lease = options.leaseSeconds === undefined ? [] : ["--lease", String(options.leaseSeconds)];
  const shared = await cli(["share", "init", "--db", db, "--remote", remote, "--study", "s", ...lease], host);
  if (shared.code !== 0) throw new Error(`share init failed (${shared.code}): ${shared.stderr}${shared.stdout}`);
  const dirs: string[] = [];
  for (let index = 0; index < workers; index++) {
    const dir = join(root, `worker-${index}`);
    const joined = await cli(["join", db, "--remote", remote, "--dir", dir], root);
    if (joined.code !== 0) throw new Error(`join failed (${joined.code}): ${joined.stderr}${joined.stdout}`);
    dirs.push(dir);
  }
  return { root, db, remote, workers: dirs, gate };
}

/** The worker id `join` saved in a worker's clone. */
export function workerId(dir: string): string {
  const id = savedWorkerId(join(dir, ".autoresearch"));
  if (id === null) throw new Error(`${dir} has no worker id: did it join the study?`);
  return id;
}

/** Lets every held candidate finish. */
export function openGate(study: Study): void {
  writeFileSync(join(study.gate, "open"), "");
}

export async function query<R extends pg.QueryResultRow>(db: string, sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** A row of the study's experiments table, as the tests select it (each selects the columns it needs). */
export interface StudyRow {
  worker: string;
  local_id: number;
  kind: string;
  status: string;
  decision: string | null;
  fenced: boolean;
  fingerprint: string | null;
  metric: number | null;
  best_before: number | null;
  parent_commit: string;
  candidate_commit: string | null;
  recorded_at: Date;
}

/** Checks every 50 ms, at most `steps` times, until `check` holds; fails naming `what` otherwise. Bounded by checks, not by a clock. */
export async function until(what: string, check: () => Promise<boolean>, steps: number): Promise<void> {
  for (let step = 0; step < steps; step++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`${what}: not within ${steps} checks`);
}
