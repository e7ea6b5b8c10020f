// Read-only git verbs: they never take locks and are safe to call at any time.
import { realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { assertRevision, GitError, runGit } from "./exec.ts";
import { cachedFileAt, cachedFilesAt } from "./objects.ts";

export type ChangeStatus = "A" | "M" | "D" | "R" | "C" | "T" | "U" | "X";

export interface ChangedPath {
  status: ChangeStatus;
  path: string;
  /** The path before a rename or copy (only with status R or C). */
  oldPath?: string;
}

export interface RefEntry {
  ref: string;
  commit: string;
}

/** Whether `cwd` is inside a git working tree (false for a missing directory or a bare repository). */
export async function isGitRepo(cwd: string): Promise<boolean> {
  try {
    if (!statSync(cwd).isDirectory()) return false;
  } catch {
    return false;
  }
  const result = await runGit(cwd, ["rev-parse", "--is-inside-work-tree"], { okExitCodes: [128] });
  return result.exitCode === 0 && result.stdout.trim() === "true";
}

/** The top-level directory of the working tree that contains `cwd`. */
export async function repoRoot(cwd: string): Promise<string> {
  return (await runGit(cwd, ["rev-parse", "--show-toplevel"])).stdout.trim();
}

/** The absolute git directory shared by the repository and all its worktrees. */
export async function gitCommonDir(cwd: string): Promise<string> {
  const relative = (await runGit(cwd, ["rev-parse", "--git-common-dir"])).stdout.trim();
  const absolute = resolve(cwd, relative);
  try {
    return realpathSync(absolute);
  } catch {
    return absolute;
  }
}

/** The object id `rev` names, or null if it names nothing that exists. */
export async function revParse(cwd: string, rev: string): Promise<string | null> {
  assertRevision(rev);
  // A full hex id "resolves" even when no such object exists; peeling forces the lookup.
  // `rev:path` forms already imply a lookup, and a suffix there would be read as part of the path.
  const spec = rev.includes(":") ? rev : `${rev}^{object}`;
  const result = await runGit(cwd, ["rev-parse", "--verify", "--quiet", spec], { okExitCodes: [1] });
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

/** The commit HEAD points at; throws if the branch has no commit yet. */
export async function headCommit(cwd: string): Promise<string> {
  const commit = await revParse(cwd, "HEAD^{commit}");
  if (commit === null) {
    const command = "git rev-parse HEAD";
    throw new GitError(`${command}: the repository at ${cwd} has no commit yet; make an initial commit first`, {
      command,
      cwd,
      exitCode: null,
      stderr: "",
    });
  }
  return commit;
}

/** The checked-out branch's short name, or null on a detached HEAD. */
export async function currentBranch(cwd: string): Promise<string | null> {
  const result = await runGit(cwd, ["symbolic-ref", "--quiet", "--short", "HEAD"], { okExitCodes: [1] });
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

export async function branchExists(cwd: string, name: string): Promise<boolean> {
  const result = await runGit(cwd, ["show-ref", "--verify", "--quiet", `refs/heads/${name}`], { okExitCodes: [1] });
  return result.exitCode === 0;
}

/** Refs whose full name starts with `prefix` (e.g. "refs/autoresearch/"), sorted by name. */
export async function listRefs(cwd: string, prefix: string): Promise<RefEntry[]> {
  // for-each-ref patterns match whole path components, so ask for the enclosing folder and filter here.
  const folder = prefix.slice(0, prefix.lastIndexOf("/") + 1);
  const args = ["for-each-ref", "--format=%(objectname) %(refname)"];
  if (folder !== "") args.push(folder);
  const { stdout } = await runGit(cwd, args);
  return stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const space = line.indexOf(" ");
      return { commit: line.slice(0, space), ref: line.slice(space + 1) };
    })
    .filter((entry) => entry.ref.startsWith(prefix));
}

/** Whether `ancestor` is `descendant` or one of its ancestors. */
export async function isAncestor(cwd: string, ancestor: string, descendant: string): Promise<boolean> {
  assertRevision(ancestor);
  assertRevision(descendant);
  const result = await runGit(cwd, ["merge-base", "--is-ancestor", ancestor, descendant], { okExitCodes: [1] });
  return result.exitCode === 0;
}

/** Whether the working tree has no staged, unstaged or untracked (non-ignored) changes. */
export async function isClean(cwd: string): Promise<boolean> {
  const { stdout } = await runGit(cwd, ["status", "--porcelain", "-z", "--untracked-files=all"]);
  return stdout === "";
}

/** Paths with staged, unstaged or untracked (non-ignored) changes in the working tree, relative to its root. */
export async function uncommittedPaths(cwd: string): Promise<string[]> {
  const { stdout } = await runGit(cwd, ["status", "--porcelain", "-z", "--untracked-files=all", "--no-renames"]);
  // Records "XY path\0"; the two status letters and a space come first.
  return stdout.split("\0").filter((record) => record.length > 3).map((record) => record.slice(3));
}

/** The tree object of a commit: equal trees mean identical files. */
export async function treeOf(cwd: string, commit: string): Promise<string> {
  assertRevision(commit);
  // A commit id names the same tree forever: asked again (a shared study's every claim asks for its best's), no git.
  const key = FULL_COMMIT_ID.test(commit) ? `${resolve(cwd)}\0${commit}` : null;
  const known = key === null ? undefined : treesOfCommits.get(key);
  if (known !== undefined) return known;
  const tree = (await runGit(cwd, ["rev-parse", "--verify", `${commit}^{tree}`])).stdout.trim();
  if (key !== null) {
    treesOfCommits.set(key, tree);
    if (treesOfCommits.size > MAX_KNOWN_TREES) treesOfCommits.delete(treesOfCommits.keys().next().value!);
  }
  return tree;
}

/** A full object id (sha1 or sha256), as opposed to a name that can move (a branch, HEAD). */
const FULL_COMMIT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const MAX_KNOWN_TREES = 10_000;
/** Repository directory and commit id → the commit's tree id. */
const treesOfCommits = new Map<string, string>();

/** A file's content at a commit (path relative to the repository root), or null if it is not there. */
export async function readFileAt(cwd: string, commit: string, path: string): Promise<string | null> {
  assertRevision(commit);
  const known = await cachedFileAt(cwd, commit, path); // a commit whose trees this process holds (objects.ts)
  if (known !== undefined) return known;
  const result = await runGit(cwd, ["cat-file", "blob", `${commit}:${path}`], { okExitCodes: [128] });
  if (result.exitCode === 0) return result.stdout;
  // Distinguish "no such file" (null) from "no such commit" (an error the caller must see).
  if ((await revParse(cwd, `${commit}^{commit}`)) === null) {
    const command = `git cat-file blob ${commit}:${path}`;
    throw new GitError(`${command}: ${commit} is not a commit in ${cwd}`, { command, cwd, exitCode: result.exitCode, stderr: result.stderr });
  }
  return null;
}

/** Every file path in a commit, relative to the repository root. */
export async function listFilesAt(cwd: string, commit: string): Promise<string[]> {
  assertRevision(commit);
  const known = await cachedFilesAt(cwd, commit); // kept trees (objects.ts)
  if (known) return known;
  const { stdout } = await runGit(cwd, ["ls-tree", "-r", "-z", "--full-tree", "--name-only", commit]);
  return stdout.split("\0").filter((path) => path !== "");
}

// Flags that keep output independent of the user's diff configuration.
const PLAIN_DIFF = ["--no-color", "--no-ext-diff", "--no-textconv", "--no-relative"];

/** Paths that differ between two commits (rename detection off: a rename is a D plus an A). */
export async function changedPaths(cwd: string, from: string, to: string): Promise<ChangedPath[]> {
  assertRevision(from);
  assertRevision(to);
  const { stdout } = await runGit(cwd, ["diff", ...PLAIN_DIFF, "--name-status", "-z", "--no-renames", from, to, "--"]);
  const fields = stdout.split("\0");
  const changes: ChangedPath[] = [];
  for (let index = 0; index < fields.length && fields[index] !== ""; ) {
    const status = fields[index][0] as ChangeStatus;
    if (status === "R" || status === "C") {
      changes.push({ status, oldPath: fields[index + 1], path: fields[index + 2] });
      index += 3;
    } else {
      changes.push({ status, path: fields[index + 1] });
      index += 2;
    }
  }
  return changes;
}

/** The unified diff between two commits and the paths it changes, from one `git diff` (raw records, then the patch). */
export async function diffWithChanges(cwd: string, from: string, to: string): Promise<{ patch: string; changes: ChangedPath[] }> {
  assertRevision(from);
  assertRevision(to);
  const args = ["diff", ...PLAIN_DIFF, "--src-prefix=a/", "--dst-prefix=b/", "--raw", "--patch", "-z", "--no-renames", from, to, "--"];
  const { stdout } = await runGit(cwd, args);
  const changes: ChangedPath[] = [];
  let position = 0;
  // Raw records: ":<mode> <mode> <sha> <sha> <status>\0<path>\0"; an empty field ends them.
  while (stdout[position] === ":") {
    const headerEnd = stdout.indexOf("\0", position);
    const pathEnd = stdout.indexOf("\0", headerEnd + 1);
    if (headerEnd < 0 || pathEnd < 0) throw new Error(`git diff --raw -z: a truncated record at offset ${position}`);
    const header = stdout.slice(position, headerEnd);
    changes.push({ status: header[header.lastIndexOf(" ") + 1] as ChangeStatus, path: stdout.slice(headerEnd + 1, pathEnd) });
    position = pathEnd + 1;
  }
  if (stdout[position] === "\0") position += 1;
  return { patch: stdout.slice(position), changes };
}

/** The unified diff between two commits, optionally limited to some paths. */
export async function diff(cwd: string, from: string, to: string, paths: string[] = []): Promise<string> {
  assertRevision(from);
  assertRevision(to);
  const args = ["diff", ...PLAIN_DIFF, "--src-prefix=a/", "--dst-prefix=b/", from, to, "--", ...paths];
  return (await runGit(cwd, args)).stdout;
}
