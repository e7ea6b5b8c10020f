// The agent's scratch checkout: a detached worktree of the best commit under
// .autoresearch/worktrees/agent-*, and afterwards what the agent changed there. Only mutable files
// may change; anything else rejects the whole proposal. The worktree is always removed, so
// nothing the agent did outside its proposal survives.
import { randomUUID } from "node:crypto";
import { chmodSync, lstatSync } from "node:fs";
import { join } from "node:path";
import picomatch from "picomatch";
import * as git from "../../git/index.ts";
import { checkScope } from "../../guard/scope.ts";
import { projectPaths } from "../../project/paths.ts";
import type { Edit } from "../types.ts";

export interface ScopeGlobs {
  mutable: string[];
  protected: string[];
}

export type ScratchChanges =
  | { ok: true; edits: Array<Extract<Edit, { content: string }>>; diff: string }
  | { ok: false; reason: string; changed: string[] };

export async function openScratch(projectDir: string, commit: string, globs: ScopeGlobs): Promise<string> {
  const worktree = join(projectPaths(projectDir).worktreesDir, `agent-${randomUUID().slice(0, 8)}`);
  await git.addWorktree(projectDir, worktree, commit);
  // Protected files are there to read; making them read-only tells the agent before the guard does.
  const isProtected = picomatch(globs.protected, { dot: true });
  for (const path of await git.listFilesAt(projectDir, commit)) {
    const file = join(worktree, path);
    if (isProtected(path) && lstatSync(file).isFile()) chmodSync(file, 0o444); // never through a symlink
  }
  return worktree;
}

export async function removeScratch(projectDir: string, worktree: string): Promise<void> {
  await git.removeWorktree(projectDir, worktree).catch(() => undefined);
}

/**
 * What the agent changed relative to `baseCommit`, as whole-file edits of mutable files.
 * Its work (even commits it made itself) is recorded as one commit in the scratch worktree
 * with the harness's identity, then compared tree to tree.
 */
export async function collectChanges(worktree: string, baseCommit: string, globs: ScopeGlobs): Promise<ScratchChanges> {
  try {
    await git.commitAll(worktree, "autoresearch: agent scratch");
  } catch (error) {
    if (!/nothing to commit/i.test(String(error))) throw error;
  }
  const head = await git.headCommit(worktree);
  const changes = await git.changedPaths(worktree, baseCommit, head);
  if (changes.length === 0) return { ok: false, reason: "the agent changed no file", changed: [] };
  const changed = changes.map((change) => change.path);
  const scope = checkScope(changes, { mutable: globs.mutable, protected: globs.protected, alwaysProtected: [] });
  if (!scope.ok) return { ok: false, reason: scope.reason, changed };
  const deleted = changes.filter((change) => change.status === "D").map((change) => change.path);
  if (deleted.length > 0) {
    return { ok: false, changed, reason: `the change deletes ${deleted.join(", ")}; proposals may edit or add mutable files but not delete them (empty the file instead)` };
  }
  const edits: Array<Extract<Edit, { content: string }>> = [];
  for (const path of changed) edits.push({ path, content: (await git.readFileAt(worktree, head, path)) ?? "" });
  return { ok: true, edits, diff: await git.diff(worktree, baseCommit, head) };
}
