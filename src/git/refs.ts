// Verbs that move refs. Serialised per repository; update-ref itself is atomic, and the
// optional expected old value turns it into a compare-and-swap across processes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { assertFullRef, assertRevision, GitError, RefConflictError, runGit } from "./exec.ts";
import { repositoryKey, withRepositoryLock } from "./lock.ts";
import { revParse } from "./query.ts";

// What update-ref says when the ref is not where the caller expected it.
const STALE_REF = /is at [0-9a-f]+ but expected|reference already exists|unable to resolve reference|reference is missing/i;

async function updateRefCommand(cwd: string, args: string[]): Promise<void> {
  try {
    await runGit(cwd, args, { retryOnLock: true });
  } catch (error) {
    if (error instanceof GitError && STALE_REF.test(error.stderr)) throw new RefConflictError(error);
    throw error;
  }
}

/** Creates branch `name` at `commit`; fails if it already exists. */
export async function createBranch(cwd: string, name: string, commit: string): Promise<void> {
  assertRevision(name);
  assertRevision(commit);
  await withRepositoryLock(cwd, () => runGit(cwd, ["branch", "--no-track", name, commit], { retryOnLock: true }));
}

/**
 * Points `ref` (a full name, e.g. refs/heads/autoresearch/run1) at `newCommit`.
 * With `expectedOld` the update only happens if the ref is still there (a compare-and-swap);
 * otherwise it throws RefConflictError. An all-zero `expectedOld` means "must not exist yet".
 */
export async function updateRef(cwd: string, ref: string, newCommit: string, expectedOld?: string): Promise<void> {
  assertFullRef(ref);
  assertRevision(newCommit);
  const args = ["update-ref", "-m", "autoresearch", ref, newCommit];
  if (expectedOld !== undefined) {
    assertRevision(expectedOld);
    args.push(expectedOld);
  }
  await withRepositoryLock(cwd, () => updateRefCommand(cwd, args));
}

/** Deletes `ref` (a full name); deleting a ref that does not exist is not an error. */
export async function deleteRef(cwd: string, ref: string, expectedOld?: string): Promise<void> {
  assertFullRef(ref);
  const args = ["update-ref", "-m", "autoresearch", "-d", ref];
  if (expectedOld !== undefined) {
    assertRevision(expectedOld);
    args.push(expectedOld);
  }
  await withRepositoryLock(cwd, () => updateRefCommand(cwd, args));
}

/** Creates branch `name` at HEAD and makes it the checked-out branch (the working tree stays as it is). */
export async function switchToNewBranch(cwd: string, name: string): Promise<void> {
  assertRevision(name);
  await withRepositoryLock(cwd, () => runGit(cwd, ["switch", "--quiet", "--create", name], { retryOnLock: true }));
}

const LOOSE_REF = /^[0-9a-f]{40}\n$/;

/**
 * The object a branch (a full name under refs/heads/) points at, or null when there is none. A loose
 * ref, which is what update-ref writes, is read from its file (renamed into place whole, so never half
 * written); anything else (a packed or symbolic ref, another ref storage, sha256) is asked of git.
 */
export async function readBranchRef(cwd: string, ref: string): Promise<string | null> {
  assertFullRef(ref);
  if (ref.startsWith("refs/heads/") && !ref.split("/").includes("..")) {
    try {
      const text = readFileSync(join(await repositoryKey(cwd), ref), "utf8");
      if (LOOSE_REF.test(text)) return text.slice(0, 40);
    } catch {
      // not a loose ref: git knows where it is
    }
  }
  return revParse(cwd, ref);
}
