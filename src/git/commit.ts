// Committing on the harness's behalf: a fixed identity, no signing, no hooks, so a
// user's git setup (a failing pre-commit hook, gpgsign=true) never blocks the loop.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertRevision, GitError, runGit } from "./exec.ts";
import { withRepositoryLock } from "./lock.ts";
import { writeCommitOnParent } from "./objects.ts";
import { revParse } from "./query.ts";

export const HARNESS_NAME = "autoresearch";
export const HARNESS_EMAIL = "autoresearch@localhost";

/** `-c` settings for commands that would otherwise run the user's hooks or signing. */
export const NO_HOOKS_CONFIG = ["-c", "core.hooksPath=/dev/null"];
const COMMIT_CONFIG = [
  "-c", `user.name=${HARNESS_NAME}`,
  "-c", `user.email=${HARNESS_EMAIL}`,
  "-c", "commit.gpgsign=false",
  // No automatic gc or maintenance: commits from several worktrees run at once (see commitAll).
  "-c", "gc.auto=0",
  "-c", "maintenance.auto=false",
  ...NO_HOOKS_CONFIG,
];
// The environment outranks config for identity, so pin it there too.
const COMMIT_ENV = {
  GIT_AUTHOR_NAME: HARNESS_NAME,
  GIT_AUTHOR_EMAIL: HARNESS_EMAIL,
  GIT_COMMITTER_NAME: HARNESS_NAME,
  GIT_COMMITTER_EMAIL: HARNESS_EMAIL,
};

async function commitStaged(dir: string, message: string, allowEmpty: boolean): Promise<string> {
  const args = [...COMMIT_CONFIG, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message];
  if (allowEmpty) args.push("--allow-empty");
  await runGit(dir, args, { env: COMMIT_ENV, retryOnLock: true });
  const commit = await revParse(dir, "HEAD^{commit}");
  if (commit === null) throw new Error(`git commit in ${dir} reported success but HEAD has no commit`);
  return commit;
}

/**
 * Stages everything in the working tree (new files, edits, deletions; ignored files stay out)
 * and commits it. Returns the new commit. Throws GitError if there is nothing to commit.
 * Not serialised with the repository lock: in a worktree on a detached HEAD a commit writes only
 * new objects (atomic renames) and that worktree's own index and HEAD, so slots commit in parallel.
 */
export async function commitAll(worktreeDir: string, message: string): Promise<string> {
  await runGit(worktreeDir, ["add", "--all"], { retryOnLock: true });
  const staged = await runGit(worktreeDir, ["diff", "--cached", "--quiet"], { okExitCodes: [1] });
  if (staged.exitCode === 0) {
    const command = "git commit";
    throw new GitError(`${command}: nothing to commit in ${worktreeDir}; the files are identical to HEAD`, {
      command,
      cwd: worktreeDir,
      exitCode: null,
      stderr: "",
    });
  }
  return commitStaged(worktreeDir, message, false);
}

/**
 * A commit of `parent` with `files` (path → new content) replaced or added, written without a
 * worktree. It writes only new objects, so it needs no lock on the repository and slots build
 * candidates in parallel. A file keeps its mode (an executable stays executable); new files are 100644.
 * Written here without starting git where objects.ts can (a candidate a few milliseconds instead of six
 * git processes), otherwise with a private index (read-tree, update-index, write-tree) and commit-tree.
 */
export async function commitFiles(repo: string, parent: string, files: Record<string, string>, message: string): Promise<{ commit: string; tree: string }> {
  assertRevision(parent);
  const written = await writeCommitOnParent(repo, parent, files, message, { name: HARNESS_NAME, email: HARNESS_EMAIL });
  return written ?? commitFilesWithGit(repo, parent, files, message);
}

async function commitFilesWithGit(repo: string, parent: string, files: Record<string, string>, message: string): Promise<{ commit: string; tree: string }> {
  const indexDir = mkdtempSync(join(tmpdir(), "autoresearch-index-"));
  const env = { GIT_INDEX_FILE: join(indexDir, "index") };
  try {
    await runGit(repo, ["read-tree", parent], { env });
    const paths = Object.keys(files).sort();
    const modes = new Map<string, string>();
    if (paths.length > 0) {
      const listed = await runGit(repo, ["ls-tree", "-z", parent, "--", ...paths]);
      for (const entry of listed.stdout.split("\0").filter(Boolean)) {
        const tab = entry.indexOf("\t");
        modes.set(entry.slice(tab + 1), entry.split(" ")[0]!);
      }
    }
    const lines: string[] = [];
    for (const path of paths) {
      const blob = (await runGit(repo, ["hash-object", "-w", "--no-filters", "--stdin"], { input: files[path] })).stdout.trim();
      const mode = modes.get(path) === "100755" ? "100755" : "100644";
      lines.push(`${mode} ${blob}\t${path}`);
    }
    if (lines.length > 0) await runGit(repo, ["update-index", "--add", "--index-info"], { env, input: `${lines.join("\n")}\n` });
    const tree = (await runGit(repo, ["write-tree"], { env })).stdout.trim();
    const commit = (await runGit(repo, [...COMMIT_CONFIG, "commit-tree", "--no-gpg-sign", tree, "-p", parent, "-m", message], { env: COMMIT_ENV })).stdout.trim();
    return { commit, tree };
  } finally {
    rmSync(indexDir, { recursive: true, force: true });
  }
}

/** Creates a repository in `dir` (made if missing) whose first branch is `main`. */
export async function initRepo(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await runGit(dir, ["init", "--quiet", "--initial-branch=main"]);
}

/** The project's first commit: everything in `dir`, even if that is nothing. Returns the commit. */
export async function commitInitial(dir: string, message: string): Promise<string> {
  return withRepositoryLock(dir, async () => {
    await runGit(dir, ["add", "--all"], { retryOnLock: true });
    return commitStaged(dir, message, true);
  });
}

/**
 * Commits exactly `paths` (relative to `dir`, added or changed) on the current branch, nothing else that
 * may be staged or changed: `init --here` adds its own files to a user's repository.
 */
export async function commitPaths(dir: string, paths: readonly string[], message: string): Promise<string> {
  return withRepositoryLock(dir, async () => {
    await runGit(dir, ["add", "--", ...paths], { retryOnLock: true });
    const args = [...COMMIT_CONFIG, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message, "--", ...paths];
    await runGit(dir, args, { env: COMMIT_ENV, retryOnLock: true });
    const commit = await revParse(dir, "HEAD^{commit}");
    if (commit === null) throw new Error(`git commit in ${dir} reported success but HEAD has no commit`);
    return commit;
  });
}
