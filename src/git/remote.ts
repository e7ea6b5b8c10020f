// Verbs that talk to a remote repository (the shared study's, #11), by URL: the project's own remotes
// and config are left alone. Connections go out only (fetch, push, ls-remote); nothing listens.
import { assertFullRef, assertRevision, GitError, runGit } from "./exec.ts";

/** Thrown when --force-with-lease finds the remote ref elsewhere than expected. */
export class StaleLeaseError extends GitError {
  constructor(error: GitError) {
    super(error.message, error);
    this.name = "StaleLeaseError";
  }
}

/** Where `ref` points on the remote, or null when it does not exist there. */
export async function remoteRef(cwd: string, remote: string, ref: string): Promise<string | null> {
  assertFullRef(ref);
  const { stdout } = await runGit(cwd, ["ls-remote", "--", remote, ref]);
  const line = stdout.split("\n").find((each) => each.endsWith(`\t${ref}`));
  return line ? line.split("\t")[0]! : null;
}

/** Pushes `commit` to `ref` on the remote, creating or fast-forwarding nothing else (the ref is ours alone). */
export async function pushCommit(cwd: string, remote: string, commit: string, ref: string): Promise<void> {
  assertRevision(commit);
  assertFullRef(ref);
  await runGit(cwd, ["push", "--quiet", "--force", "--", remote, `${commit}:${ref}`]);
}

/**
 * Moves `ref` on the remote to `commit` only if it still points at `expected` there (null: must not exist),
 * whatever the ancestry. Throws StaleLeaseError when someone else moved it meanwhile.
 */
export async function pushWithLease(cwd: string, remote: string, commit: string, ref: string, expected: string | null): Promise<void> {
  assertRevision(commit);
  assertFullRef(ref);
  try {
    await runGit(cwd, ["push", "--quiet", `--force-with-lease=${ref}:${expected ?? ""}`, "--", remote, `${commit}:${ref}`]);
  } catch (error) {
    if (error instanceof GitError && /stale info|rejected|fetch first/i.test(error.stderr)) throw new StaleLeaseError(error);
    throw error;
  }
}

/** Fetches the remote's `ref` into the local `localRef` (which keeps it reachable); returns the commit. */
export async function fetchRef(cwd: string, remote: string, ref: string, localRef: string): Promise<string> {
  assertFullRef(ref);
  assertFullRef(localRef);
  await runGit(cwd, ["fetch", "--quiet", "--no-tags", "--", remote, `+${ref}:${localRef}`], { retryOnLock: true });
  const { stdout } = await runGit(cwd, ["rev-parse", "--verify", `${localRef}^{commit}`]);
  return stdout.trim();
}

/** Clones `branch` of the remote into `dir`. */
export async function cloneBranch(parentDir: string, remote: string, branch: string, dir: string): Promise<void> {
  assertRevision(branch);
  await runGit(parentDir, ["clone", "--quiet", "--branch", branch, "--", remote, dir]);
}
