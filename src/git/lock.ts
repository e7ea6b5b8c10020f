// Serialises the verbs that change shared repository state (worktrees, refs,
// commits), so parallel experiment slots in one process never race on git's lock files.
import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import { runGit } from "./exec.ts";

// cwd -> the repository's common git dir (shared by all its worktrees), which identifies the repository.
const repositoryOf = new Map<string, string>();
// repository -> the promise the next caller has to wait for.
const queueTail = new Map<string, Promise<void>>();

/** The repository's common git directory (resolved), looked up once per directory. */
export async function repositoryKey(cwd: string): Promise<string> {
  const absolute = resolve(cwd);
  const cached = repositoryOf.get(absolute);
  if (cached !== undefined) return cached;
  const { stdout } = await runGit(absolute, ["rev-parse", "--git-common-dir"]);
  const commonDir = resolve(absolute, stdout.trim());
  let key = commonDir;
  try {
    key = realpathSync(commonDir);
  } catch {
    // keep the resolved path
  }
  repositoryOf.set(absolute, key);
  return key;
}

/** Drops a cached lookup, e.g. when a worktree directory is removed (its path may be reused). */
export function forgetRepository(cwd: string): void {
  repositoryOf.delete(resolve(cwd));
}

/** Runs `task` once every earlier task for the same repository has finished. Not re-entrant. */
export async function withRepositoryLock<T>(cwd: string, task: () => Promise<T>): Promise<T> {
  const key = await repositoryKey(cwd);
  const previous = queueTail.get(key) ?? Promise.resolve();
  let release!: () => void;
  const done = new Promise<void>((resolveDone) => {
    release = resolveDone;
  });
  const tail = previous.then(() => done);
  queueTail.set(key, tail);
  await previous;
  try {
    return await task();
  } finally {
    release();
    if (queueTail.get(key) === tail) queueTail.delete(key);
  }
}
