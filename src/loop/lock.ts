// One harness per project at a time. A lock left by a killed harness (its pid is gone) is taken over.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import type { SessionState } from "../core/session.ts";
import { UserError, EXIT } from "../errors.ts";

export function acquireRunLock(lockFile: string): () => void {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(lockFile, `${process.pid}\n`, { flag: "wx" });
      return () => rmSync(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number.parseInt(readFileSync(lockFile, "utf8"), 10);
      if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
        throw new UserError(`another autoresearch run (pid ${holder}) is already running in this project`, {
          exitCode: EXIT.environment,
          hint: `Watch it with \`autoresearch status\`, or stop it (kill ${holder}) before starting another.`,
        });
      }
      rmSync(lockFile, { force: true });
    }
  }
  throw new UserError(`could not take the run lock ${lockFile}`, { hint: "Remove the file if no autoresearch run is active." });
}

/** Adds the session's tag to the lock we hold, so `status` of another tag does not call itself running. */
export function recordLockTag(lockFile: string, tag: string): void {
  writeFileSync(lockFile, `${process.pid}\n${tag}\n`);
}

/** The pid of a live harness holding the lock (for `tag`, when given and the lock names one), or null. */
export function lockHolder(lockFile: string, tag?: string): number | null {
  try {
    const [pidText = "", lockedTag = ""] = readFileSync(lockFile, "utf8").split("\n");
    const pid = Number.parseInt(pidText, 10);
    if (tag !== undefined && lockedTag !== "" && lockedTag !== tag) return null;
    return Number.isInteger(pid) && isAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/**
 * A session's state as views show it: "running" only while a live harness holds the lock for it; one the
 * ledger still calls running without such a harness was killed, and shows as "stopped" (a run resumes it).
 */
export function sessionState(recorded: SessionState, holder: number | null): SessionState {
  if (holder !== null) return "running";
  return recorded === "running" ? "stopped" : recorded;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
