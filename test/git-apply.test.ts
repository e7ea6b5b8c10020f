// treeWithChanges and commitTree on real repositories: how finalize builds "the best without one change".
import { test } from "node:test";
import assert from "node:assert/strict";
import { commitTree, treeWithChanges } from "../src/git/apply.ts";
import { makeTempRepo, type TempRepo } from "./helpers/git.ts";

const KNOBS = ["const A = 1;", "const B = 2;", "const C = 3;", "const D = 4;", ""].join("\n");

/** Commits `file` with `content` on top of HEAD and returns the commit. */
function change(repo: TempRepo, file: string, content: string): string {
  repo.write(file, content);
  repo.git(["commit", "--quiet", "--no-gpg-sign", "-am", `edit ${file}`]);
  return repo.git(["rev-parse", "HEAD"]);
}

test("changes to adjacent lines are applied without each other, and the user's checkout and index stay as they were", async (t) => {
  const repo = makeTempRepo({ "knobs.ts": KNOBS });
  t.after(repo.cleanup);
  const base = repo.initialCommit;
  const first = change(repo, "knobs.ts", KNOBS.replace("A = 1", "A = 10"));
  const second = change(repo, "knobs.ts", KNOBS.replace("A = 1", "A = 10").replace("B = 2", "B = 20"));
  // Without the first change: the second alone on the base (its context names A = 10, so it applies line by line).
  const withoutFirst = await treeWithChanges(repo.dir, base, [{ from: first, to: second }]);
  assert.ok("tree" in withoutFirst);
  assert.equal(repo.git(["cat-file", "-p", `${withoutFirst.tree}:knobs.ts`]) + "\n", KNOBS.replace("B = 2", "B = 20"));
  // Reverting the first from the best gives the same code.
  const reverted = await treeWithChanges(repo.dir, second, [{ from: base, to: first, reverse: true }]);
  assert.ok("tree" in reverted);
  assert.equal(reverted.tree, withoutFirst.tree);
  const commit = await commitTree(repo.dir, withoutFirst.tree, base, "the best without the first change");
  assert.equal(repo.git(["rev-parse", `${commit}^`]), base);
  assert.equal(repo.git(["log", "-1", "--format=%an <%ae>", commit]), "autoresearch <autoresearch@localhost>");
  assert.equal(repo.git(["status", "--porcelain"]), "");
  assert.equal(repo.git(["rev-parse", "HEAD"]), second);
});

test("a change that rewrites what another changed cannot be separated: the failing step and git's reason are named", async (t) => {
  const repo = makeTempRepo({ "knobs.ts": KNOBS });
  t.after(repo.cleanup);
  const base = repo.initialCommit;
  const first = change(repo, "knobs.ts", KNOBS.replace("A = 1", "A = 10"));
  const second = change(repo, "knobs.ts", KNOBS.replace("A = 1", "A = 20"));
  const withoutFirst = await treeWithChanges(repo.dir, base, [{ from: first, to: second }]);
  assert.ok("failedStep" in withoutFirst);
  assert.equal(withoutFirst.failedStep, 0);
  assert.match(withoutFirst.message, /patch failed|does not apply/);
  const reverted = await treeWithChanges(repo.dir, second, [{ from: base, to: first, reverse: true }]);
  assert.ok("failedStep" in reverted);
});

test("a change to a file another change created applies only with it; reverting the creator fails too", async (t) => {
  const repo = makeTempRepo({ "knobs.ts": KNOBS });
  t.after(repo.cleanup);
  const base = repo.initialCommit;
  repo.write("extra.ts", "export const E = 1;\n");
  repo.git(["add", "extra.ts"]);
  repo.git(["commit", "--quiet", "--no-gpg-sign", "-m", "add extra"]);
  const created = repo.git(["rev-parse", "HEAD"]);
  const edited = change(repo, "extra.ts", "export const E = 2;\n");
  const withoutCreator = await treeWithChanges(repo.dir, base, [{ from: created, to: edited }]);
  assert.ok("failedStep" in withoutCreator);
  const revertedCreator = await treeWithChanges(repo.dir, edited, [{ from: base, to: created, reverse: true }]);
  assert.ok("failedStep" in revertedCreator, "the created file no longer holds what its creation wrote");
  const both = await treeWithChanges(repo.dir, base, [{ from: base, to: created }, { from: created, to: edited }]);
  assert.ok("tree" in both);
  assert.equal(both.tree, repo.git(["rev-parse", `${edited}^{tree}`]));
});
