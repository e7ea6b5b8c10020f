// Few typed errors, one exit-code table, one top-level catch (src/cli/main.ts).
import { statfsSync } from "node:fs";

export const EXIT = {
  ok: 0,
  failure: 1,       // unexpected error (a bug): the stack is printed
  usage: 2,         // bad flags or arguments
  config: 3,        // the config file or project is wrong
  environment: 4,   // a tool is missing (git, node, python) or the machine can't do it
  paused: 5,        // the session paused itself (K consecutive failures, proposer down)
  interrupted: 130, // Ctrl-C
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the user can act on: printed as one line (plus an optional hint), no stack. */
export class UserError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  constructor(message: string, options: { exitCode?: ExitCode; hint?: string } = {}) {
    super(message);
    this.name = "UserError";
    this.exitCode = options.exitCode ?? EXIT.failure;
    this.hint = options.hint;
  }
}

export class UsageError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: EXIT.usage, hint });
    this.name = "UsageError";
  }
}

export class ConfigError extends UserError {
  /** Each problem as "file: path.to.field: what is wrong, what was expected". */
  readonly problems: string[];
  constructor(problems: string[], hint?: string) {
    super(problems.join("\n"), { exitCode: EXIT.config, hint });
    this.name = "ConfigError";
    this.problems = problems;
  }
}

export class EnvironmentError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: EXIT.environment, hint });
    this.name = "EnvironmentError";
  }
}

const DISK_FULL = /no space left on device|disk quota exceeded|database or disk is full|ENOSPC|EDQUOT/i;
const READ_ONLY = /read-only file system|attempt to write a readonly database|EROFS/i;
const NO_PERMISSION = /permission denied|operation not permitted|EACCES|EPERM/i;
// SQLite primary result codes (node:sqlite puts them on `errcode`).
const SQLITE_READONLY = 8;
const SQLITE_FULL = 13;

// Below this much free space, a failure to write is taken for a full disk even when the tool (git) did not say so.
const NEARLY_FULL_BYTES = 1024 * 1024;

/** environmentErrorFrom, or a full-disk EnvironmentError when `dir`'s file system has (almost) no space left. */
export function environmentErrorAt(error: unknown, dir: string): EnvironmentError | null {
  const known = environmentErrorFrom(error);
  if (known || error instanceof UserError) return known;
  let free: number;
  try {
    const stats = statfsSync(dir);
    free = stats.bavail * stats.bsize;
  } catch {
    return null;
  }
  return free < NEARLY_FULL_BYTES ? environmentErrorFrom(Object.assign(new Error(`${(error as Error)?.message ?? String(error)} (${free} bytes free under ${dir})`), { code: "ENOSPC" })) : null;
}

/**
 * A failure to write the harness's own files (full disk, quota, read-only or unwritable directory)
 * as an EnvironmentError that says what to do; null for anything else. Node errors carry `code`,
 * node:sqlite errors `errcode`, git's only say it in their message.
 */
export function environmentErrorFrom(error: unknown): EnvironmentError | null {
  if (error instanceof EnvironmentError) return error;
  if (!(error instanceof Error) || error instanceof UserError) return null;
  const { code, errcode } = error as Error & { code?: unknown; errcode?: unknown };
  const sqlite = typeof errcode === "number" ? errcode & 0xff : null;
  const text = `${typeof code === "string" ? code : ""} ${error.message}`;
  if (code === "ENOSPC" || code === "EDQUOT" || sqlite === SQLITE_FULL || DISK_FULL.test(text)) {
    return new EnvironmentError(
      `the disk is full (${error.message})`,
      "Free space on the disk that holds the project's .autoresearch/ (run outputs are under .autoresearch/runs/; the `outputs` setting keeps fewer), " +
        "then run `autoresearch run` again: the session resumes, and experiments that were running are recorded as interrupted.",
    );
  }
  if (code === "EROFS" || sqlite === SQLITE_READONLY || READ_ONLY.test(text)) {
    return new EnvironmentError(
      `cannot write: the file system is read-only (${error.message})`,
      "autoresearch keeps its ledger, logs and worktrees under .autoresearch/ in the project and must write there: run it where that directory is writable.",
    );
  }
  if (code === "EACCES" || code === "EPERM" || NO_PERMISSION.test(text)) {
    return new EnvironmentError(
      `cannot write: permission denied (${error.message})`,
      "Check the owner and permissions of the project and its .autoresearch/ directory (the ledger, logs and worktrees are written there).",
    );
  }
  return null;
}
