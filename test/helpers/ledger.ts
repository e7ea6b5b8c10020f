// Shared pieces for ledger tests: temp state dirs, sample records, and child
// processes whose output lines can be awaited with a deadline.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { NewExperiment } from "../../src/ledger/sqlite.ts";
import type { SessionRecord } from "../../src/core/session.ts";

export function makeTempDir(prefix = "autoresearch-ledger-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A temp dir for one test. `defer` registers clean-ups (close a ledger, kill a child)
 * that run newest first when the test ends, before the dir is removed.
 */
export function useTempDir(t: { after: (fn: () => void) => void }): { dir: string; defer: (fn: () => void) => void } {
  const { dir, cleanup } = makeTempDir();
  const deferred: (() => void)[] = [];
  t.after(() => {
    for (const fn of deferred.reverse()) fn();
    cleanup();
  });
  return { dir, defer: (fn) => deferred.push(fn) };
}

export const COMMIT_A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
export const COMMIT_B = "b2c3d4e5f60718293a4b5c6d7e8f901234567890";

export function sampleSession(tag: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    tag,
    branch: `autoresearch/${tag}`,
    baseCommit: COMMIT_A,
    createdAt: "2025-03-01T10:00:00.000Z",
    config: { metric: { name: "val_bpb", direction: "min" }, budgetSeconds: 300 },
    bestCommit: COMMIT_A,
    bestMetric: null,
    bestExperimentId: null,
    noiseSigma: null,
    state: "running",
    stopReason: null,
    isolation: null,
    ...overrides,
  };
}

export function sampleExperiment(tag: string, overrides: Partial<NewExperiment> = {}): NewExperiment {
  return {
    tag,
    kind: "candidate",
    parentCommit: COMMIT_A,
    candidateCommit: COMMIT_B,
    proposer: "scripted",
    description: "raise the learning rate",
    device: "cpu",
    slot: 0,
    startedAt: "2025-03-01T10:05:00.000Z",
    ...overrides,
  };
}

/** A child process running a helper script with this Node, its stdout collected line by line. */
export interface ScriptChild {
  child: ChildProcess;
  lines: string[];
  /** Resolves once `predicate(lines)` holds; rejects at the deadline or if stdout ends first. */
  waitFor(predicate: (lines: string[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnScript(script: string, args: string[]): ScriptChild {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  const lines: string[] = [];
  let stderr = "";
  let ended = false;
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((listener) => listener());
  createInterface({ input: child.stdout! }).on("line", (line) => {
    lines.push(line);
    notify();
  }).on("close", () => {
    ended = true;
    notify();
  });
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })));

  function waitFor(predicate: (lines: string[]) => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = (error?: Error) => {
        clearTimeout(timer);
        listeners.delete(check);
        if (error) reject(error);
        else resolve();
      };
      const check = () => {
        if (predicate(lines)) finish();
        else if (ended) finish(new Error(`child output ended before ${what}; stderr: ${stderr}`));
      };
      const timer = setTimeout(() => finish(new Error(`timed out waiting for ${what}; stderr: ${stderr}`)), timeoutMs);
      listeners.add(check);
      check();
    });
  }
  return { child, lines, waitFor, exited };
}
