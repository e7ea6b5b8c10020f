// Running one git command: no shell, a clean environment, errors that say what ran.
import { execFile } from "node:child_process";
import { statSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { EnvironmentError } from "../errors.ts";

/** A git command failed. The message names the command, where it ran and what git said. */
export class GitError extends Error {
  readonly command: string;
  readonly cwd: string;
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(message: string, details: { command: string; cwd: string; exitCode: number | null; stderr: string }) {
    super(message);
    this.name = "GitError";
    this.command = details.command;
    this.cwd = details.cwd;
    this.exitCode = details.exitCode;
    this.stderr = details.stderr;
  }
}

/** A compare-and-swap ref update lost: the ref no longer points where the caller expected. */
export class RefConflictError extends GitError {
  constructor(error: GitError) {
    super(error.message, error);
    this.name = "RefConflictError";
  }
}

export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface GitOptions {
  /** Exit codes that are answers, not failures (e.g. 1 for `merge-base --is-ancestor`). */
  okExitCodes?: number[];
  /** Extra environment on top of the cleaned one. */
  env?: Record<string, string>;
  /** Retry while another process holds a `.lock` file (index.lock, a ref lock, config.lock). */
  retryOnLock?: boolean;
  /** Written to the command's stdin (e.g. a blob for `hash-object --stdin`). */
  input?: string;
}

// Variables that would point git somewhere other than `cwd` (set, e.g., when we run inside a git hook).
const REPO_OVERRIDES = [
  "GIT_DIR",
  "GIT_WORK_TREE",
  "GIT_INDEX_FILE",
  "GIT_OBJECT_DIRECTORY",
  "GIT_ALTERNATE_OBJECT_DIRECTORIES",
  "GIT_COMMON_DIR",
  "GIT_NAMESPACE",
  "GIT_PREFIX",
  "GIT_CEILING_DIRECTORIES",
];

const LOCK_CONTENTION = /Unable to create '[^']*\.lock': File exists|could not lock config file/;
const LOCK_RETRY_LIMIT_MS = 10_000;
const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

function gitEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of REPO_OVERRIDES) delete env[name];
  return {
    ...env,
    GIT_TERMINAL_PROMPT: "0", // never wait for a password nobody will type
    GIT_OPTIONAL_LOCKS: "0", // read-only commands must not take index.lock from under a concurrent writer
    LC_ALL: "C", // stable messages, which we match on
    ...extra,
  };
}

function describe(args: string[]): string {
  return `git ${args.map((arg) => (/^[\w@%+=:,./^{}~-]+$/.test(arg) ? arg : JSON.stringify(arg))).join(" ")}`;
}

function execOnce(cwd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  return new Promise((resolve, reject) => {
    const child = execFile("git", args, { cwd, env, maxBuffer: MAX_OUTPUT_BYTES, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error === null) return resolve({ stdout, stderr, exitCode: 0 });
      if (typeof error.code === "number") return resolve({ stdout, stderr, exitCode: error.code });
      if (error.code === "ENOENT") {
        return reject(new EnvironmentError("git was not found on PATH", "install git (2.30 or newer) and try again"));
      }
      reject(new GitError(`${describe(args)} could not run in ${cwd}: ${error.message}`, { command: describe(args), cwd, exitCode: null, stderr }));
    });
    child.stdin?.on("error", () => {}); // git exiting before it read everything is reported through its exit code
    child.stdin?.end(input ?? "");
  });
}

/** Runs `git <args>` in `cwd`; resolves for exit 0 (or an ok code), otherwise throws GitError. */
export async function runGit(cwd: string, args: string[], options: GitOptions = {}): Promise<GitResult> {
  const command = describe(args);
  let isDirectory = false;
  try {
    isDirectory = statSync(cwd).isDirectory();
  } catch {
    // reported below
  }
  if (!isDirectory) {
    throw new GitError(`${command}: the directory ${cwd} does not exist`, { command, cwd, exitCode: null, stderr: "" });
  }
  const env = gitEnv(options.env);
  const okExitCodes = options.okExitCodes ?? [];
  const giveUpAt = Date.now() + LOCK_RETRY_LIMIT_MS;
  for (let attempt = 1; ; attempt++) {
    const result = await execOnce(cwd, args, env, options.input);
    if (result.exitCode === 0 || okExitCodes.includes(result.exitCode)) return result;
    if (options.retryOnLock && LOCK_CONTENTION.test(result.stderr) && Date.now() < giveUpAt) {
      // Another process (an IDE, a user's git command) holds a lock; it is usually released within milliseconds.
      await delay(Math.min(25 * attempt, 250));
      continue;
    }
    const said = result.stderr.trim() || result.stdout.trim() || "(no output)";
    throw new GitError(`${command} failed in ${cwd} (exit ${result.exitCode}): ${said}`, {
      command,
      cwd,
      exitCode: result.exitCode,
      stderr: result.stderr,
    });
  }
}

/** Refuses revisions that git would read as options. */
export function assertRevision(rev: string): void {
  if (rev === "" || rev.startsWith("-")) throw new Error(`not a git revision: ${JSON.stringify(rev)}`);
}

/** update-ref happily creates `./main` from a short name; demand the full ref name. */
export function assertFullRef(ref: string): void {
  if (!(ref.startsWith("refs/") || ref === "HEAD")) {
    throw new Error(`expected a full ref name such as refs/heads/main, got ${JSON.stringify(ref)}`);
  }
}
