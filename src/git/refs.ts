// Verbs that move refs. Serialised per repository; update-ref itself is atomic, and the
// optional expected old value turns it into a compare-and-swap across processes.
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
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

// repository (common git dir) -> whether its refs are plain files that nothing else must hear about.
const looseRefsWritable = new Map<string, Promise<boolean>>();

/** Files ref storage, sha1 ids and no reflog for refs outside heads/remotes/notes: what writeLooseRef needs. */
function canWriteLooseRefs(cwd: string, key: string): Promise<boolean> {
  let known = looseRefsWritable.get(key);
  if (known === undefined) {
    known = runGit(cwd, ["config", "--get-regexp", "^(extensions\\.refstorage|extensions\\.objectformat|core\\.logallrefupdates)$"], { okExitCodes: [1] })
      .then(({ stdout }) => stdout.split("\n").every((line) => {
        const [name, value = ""] = line.trim().toLowerCase().split(/\s+/, 2);
        if (name === undefined || name === "") return true;
        if (name === "extensions.refstorage") return value === "files";
        if (name === "extensions.objectformat") return value === "sha1";
        return value !== "always";
      }), () => false);
    looseRefsWritable.set(key, known);
  }
  return known;
}

/**
 * Points a new ref under refs/autoresearch/ at `commit` as git's files backend does it — `<ref>.lock`
 * created exclusively, written whole, renamed into place — without starting a process (one fewer per
 * experiment). Where that is not how this repository keeps refs (reftable, sha256, reflogs for every
 * ref), where git holds the lock, or where the path is taken by another ref's directory or file, git's
 * own update-ref does it. Like update-ref without an old value, an existing ref is overwritten.
 */
export async function writeLooseRef(cwd: string, ref: string, commit: string): Promise<void> {
  assertFullRef(ref);
  assertRevision(commit);
  const key = await repositoryKey(cwd);
  const plain = ref.startsWith("refs/autoresearch/") && /^[0-9a-f]{40}$/.test(commit)
    && ref.split("/").every((part) => part !== "" && part !== "." && part !== ".." && !part.endsWith(".lock"));
  if (!plain || !(await canWriteLooseRefs(cwd, key))) return updateRef(cwd, ref, commit);
  const written = await withRepositoryLock(cwd, async () => {
    const path = join(key, ref);
    const lock = `${path}.lock`;
    let fd: number;
    try {
      mkdirSync(dirname(path), { recursive: true });
      fd = openSync(lock, "wx", 0o666);
    } catch {
      return false; // git holds the lock, or a ref is where a directory must be: let git say which
    }
    try {
      try {
        writeSync(fd, `${commit}\n`);
      } finally {
        closeSync(fd);
      }
      renameSync(lock, path);
      return true;
    } catch {
      rmSync(lock, { force: true });
      return false;
    }
  });
  if (!written) await updateRef(cwd, ref, commit);
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
