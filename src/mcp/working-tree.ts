// run_experiment's candidate: the user's checkout compared with the session's best commit. Only
// mutable files may differ (as whole files); any other difference is reported and refused, so
// an agent cannot slip a change to the evaluator or the data preparation into an experiment.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runGit } from "../git/index.ts";
import { checkScope, type FileChange, type ScopeRules } from "../guard/scope.ts";

export type WorkingTreeCandidate =
  | { ok: true; files: Record<string, string>; changed: string[] }
  | { ok: false; reason: string };

export async function candidateFromWorkingTree(projectDir: string, best: { commit: string; branch: string }, rules: ScopeRules): Promise<WorkingTreeCandidate> {
  const changes = await workingTreeChanges(projectDir, best.commit);
  const restore = `restore it from the best with \`git checkout ${best.branch} -- <path>\` (delete new files), then call run_experiment again`;
  if (changes.length === 0) {
    return { ok: false, reason: `nothing to run: the working tree is identical to the session's best (${best.branch}, ${best.commit.slice(0, 7)}); edit the mutable files first` };
  }
  const scope = checkScope(changes, rules);
  if (!scope.ok) return { ok: false, reason: `refused: ${scope.reason}. An experiment may change only the mutable files; ${restore}` };
  const deleted = changes.filter((change) => change.status === "D").map((change) => change.path);
  if (deleted.length > 0) {
    return {
      ok: false,
      reason: `refused: ${deleted.join(", ")} ${deleted.length === 1 ? "exists" : "exist"} in the best but not in the working tree; experiments cannot delete files. ` +
        `If the best is newer than your checkout, bring it up to date: \`git checkout ${best.branch} -- ${deleted.join(" ")}\``,
    };
  }
  const files: Record<string, string> = {};
  for (const change of changes) files[change.path] = readFileSync(join(projectDir, change.path), "utf8");
  return { ok: true, files, changed: changes.map((change) => change.path) };
}

/** Tracked differences between the working tree and `commit`, plus untracked files that are not ignored. */
async function workingTreeChanges(projectDir: string, commit: string): Promise<FileChange[]> {
  const tracked = await runGit(projectDir, ["diff", "--no-color", "--no-ext-diff", "--no-renames", "--name-status", "-z", commit, "--"]);
  const fields = tracked.stdout.split("\0");
  const changes: FileChange[] = [];
  for (let index = 0; index + 1 < fields.length && fields[index] !== ""; index += 2) {
    changes.push({ status: fields[index]!, path: fields[index + 1]! });
  }
  const untracked = await runGit(projectDir, ["ls-files", "--others", "--exclude-standard", "-z"]);
  for (const path of untracked.stdout.split("\0")) if (path !== "") changes.push({ status: "A", path });
  return changes;
}
