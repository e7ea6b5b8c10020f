// Re-applying changes: the tree of a commit with other commits' diffs applied (or reverted), built
// in a private index like commitFiles, so neither the user's checkout nor the repository's index moves.
// `finalize` builds "the best without one change" and its clean branch with it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HARNESS_EMAIL, HARNESS_NAME, NO_HOOKS_CONFIG } from "./commit.ts";
import { assertRevision, GitError, runGit } from "./exec.ts";

/** One change to apply: the diff from `from` to `to` (a commit and its parent), or its reverse. */
export interface ChangeStep {
  from: string;
  to: string;
  reverse?: boolean;
}

// A patch git apply reads back whatever the user's diff settings (colour, external diff tools, textconv).
const PATCH_DIFF = ["--no-color", "--no-ext-diff", "--no-textconv", "--no-relative", "--binary", "--full-index", "--no-renames"];

export type AppliedTree = { tree: string } | { failedStep: number; message: string };

/**
 * The tree of `onto` with `steps` applied in order. A diff that does not apply with its full context
 * is tried again line by line (no context: changes to neighbouring lines, such as two knobs declared on
 * adjacent lines, are independent); if that fails too, the answer names the step and git's words.
 */
export async function treeWithChanges(repo: string, onto: string, steps: readonly ChangeStep[]): Promise<AppliedTree> {
  assertRevision(onto);
  const indexDir = mkdtempSync(join(tmpdir(), "autoresearch-apply-"));
  const env = { GIT_INDEX_FILE: join(indexDir, "index") };
  try {
    await runGit(repo, ["read-tree", onto], { env });
    for (const [index, step] of steps.entries()) {
      assertRevision(step.from);
      assertRevision(step.to);
      const reverse = step.reverse ? ["--reverse"] : [];
      const whole = await runGit(repo, ["diff", ...PATCH_DIFF, step.from, step.to]);
      const applied = await apply(repo, env, [...reverse], whole.stdout);
      if (applied === null) continue;
      const lines = await runGit(repo, ["diff", ...PATCH_DIFF, "-U0", step.from, step.to]);
      const byLine = await apply(repo, env, [...reverse, "--unidiff-zero"], lines.stdout);
      if (byLine !== null) return { failedStep: index, message: applied };
    }
    return { tree: (await runGit(repo, ["write-tree"], { env })).stdout.trim() };
  } finally {
    rmSync(indexDir, { recursive: true, force: true });
  }
}

/** Applies a patch to the private index; null when it applied, else git's reason. */
async function apply(repo: string, env: Record<string, string>, flags: string[], patch: string): Promise<string | null> {
  if (patch === "") return null;
  try {
    await runGit(repo, ["apply", "--cached", "--binary", ...flags], { env, input: patch });
    return null;
  } catch (error) {
    if (!(error instanceof GitError)) throw error;
    return error.stderr.trim().split("\n")[0] || error.message;
  }
}

/** A commit of `tree` on `parent` under the harness's name, without hooks or signing (finalize's clean branch). */
export async function commitTree(repo: string, tree: string, parent: string, message: string): Promise<string> {
  assertRevision(tree);
  assertRevision(parent);
  const identity = { GIT_AUTHOR_NAME: HARNESS_NAME, GIT_AUTHOR_EMAIL: HARNESS_EMAIL, GIT_COMMITTER_NAME: HARNESS_NAME, GIT_COMMITTER_EMAIL: HARNESS_EMAIL };
  const args = [...NO_HOOKS_CONFIG, "-c", "commit.gpgsign=false", "commit-tree", "--no-gpg-sign", tree, "-p", parent, "-m", message];
  return (await runGit(repo, args, { env: identity })).stdout.trim();
}
