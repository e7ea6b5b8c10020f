// A slot's checkout moved by writing only the files that differ (job/slot-checkout.ts), checked against
// git's own view of each commit: the same files, contents and modes, nothing left over, HEAD at the
// commit; and git's checkout whenever the files might not be what was recorded.
import assert from "node:assert/strict";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import * as git from "../src/git/index.ts";
import { moveSlotCheckout, recordState, worktreeGitDir } from "../src/job/slot-checkout.ts";
import { makeTempRepo, type TempRepo } from "./helpers/git.ts";

let repo: TempRepo;
let slot: string;
beforeEach(async () => {
  repo = makeTempRepo({ "train.py": "lr = 0.1\n", "lib/util.py": "def f():\n    return 1\n", "evaluate.sh": "echo 1\n", "docs/old.md": "old\n" });
  chmodSync(join(repo.dir, "evaluate.sh"), 0o755);
  repo.git(["commit", "--quiet", "-am", "executable"]);
  slot = join(repo.root, "slot-0");
  const head = repo.git(["rev-parse", "HEAD"]);
  await git.listFilesAt(repo.dir, head);
  await git.addWorktree(repo.dir, slot, head);
  await recordState(repo.dir, slot, worktreeGitDir(slot)!, head);
});
afterEach(() => repo.cleanup());

/** Every file under the checkout (not .git) with its text and whether it is executable. */
function filesOf(dir: string): Record<string, string> {
  const found: Record<string, string> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      if (entry.name === ".git") continue;
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else found[relative(dir, path)] = `${(statSync(path).mode & 0o111) !== 0 ? "x " : ""}${readFileSync(path, "utf8")}`;
    }
  };
  walk(dir);
  return found;
}

/** What git says the commit holds, in the same shape. */
function filesAt(commit: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const line of repo.git(["ls-tree", "-r", commit]).split("\n")) {
    const [meta, path] = line.split("\t");
    const [mode, , oid] = meta!.split(" ");
    found[path!] = `${mode === "100755" ? "x " : ""}${repo.git(["cat-file", "blob", oid!])}`;
  }
  return found;
}

function assertAt(commit: string, what: string): void {
  // cat-file output is trimmed by the helper; compare trimmed texts.
  const trim = (files: Record<string, string>) => Object.fromEntries(Object.entries(files).map(([path, text]) => [path, text.trimEnd()]));
  assert.deepEqual(trim(filesOf(slot)), trim(filesAt(commit)), what);
  assert.equal(readFileSync(join(worktreeGitDir(slot)!, "HEAD"), "utf8").trim(), commit, `${what}: HEAD`);
}

test("moves between candidates by writing the files that differ: changed, added in a new folder, removed with its empty folder, modes kept", async () => {
  const base = repo.git(["rev-parse", "HEAD"]);
  const first = await git.commitFiles(repo.dir, base, { "train.py": "lr = 0.2\n", "new/deep/extra.py": "x = 1\n" }, "first");
  assert.equal(await moveSlotCheckout(repo.dir, slot, first.commit, true), "files");
  assertAt(first.commit, "first");
  const second = await git.commitFiles(repo.dir, first.commit, { "train.py": "lr = 0.3\n", "evaluate.sh": "echo 2\n" }, "second");
  assert.equal(await moveSlotCheckout(repo.dir, slot, second.commit, true), "files");
  assertAt(second.commit, "second");
  assert.equal((statSync(join(slot, "evaluate.sh")).mode & 0o111) !== 0, true, "still executable");
  // Back to the base: new/deep/extra.py goes, with its folders; the base's train.py is a blob this process
  // has not read, so git does it — then, with the blob read once, the next move is in place again.
  assert.equal(await moveSlotCheckout(repo.dir, slot, base, true), "git");
  assertAt(base, "base via git");
  assert.equal(existsSync(join(slot, "new")), false);
  assert.equal(await moveSlotCheckout(repo.dir, slot, second.commit, true), "files");
  assertAt(second.commit, "second again");
  await git.readFileAt(repo.dir, base, "train.py");
  await git.readFileAt(repo.dir, base, "evaluate.sh");
  assert.equal(await moveSlotCheckout(repo.dir, slot, base, true), "files");
  assertAt(base, "base in place");
  assert.equal(existsSync(join(slot, "new")), false, "the emptied folders are removed");
  assert.equal(repo.git(["status", "--porcelain"], repo.dir), "", "the repository's own checkout is untouched");
});

test("goes to git whenever the files may not be what was recorded: a file changed behind its back, an extra file, a move cut short, phases that could write", async () => {
  const base = repo.git(["rev-parse", "HEAD"]);
  const first = await git.commitFiles(repo.dir, base, { "train.py": "lr = 0.2\n" }, "first");
  const second = await git.commitFiles(repo.dir, first.commit, { "train.py": "lr = 0.3\n" }, "second");
  assert.equal(await moveSlotCheckout(repo.dir, slot, first.commit, true), "files");

  writeFileSync(join(slot, "lib/util.py"), "def f():\n    return 2\n");
  assert.equal(await moveSlotCheckout(repo.dir, slot, second.commit, true), "git", "a tracked file was rewritten");
  assertAt(second.commit, "after a rewritten file");

  assert.equal(await moveSlotCheckout(repo.dir, slot, first.commit, true), "files");
  writeFileSync(join(slot, "lib/stray.py"), "import os\n");
  // An untracked file does not move a tracked file's fingerprint; git's clean still removes it once git runs.
  await moveSlotCheckout(repo.dir, slot, second.commit, false);
  assert.equal(existsSync(join(slot, "lib/stray.py")), false, "cleaned when phases could write");
  assertAt(second.commit, "after phases that could write");

  assert.equal(await moveSlotCheckout(repo.dir, slot, first.commit, true), "git", "no state recorded after a writable run");
  const gitDir = worktreeGitDir(slot)!;
  writeFileSync(join(gitDir, "autoresearch-slot.json"), "{ cut short");
  assert.equal(await moveSlotCheckout(repo.dir, slot, second.commit, true), "git", "an unreadable state");
  assertAt(second.commit, "after an unreadable state");
  writeFileSync(join(gitDir, "HEAD"), `${first.commit}\n`);
  assert.equal(await moveSlotCheckout(repo.dir, slot, first.commit, true), "git", "HEAD is not the recorded commit");
  assertAt(first.commit, "after HEAD moved");
});
