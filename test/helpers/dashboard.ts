// Fixtures for the dashboard tests and benchmark: ledgers filled through the real Ledger API
// with a known mix of outcomes, and CLI processes whose printed dashboard URL can be awaited.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Ledger } from "../../src/ledger/sqlite.ts";
import type { ExperimentKind, ExperimentStatus, RanOn } from "../../src/core/experiment.ts";
import { CLI } from "./project.ts";

export interface SeedRow {
  kind?: ExperimentKind;
  status: Exclude<ExperimentStatus, "running">;
  decision?: "keep" | "discard";
  metric?: number;
  heldOut?: number;
  description?: string;
  diff?: string;
}

/** The same edit every seeded candidate shows: a learning rate change in a Python file. */
export function sampleDiff(n: number): string {
  return `diff --git a/train.py b/train.py\n--- a/train.py\n+++ b/train.py\n@@ -1,3 +1,3 @@\n import torch\n-LEARNING_RATE = 0.001\n+LEARNING_RATE = ${(0.001 + n / 10000).toFixed(4)}\n EPOCHS = 3\n`;
}

/**
 * A session `tag` in `<stateDir>/ledger.db` holding `rows` in order, each with a log file.
 * Returns the experiment ids.
 */
export function seedSession(stateDir: string, tag: string, rows: readonly SeedRow[], options: { startMs?: number; state?: "running" | "stopped"; ranOn?: (index: number) => RanOn } = {}): number[] {
  const ledger = Ledger.open(stateDir);
  const logs = join(stateDir, "logs");
  mkdirSync(logs, { recursive: true });
  const startMs = options.startMs ?? Date.parse("2025-03-05T22:00:00.000Z");
  const commit = "c".repeat(40);
  ledger.createSession({
    tag, branch: `autoresearch/${tag}`, baseCommit: commit, createdAt: new Date(startMs).toISOString(),
    config: { name: "seeded study", metric: { name: "val_bpb", direction: "min", heldOut: "test_bpb" }, budgetSeconds: 300, slots: 1 },
    bestCommit: commit, bestMetric: null, bestExperimentId: null, noiseSigma: null, state: "running", stopReason: null, isolation: null,
  });
  const ids: number[] = [];
  let best: number | null = null;
  let bestId: number | null = null;
  rows.forEach((row, index) => {
    const kind = row.kind ?? "candidate";
    const description = row.description ?? (kind === "baseline" ? "baseline (unchanged code)" : `candidate ${index}: learning rate nudge`);
    const id = ledger.startExperiment({
      tag, kind, parentCommit: commit, proposer: kind === "candidate" ? "search" : "harness", description, hypothesis: kind === "candidate" ? `hypothesis ${index}` : "",
      diff: row.diff ?? (kind === "candidate" ? sampleDiff(index) : ""), device: "cpu", slot: 0, startedAt: new Date(startMs + index * 330_000).toISOString(),
    });
    const logPath = join(logs, `${id}.log`);
    writeFileSync(logPath, `--- train: python train.py\nstep 100 loss 3.2\nlog line of experiment ${id}\n`);
    if (row.decision === "keep" && row.metric !== undefined) {
      best = row.metric;
      bestId = id;
    }
    if (kind === "baseline" && row.metric !== undefined && best === null) best = row.metric;
    ledger.finishExperiment(id, {
      status: row.status, decision: row.decision ?? null, metric: row.metric ?? null, heldOutMetric: row.heldOut ?? null, logPath,
      reason: row.status === "ok" ? null : `${row.status}: simulated`, rationale: row.decision ? `${row.decision}: seeded` : null,
      delta: row.metric !== undefined && best !== null && kind === "candidate" ? row.metric - best : null,
      secondary: { tokens_per_second: 1000 + index }, timings: { totalMs: 300_000 }, ...(options.ranOn ? { ranOn: options.ranOn(index) } : {}), finishedAt: new Date(startMs + index * 330_000 + 300_000).toISOString(),
    }, { bestMetric: best, bestExperimentId: bestId, state: options.state ?? "stopped", noiseSigma: 0.002 });
    ids.push(id);
  });
  ledger.close();
  return ids;
}

/** A session with every kind of mark: 2 baselines, keeps, discards, failures. Counts below. */
export const MIXED_ROWS: SeedRow[] = [
  { kind: "baseline", status: "ok", metric: 1.5, heldOut: 1.52 },
  { kind: "baseline", status: "ok", metric: 1.502, heldOut: 1.521 },
  { status: "ok", decision: "keep", metric: 1.46, heldOut: 1.48 },
  { status: "ok", decision: "discard", metric: 1.49, heldOut: 1.5 },
  { status: "crash" },
  { status: "ok", decision: "discard", metric: 1.47, heldOut: 1.49 },
  { status: "ok", decision: "keep", metric: 1.42, heldOut: 1.45 },
  { status: "rejected" },
  { status: "ok", decision: "discard", metric: 1.44, heldOut: 1.46 },
  { status: "timeout" },
  { status: "ok", decision: "keep", metric: 1.39, heldOut: 1.43 },
  { status: "ok", decision: "discard", metric: 1.45, heldOut: 1.47 },
];
export const MIXED_COUNTS = { baseline: 2, kept: 3, discarded: 4, confirmation: 0, failed: 3 };

/** Rows for scale tests: mostly discards, a keep every 50, a crash every 37. */
export function manyRows(count: number): SeedRow[] {
  return Array.from({ length: count }, (_, i): SeedRow => {
    if (i < 2) return { kind: "baseline", status: "ok", metric: 2, heldOut: 2.01 };
    if (i % 37 === 0) return { status: "crash" };
    const metric = 2 - Math.log1p(i) / 20 + ((i * 7919) % 100) / 2000;
    return { status: "ok", decision: i % 50 === 0 ? "keep" : "discard", metric, heldOut: metric + 0.01 };
  });
}

/** A CLI process; resolves with the dashboard URL it prints (stdout or stderr). Killed when `cleanup` runs. */
export function spawnWithUrl(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): { child: ChildProcess; url: Promise<string>; output: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no dashboard URL within ${options.timeoutMs ?? 60_000} ms; output:\n${output}`)), options.timeoutMs ?? 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing a dashboard URL; output:\n${output}`));
    });
  });
  url.catch(() => undefined); // observed by the test that awaits it
  return { child, url, output: () => output };
}

/** Resolves with the exit code; kills the process (SIGTERM) if it outlives `timeoutMs`. */
export function exitOf(child: ChildProcess, timeoutMs = 120_000): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}
