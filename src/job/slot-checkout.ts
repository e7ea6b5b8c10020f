// A slot's persistent checkout moved from one commit to the next by writing only the files that differ,
// from the objects this process holds (git/objects.ts), instead of a `git checkout` process per
// experiment. Only where nothing can have written the checkout since it was last moved: every phase ran
// read-only in the sandbox, and every file's stat fingerprint (inode, size, mtime, ctime) is still the one
// recorded then. Anything else — the first use, a fingerprint that moved, a tree or blob this process does
// not hold, a symlink or a submodule, a move cut short — is git's `checkout --force` and `clean`, as before.
// The slot's git index is left as git last wrote it: nothing reads it (the sandbox does not show the
// repository), and git's own checkout --force with clean puts index and files right whenever it runs.
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import * as git from "../git/index.ts";
import { cachedBlob, cachedTreeFiles } from "../git/objects.ts";
import { sameFingerprints, statFingerprints } from "../guard/checksums.ts";

/** Kept in the slot's own git directory (git ignores it; `git worktree remove` removes it). */
const STATE_FILE = "autoresearch-slot.json";
const PLAIN_MODES = new Set(["100644", "100755"]);

interface SlotState {
  commit: string;
  fingerprints: Record<string, string>;
}

/**
 * Makes the slot's checkout at `workdir` exactly `commit`'s files. `readOnlyPhases`: every phase runs
 * read-only in the sandbox, so the files can be moved in place; otherwise git resets and cleans it.
 * Says which way it went.
 */
export async function moveSlotCheckout(repository: string, workdir: string, commit: string, readOnlyPhases: boolean): Promise<"files" | "git"> {
  const gitDir = worktreeGitDir(workdir);
  if (readOnlyPhases && gitDir !== null && (await moveFiles(repository, workdir, gitDir, commit))) return "files";
  if (gitDir !== null) rmSync(join(gitDir, STATE_FILE), { force: true });
  await git.resetWorktree(workdir, commit, { clean: true });
  if (readOnlyPhases && gitDir !== null) await recordState(repository, workdir, gitDir, commit);
  return "git";
}

/** After the slot's checkout was made by git: what it holds, for the next move. */
export async function recordState(repository: string, workdir: string, gitDir: string, commit: string): Promise<void> {
  const files = await cachedTreeFiles(repository, commit);
  if (!files) return;
  const state: SlotState = { commit, fingerprints: await statFingerprints(workdir, [...files.keys()]) };
  writeWhole(join(gitDir, STATE_FILE), JSON.stringify(state));
}

/** The slot worktree's own git directory (from its `.git` file), or null when it is not one. */
export function worktreeGitDir(workdir: string): string | null {
  try {
    const text = readFileSync(join(workdir, ".git"), "utf8");
    const match = /^gitdir: (.+)\n?$/.exec(text);
    if (!match) return null;
    return isAbsolute(match[1]!) ? match[1]! : resolve(workdir, match[1]!);
  } catch {
    return null;
  }
}

async function moveFiles(repository: string, workdir: string, gitDir: string, commit: string): Promise<boolean> {
  const state = readState(gitDir);
  if (state === null || readHead(gitDir) !== state.commit) return false;
  const [from, to] = await Promise.all([cachedTreeFiles(repository, state.commit), cachedTreeFiles(repository, commit)]);
  if (!from || !to) return false;
  if (!sameFingerprints(state.fingerprints, await statFingerprints(workdir, [...from.keys()]))) return false;
  // Everything to write is in hand before anything is touched.
  const writes: Array<{ path: string; text: string; mode: string }> = [];
  for (const [path, entry] of to) {
    const before = from.get(path);
    if (!PLAIN_MODES.has(entry.mode) || (before && !PLAIN_MODES.has(before.mode))) return false;
    if (before?.oid === entry.oid && before.mode === entry.mode) continue;
    const text = cachedBlob(repository, entry.oid);
    if (text === undefined || text.includes("\uFFFD")) return false; // not held, or held as lossy text
    writes.push({ path, text, mode: entry.mode });
  }
  const removals = [...from.keys()].filter((path) => !to.has(path));
  if (removals.some((path) => !PLAIN_MODES.has(from.get(path)!.mode))) return false;
  // Cut short from here on, the missing state file sends the next move to git.
  rmSync(join(gitDir, STATE_FILE), { force: true });
  for (const path of removals) {
    unlinkSync(join(workdir, path));
    removeEmptyParents(workdir, path);
  }
  for (const { path, text, mode } of writes) {
    const target = join(workdir, path);
    mkdirSync(dirname(target), { recursive: true });
    rmSync(target, { force: true }); // a fresh inode: a reader of the old file never sees the new text half written
    writeFileSync(target, text, { mode: mode === "100755" ? 0o755 : 0o644 });
    chmodSync(target, mode === "100755" ? 0o755 : 0o644); // the umask must not decide the mode git would give
  }
  writeWhole(join(gitDir, "HEAD"), `${commit}\n`);
  const next: SlotState = { commit, fingerprints: await statFingerprints(workdir, [...to.keys()]) };
  writeWhole(join(gitDir, STATE_FILE), JSON.stringify(next));
  return true;
}

function readState(gitDir: string): SlotState | null {
  try {
    const state = JSON.parse(readFileSync(join(gitDir, STATE_FILE), "utf8")) as SlotState;
    return typeof state.commit === "string" && typeof state.fingerprints === "object" && state.fingerprints !== null ? state : null;
  } catch {
    return null;
  }
}

function readHead(gitDir: string): string | null {
  try {
    return readFileSync(join(gitDir, "HEAD"), "utf8").trim();
  } catch {
    return null;
  }
}

function removeEmptyParents(root: string, path: string): void {
  for (let dir = dirname(path); dir !== "." && dir !== ""; dir = dirname(dir)) {
    const absolute = join(root, dir);
    if (readdirSync(absolute).length > 0) return;
    rmdirSync(absolute);
  }
}

function writeWhole(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}
