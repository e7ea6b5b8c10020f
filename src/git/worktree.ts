// Experiment worktrees: one detached checkout per experiment, sharing the repository's objects.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { assertRevision, runGit } from "./exec.ts";
import { NO_HOOKS_CONFIG } from "./commit.ts";
import { forgetRepository, withRepositoryLock } from "./lock.ts";

export interface WorktreeEntry {
  path: string;
  /** The checked-out commit (all zeros for a branch with no commit yet). */
  head: string;
  detached: boolean;
  /** The checked-out branch's full ref name, or null when detached. */
  branch: string | null;
}

/** Checks out `commit` at `path` with a detached HEAD (the user's post-checkout hooks are not run). */
export async function addWorktree(cwd: string, path: string, commit: string): Promise<void> {
  assertRevision(commit);
  const target = resolve(cwd, path);
  await withRepositoryLock(cwd, () =>
    // --force: a registration left behind by a deleted directory must not block reusing the path.
    runGit(cwd, [...NO_HOOKS_CONFIG, "worktree", "add", "--quiet", "--force", "--detach", target, commit], { retryOnLock: true }),
  );
}

/**
 * Points an existing worktree at `commit` and makes its files exactly the commit's: changed files
 * rewritten, everything untracked or ignored removed (`clean: false` when nothing could have written
 * there, e.g. every phase ran read-only in the sandbox). Touches only that worktree's HEAD and index,
 * so it needs no repository lock: a slot's persistent checkout is reset while others run.
 */
export async function resetWorktree(path: string, commit: string, options: { clean?: boolean } = {}): Promise<void> {
  assertRevision(commit);
  await runGit(path, [...NO_HOOKS_CONFIG, "checkout", "--quiet", "--detach", "--force", commit], { retryOnLock: true });
  if (options.clean ?? true) await runGit(path, ["clean", "-ffdxq"]);
}

/** Removes the worktree at `path`, discarding its changes; a directory already deleted is fine. */
export async function removeWorktree(cwd: string, path: string): Promise<void> {
  const target = resolve(cwd, path);
  await withRepositoryLock(cwd, async () => {
    if (existsSync(target)) {
      // Twice --force: also remove worktrees that are locked or have untracked files.
      await runGit(cwd, ["worktree", "remove", "--force", "--force", target], { retryOnLock: true });
    } else {
      await runGit(cwd, ["worktree", "prune"], { retryOnLock: true });
    }
  });
  forgetRepository(target);
}

/** Forgets worktrees whose directories no longer exist. */
export async function pruneWorktrees(cwd: string): Promise<void> {
  await withRepositoryLock(cwd, () => runGit(cwd, ["worktree", "prune"], { retryOnLock: true }));
}

/** All worktrees of the repository, the main one first. */
export async function listWorktrees(cwd: string): Promise<WorktreeEntry[]> {
  const { stdout } = await runGit(cwd, ["worktree", "list", "--porcelain"]);
  const entries: WorktreeEntry[] = [];
  for (const block of stdout.split("\n\n")) {
    const entry: WorktreeEntry = { path: "", head: "", detached: false, branch: null };
    for (const line of block.split("\n")) {
      const space = line.indexOf(" ");
      const key = space === -1 ? line : line.slice(0, space);
      const value = space === -1 ? "" : line.slice(space + 1);
      if (key === "worktree") entry.path = value;
      else if (key === "HEAD") entry.head = value;
      else if (key === "branch") entry.branch = value;
      else if (key === "detached") entry.detached = true;
    }
    if (entry.path !== "") entries.push(entry);
  }
  return entries;
}
