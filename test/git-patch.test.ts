// A candidate's patch computed in memory (git/patch.ts) against git's own diff of the same commits:
// the same changed paths always, the same text for ordinary edits, and a patch git applies to the
// parent to give exactly the candidate's tree where a tie between alignments makes the text differ.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import * as git from "../src/git/index.ts";
import { patchFromMemory } from "../src/git/patch.ts";
import { createRandom } from "../src/stats/random.ts";
import { makeTempRepo, type TempRepo } from "./helpers/git.ts";

const MODEL = Array.from({ length: 40 }, (_, index) => (index % 7 === 0 ? `def step_${index}(x):` : `    x = x + ${index}`)).join("\n") + "\n";

let repo: TempRepo;
beforeEach(() => {
  repo = makeTempRepo({ "model.py": MODEL, "notes.txt": "one\ntwo\nthree", "dir/config.json": "{\n  \"lr\": 0.1\n}\n" });
});
afterEach(() => repo.cleanup());

/** The patch both ways, for `files` written onto the first commit. */
async function bothWays(files: Record<string, string>) {
  await git.listFilesAt(repo.dir, repo.initialCommit); // the harness has always listed the parent by then
  const { commit, tree } = await git.commitFiles(repo.dir, repo.initialCommit, files, "candidate");
  const ours = await patchFromMemory(repo.dir, repo.initialCommit, files);
  const theirs = await git.diffWithChanges(repo.dir, repo.initialCommit, commit);
  return { ours, theirs, tree };
}

/** The tree git makes by applying `patch` to the parent's index, without touching the working tree. */
function appliedTree(patch: string): string {
  const index = join(repo.root, "apply-index");
  const env = { ...process.env, GIT_INDEX_FILE: index };
  try {
    execFileSync("git", ["read-tree", repo.initialCommit], { cwd: repo.dir, env });
    execFileSync("git", ["apply", "--cached", "-"], { cwd: repo.dir, env, input: patch });
    return execFileSync("git", ["write-tree"], { cwd: repo.dir, env, encoding: "utf8" }).trim();
  } finally {
    rmSync(index, { force: true });
  }
}

test("ordinary edits give git's own patch, byte for byte: a changed line with its function line, a new file, a last line without newline", async () => {
  const files = {
    "model.py": MODEL.replace("    x = x + 9\n", "    x = x * 9\n"),
    "notes.txt": "one\ntwo\nthree\nfour\n",
    "new/train.py": "print('hello')\nprint('world')",
    "dir/config.json": "{\n  \"lr\": 0.1\n}\n",
  };
  const { ours, theirs } = await bothWays(files);
  assert.ok(ours, "computed in memory");
  assert.equal(ours.patch, theirs.patch);
  assert.deepEqual(ours.changes, theirs.changes, "unchanged files are not changes");
  assert.match(ours.patch, /^@@ -7,7 \+7,7 @@ def step_0\(x\):$/m, "git's default function line: the nearest one above the hunk");
});

test("random edits: the same changed paths as git, and a patch git applies to give exactly the candidate's tree", async () => {
  const random = createRandom(17);
  const vocabulary = ["def f(x):", "    return x", "", "class A:", "  pass", "x = 1", "y = 2", "_z = 3", "# comment", "}", "$v"];
  const pick = () => vocabulary[Math.floor(random.next() * vocabulary.length)]!;
  let identical = 0;
  const trials = 120;
  for (let trial = 0; trial < trials; trial += 1) {
    const lines = MODEL.split("\n");
    for (let edit = 0, edits = 1 + Math.floor(random.next() * 5); edit < edits; edit += 1) {
      const at = Math.floor(random.next() * lines.length);
      const kind = random.next();
      if (kind < 0.33) lines.splice(at, 1);
      else if (kind < 0.66) lines.splice(at, 0, pick());
      else lines[at] = `${pick()} ${trial}`;
    }
    const files: Record<string, string> = { "model.py": lines.join("\n") || "x\n" };
    if (random.next() < 0.3) files[`added-${trial}.txt`] = `${pick()}\n${pick()}\nend`;
    const { ours, theirs, tree } = await bothWays(files);
    assert.ok(ours, `trial ${trial}: computed in memory`);
    assert.deepEqual(ours.changes, theirs.changes, `trial ${trial}`);
    assert.equal(appliedTree(ours.patch), tree, `trial ${trial}: git apply of\n${ours.patch}`);
    if (ours.patch === theirs.patch) identical += 1;
  }
  // Where Myers' ties could go either way git's heuristics sometimes choose the other alignment; most do not.
  assert.ok(identical >= trials / 2, `${identical} of ${trials} identical to git's text`);
});

test("leaves to git what it would not print the same way: binary, empty, CRLF or non-UTF-8 text, a quoted path, a directory in the way, a symlink", async () => {
  repo.write("bin.dat", "a\u0000b");
  execFileSync("ln", ["-s", "notes.txt", "link"], { cwd: repo.dir });
  repo.git(["add", "--all"]);
  repo.git(["commit", "--quiet", "-m", "more"]);
  const parent = repo.git(["rev-parse", "HEAD"]);
  await git.listFilesAt(repo.dir, parent);
  const cases: Array<[string, Record<string, string>]> = [
    ["binary", { "bin.dat": "a\u0000c" }],
    ["empty", { "notes.txt": "" }],
    ["CRLF", { "notes.txt": "one\r\ntwo\r\n" }],
    ["a replacement character", { "notes.txt": "caf\uFFFD\n" }],
    ["a space in the path", { "my notes.txt": "x\n" }],
    ["non-ASCII path", { "café.txt": "x\n" }],
    ["a directory where a file goes", { dir: "x\n" }],
    ["a file on the way", { "notes.txt/x": "x\n" }],
    ["a symlink", { link: "other.txt" }],
  ];
  for (const [what, files] of cases) assert.equal(await patchFromMemory(repo.dir, parent, files), null, what);
  assert.equal(await patchFromMemory(repo.dir, "ab".repeat(20), { "notes.txt": "x\n" }), null, "a commit whose tree is not kept");
  const { commit } = await git.commitFiles(repo.dir, parent, { "notes.txt": "" }, "emptied");
  const viaGit = await git.candidateDiff(repo.dir, parent, commit, { "notes.txt": "" });
  assert.deepEqual(viaGit, await git.diffWithChanges(repo.dir, parent, commit), "candidateDiff falls back to git's diff");
});
