import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import * as git from "../src/git/index.ts";
import { makeTempRepo, makeTempRoot, type TempRepo } from "./helpers/git.ts";

let repo: TempRepo;
beforeEach(() => {
  repo = makeTempRepo({ "README.md": "hello\n", "src/model.py": "lr = 0.1\n", "old.txt": "old\n" });
});
afterEach(() => repo.cleanup());

const ZERO = "0".repeat(40);

describe("querying a repository", () => {
  test("isGitRepo, repoRoot and gitCommonDir", async () => {
    assert.equal(await git.isGitRepo(repo.dir), true);
    assert.equal(await git.isGitRepo(repo.root), false);
    assert.equal(await git.isGitRepo(join(repo.root, "missing")), false);
    assert.equal(await git.repoRoot(join(repo.dir, "src")), repo.dir);
    assert.equal(await git.gitCommonDir(join(repo.dir, "src")), join(repo.dir, ".git"));
  });

  test("revParse resolves names and returns null for what does not exist", async () => {
    assert.equal(await git.revParse(repo.dir, "HEAD"), repo.initialCommit);
    assert.equal(await git.revParse(repo.dir, "main"), repo.initialCommit);
    assert.equal(await git.revParse(repo.dir, "no-such-branch"), null);
    assert.equal(await git.revParse(repo.dir, "ab".repeat(20)), null, "a well-formed id of a missing object");
    assert.equal(await git.revParse(repo.dir, "HEAD:README.md"), repo.git(["rev-parse", "HEAD:README.md"]));
    await assert.rejects(git.revParse(repo.dir, "--all"), /not a git revision/);
  });

  test("headCommit, currentBranch, isAncestor, isClean", async () => {
    assert.equal(await git.headCommit(repo.dir), repo.initialCommit);
    assert.equal(await git.currentBranch(repo.dir), "main");
    repo.write("README.md", "changed\n");
    assert.equal(await git.isClean(repo.dir), false);
    const second = await git.commitAll(repo.dir, "second");
    assert.equal(await git.isClean(repo.dir), true);
    assert.equal(await git.isAncestor(repo.dir, repo.initialCommit, second), true);
    assert.equal(await git.isAncestor(repo.dir, second, repo.initialCommit), false);
    repo.git(["checkout", "--quiet", "--detach", "HEAD"]);
    assert.equal(await git.currentBranch(repo.dir), null);
  });

  test("reading files and trees at a commit", async () => {
    assert.equal(await git.readFileAt(repo.dir, repo.initialCommit, "src/model.py"), "lr = 0.1\n");
    assert.equal(await git.readFileAt(repo.dir, repo.initialCommit, "src/missing.py"), null);
    await assert.rejects(git.readFileAt(repo.dir, "ab".repeat(20), "README.md"), git.GitError);
    assert.deepEqual((await git.listFilesAt(repo.dir, "HEAD")).sort(), ["README.md", "old.txt", "src/model.py"]);
    assert.equal(await git.treeOf(repo.dir, "HEAD"), repo.git(["rev-parse", "HEAD^{tree}"]));
  });

  test("treeOf a commit id asks git once; a name that can move, and an unknown id, every time", async () => {
    // A child's spawnargs are filled in after the channel fires: read them once the calls are done.
    const children: Array<{ spawnargs: string[] }> = [];
    const onSpawn = (message: unknown) => children.push((message as { process: { spawnargs: string[] } }).process);
    const spawned = { filter: (match: (args: string) => boolean) => children.map((child) => child.spawnargs.join(" ")).filter(match) };
    subscribe("child_process", onSpawn);
    try {
      const tree = repo.git(["rev-parse", `${repo.initialCommit}^{tree}`]);
      assert.equal(await git.treeOf(repo.dir, repo.initialCommit), tree);
      assert.equal(await git.treeOf(repo.dir, repo.initialCommit), tree);
      assert.equal(spawned.filter((args) => args.includes(`${repo.initialCommit}^{tree}`)).length, 1);
      await git.treeOf(repo.dir, "HEAD");
      await git.treeOf(repo.dir, "HEAD");
      assert.equal(spawned.filter((args) => args.includes("HEAD^{tree}")).length, 2);
      const unknown = "ab".repeat(20);
      await assert.rejects(git.treeOf(repo.dir, unknown), git.GitError);
      await assert.rejects(git.treeOf(repo.dir, unknown), git.GitError);
    } finally {
      unsubscribe("child_process", onSpawn);
    }
  });

  test("changedPaths and diff between two commits, whatever the user's diff settings", async () => {
    repo.git(["config", "diff.noprefix", "true"]);
    repo.git(["config", "color.diff", "always"]);
    repo.write("src/model.py", "lr = 0.2\n");
    repo.write("new.txt", "new\n");
    rmSync(join(repo.dir, "old.txt"));
    const next = await git.commitAll(repo.dir, "change");
    const changes = await git.changedPaths(repo.dir, repo.initialCommit, next);
    assert.deepEqual(changes, [
      { status: "A", path: "new.txt" },
      { status: "D", path: "old.txt" },
      { status: "M", path: "src/model.py" },
    ]);
    const patch = await git.diff(repo.dir, repo.initialCommit, next, ["src"]);
    assert.match(patch, /^--- a\/src\/model\.py\n\+\+\+ b\/src\/model\.py$/m);
    assert.match(patch, /^-lr = 0\.1\n\+lr = 0\.2$/m);
    assert.doesNotMatch(patch, /new\.txt|\x1b\[/);
  });

  test("diffWithChanges gives the same patch and paths as diff and changedPaths, in one process, odd names included", async () => {
    repo.git(["config", "diff.noprefix", "true"]);
    repo.git(["config", "color.diff", "always"]);
    repo.write("src/model.py", "lr = 0.2\n");
    repo.write("new file\twith tab.txt", "new\n");
    repo.write("ünïcode.txt", "u\n");
    rmSync(join(repo.dir, "old.txt"));
    const next = await git.commitAll(repo.dir, "change");
    const combined = await git.diffWithChanges(repo.dir, repo.initialCommit, next);
    assert.deepEqual(combined.changes, await git.changedPaths(repo.dir, repo.initialCommit, next));
    assert.deepEqual(combined.changes.map((change) => change.path).sort(), ["new file\twith tab.txt", "old.txt", "src/model.py", "ünïcode.txt"]);
    assert.equal(combined.patch, await git.diff(repo.dir, repo.initialCommit, next));
    assert.deepEqual(await git.diffWithChanges(repo.dir, next, next), { patch: "", changes: [] });
  });

  test("a failing command throws GitError naming the command and git's message", async () => {
    await assert.rejects(git.treeOf(repo.dir, "no-such-commit"), (error: unknown) => {
      assert.ok(error instanceof git.GitError);
      assert.match(error.message, /git rev-parse --verify no-such-commit\^\{tree\} failed in .*repo/);
      assert.match(error.message, /Needed a single revision/, "git's own words are part of the message");
      assert.match(error.stderr, /Needed a single revision/);
      return true;
    });
  });
});

describe("refs and branches", () => {
  test("createBranch and branchExists", async () => {
    assert.equal(await git.branchExists(repo.dir, "autoresearch/run1"), false);
    await git.createBranch(repo.dir, "autoresearch/run1", repo.initialCommit);
    assert.equal(await git.branchExists(repo.dir, "autoresearch/run1"), true);
    await assert.rejects(git.createBranch(repo.dir, "autoresearch/run1", repo.initialCommit), /already exists/);
    assert.equal(await git.currentBranch(repo.dir), "main", "creating a branch must not check it out");
  });

  test("updateRef compare-and-swap refuses a stale expected value", async () => {
    const ref = "refs/autoresearch/best";
    repo.write("README.md", "second\n");
    const second = await git.commitAll(repo.dir, "second");
    await git.updateRef(repo.dir, ref, repo.initialCommit, ZERO);
    await git.updateRef(repo.dir, ref, second, repo.initialCommit);
    assert.equal(await git.revParse(repo.dir, ref), second);

    await assert.rejects(git.updateRef(repo.dir, ref, repo.initialCommit, repo.initialCommit), git.RefConflictError);
    await assert.rejects(git.updateRef(repo.dir, ref, repo.initialCommit, ZERO), git.RefConflictError);
    assert.equal(await git.revParse(repo.dir, ref), second, "a failed swap must leave the ref alone");
    await assert.rejects(git.updateRef(repo.dir, "best", second), /full ref name/);
  });

  test("listRefs filters by prefix and deleteRef removes", async () => {
    await git.updateRef(repo.dir, "refs/autoresearch/run1/exp-1", repo.initialCommit);
    await git.updateRef(repo.dir, "refs/autoresearch/run1/exp-2", repo.initialCommit);
    await git.updateRef(repo.dir, "refs/autoresearch/run2/exp-1", repo.initialCommit);
    assert.deepEqual(await git.listRefs(repo.dir, "refs/autoresearch/run1/"), [
      { ref: "refs/autoresearch/run1/exp-1", commit: repo.initialCommit },
      { ref: "refs/autoresearch/run1/exp-2", commit: repo.initialCommit },
    ]);
    assert.equal((await git.listRefs(repo.dir, "refs/autoresearch/run")).length, 3);
    await git.deleteRef(repo.dir, "refs/autoresearch/run1/exp-1");
    assert.equal(await git.revParse(repo.dir, "refs/autoresearch/run1/exp-1"), null);
    assert.equal((await git.listRefs(repo.dir, "refs/autoresearch/")).length, 2);
  });

  test("readBranchRef follows a branch whether git keeps it loose, packed or moves it behind our back, and from a worktree", async () => {
    repo.write("README.md", "two\n");
    const second = await git.commitAll(repo.dir, "second");
    await git.createBranch(repo.dir, "autoresearch/run1", repo.initialCommit);
    const ref = "refs/heads/autoresearch/run1";
    assert.equal(await git.readBranchRef(repo.dir, ref), repo.initialCommit);
    repo.git(["update-ref", ref, second]);
    assert.equal(await git.readBranchRef(repo.dir, ref), second, "moved by another git process");
    repo.git(["pack-refs", "--all"]);
    assert.equal(existsSync(join(repo.dir, ".git", ref)), false, "now only in packed-refs");
    assert.equal(await git.readBranchRef(repo.dir, ref), second);
    const path = join(repo.root, "worktrees", "reader");
    await git.addWorktree(repo.dir, path, repo.initialCommit);
    await git.updateRef(repo.dir, ref, repo.initialCommit);
    assert.equal(await git.readBranchRef(path, ref), repo.initialCommit);
    repo.git(["update-ref", "-d", ref]);
    assert.equal(await git.readBranchRef(repo.dir, ref), null);
    assert.equal(await git.readBranchRef(repo.dir, "refs/heads/never-made"), null);
  });
});

describe("writeLooseRef", () => {
  test("writes a candidate ref git reads, lists, packs and checks, from the repository or a worktree, over a packed one", async () => {
    repo.write("README.md", "two\n");
    const second = await git.commitAll(repo.dir, "second");
    await git.writeLooseRef(repo.dir, "refs/autoresearch/t/1", repo.initialCommit);
    assert.equal(readFileSync(join(repo.dir, ".git", "refs/autoresearch/t/1"), "utf8"), `${repo.initialCommit}\n`, "a loose ref file, as git writes one");
    assert.equal(existsSync(join(repo.dir, ".git", "refs/autoresearch/t/1.lock")), false);
    assert.equal(repo.git(["rev-parse", "refs/autoresearch/t/1"]), repo.initialCommit);
    repo.git(["pack-refs", "--all"]);
    assert.equal(existsSync(join(repo.dir, ".git", "refs/autoresearch/t/1")), false, "packed");
    await git.writeLooseRef(repo.dir, "refs/autoresearch/t/1", second);
    assert.equal(repo.git(["rev-parse", "refs/autoresearch/t/1"]), second, "the loose ref overrides the packed one");
    const path = join(repo.root, "worktrees", "writer");
    await git.addWorktree(repo.dir, path, repo.initialCommit);
    await git.writeLooseRef(path, "refs/autoresearch/t/2", second);
    assert.equal(repo.git(["rev-parse", "refs/autoresearch/t/2"]), second, "written in the common git dir");
    assert.deepEqual((await git.listRefs(repo.dir, "refs/autoresearch/t/")).map((each) => each.ref), ["refs/autoresearch/t/1", "refs/autoresearch/t/2"]);
    repo.git(["fsck", "--strict", "--no-dangling"]);
    await assert.rejects(git.writeLooseRef(repo.dir, "refs/autoresearch/t/3", "no-such-thing"), /not a git revision|unable|not a valid/);
  });

  test("leaves it to git where git holds the lock, a ref is in the way, or every ref update must be logged", async () => {
    const lock = join(repo.dir, ".git", "refs/autoresearch/t/1.lock");
    mkdirSync(join(repo.dir, ".git", "refs/autoresearch/t"), { recursive: true });
    writeFileSync(lock, "");
    await assert.rejects(git.writeLooseRef(repo.dir, "refs/autoresearch/t/1", repo.initialCommit), /lock|exists/i, "git's own error about its lock");
    assert.equal(existsSync(lock), true, "someone else's lock is left alone");
    rmSync(lock);
    await git.writeLooseRef(repo.dir, "refs/autoresearch/t/x/y", repo.initialCommit);
    await assert.rejects(git.writeLooseRef(repo.dir, "refs/autoresearch/t/x", repo.initialCommit), /exists|cannot lock/i, "a directory of refs is in the way");
    const other = makeTempRepo({ "a.txt": "a\n" });
    try {
      other.git(["config", "core.logAllRefUpdates", "always"]);
      await git.writeLooseRef(other.dir, "refs/autoresearch/t/1", other.initialCommit);
      assert.equal(existsSync(join(other.dir, ".git", "logs", "refs/autoresearch/t/1")), true, "git wrote the reflog the config asks for");
    } finally {
      other.cleanup();
    }
  });
});

describe("worktrees", () => {
  test("add, list and remove a detached worktree", async () => {
    const path = join(repo.root, "worktrees", "exp-1");
    await git.addWorktree(repo.dir, path, repo.initialCommit);
    assert.equal(readFileSync(join(path, "src/model.py"), "utf8"), "lr = 0.1\n");
    assert.equal(await git.currentBranch(path), null);
    assert.equal(await git.gitCommonDir(path), join(repo.dir, ".git"));
    const listed = await git.listWorktrees(repo.dir);
    assert.deepEqual(listed[0], { path: repo.dir, head: repo.initialCommit, detached: false, branch: "refs/heads/main" });
    assert.deepEqual(listed[1], { path, head: repo.initialCommit, detached: true, branch: null });

    repo.write("scratch.txt", "uncommitted\n", path);
    await git.removeWorktree(repo.dir, path);
    assert.equal(existsSync(path), false);
    assert.deepEqual((await git.listWorktrees(repo.dir)).map((entry) => entry.path), [repo.dir]);
  });

  test("removeWorktree tolerates a directory that was already deleted, and the path can be reused", async () => {
    const path = join(repo.root, "worktrees", "exp-2");
    await git.addWorktree(repo.dir, path, repo.initialCommit);
    rmSync(path, { recursive: true, force: true });
    await git.removeWorktree(repo.dir, path);
    assert.deepEqual((await git.listWorktrees(repo.dir)).map((entry) => entry.path), [repo.dir]);
    await git.addWorktree(repo.dir, path, repo.initialCommit);
    assert.equal(existsSync(join(path, "README.md")), true);
  });

  test("pruneWorktrees forgets worktrees whose directories are gone", async () => {
    const path = join(repo.root, "worktrees", "exp-3");
    await git.addWorktree(repo.dir, path, repo.initialCommit);
    rmSync(path, { recursive: true, force: true });
    assert.equal((await git.listWorktrees(repo.dir)).length, 2);
    await git.pruneWorktrees(repo.dir);
    assert.equal((await git.listWorktrees(repo.dir)).length, 1);
  });

  test("a commit in a worktree moves neither the main checkout's HEAD nor its files", async () => {
    const path = join(repo.root, "worktrees", "exp-4");
    await git.addWorktree(repo.dir, path, repo.initialCommit);
    repo.write("src/model.py", "lr = 0.3\n", path);
    const candidate = await git.commitAll(path, "try lr 0.3");
    assert.equal(await git.headCommit(path), candidate);
    assert.equal(repo.git(["rev-parse", `${candidate}^`]), repo.initialCommit);
    assert.equal(repo.git(["log", "-1", "--format=%an <%ae>", candidate]), "autoresearch <autoresearch@localhost>");

    assert.equal(await git.headCommit(repo.dir), repo.initialCommit);
    assert.equal(repo.git(["rev-parse", "refs/heads/main"]), repo.initialCommit);
    assert.equal(readFileSync(join(repo.dir, "src/model.py"), "utf8"), "lr = 0.1\n");
    assert.equal(await git.isClean(repo.dir), true);
  });

  test("commitFiles commits on the parent without any checkout: new and changed files, nested paths, modes kept", async () => {
    repo.write("run.sh", "#!/bin/sh\necho one\n");
    chmodSync(join(repo.dir, "run.sh"), 0o755);
    const parent = await git.commitAll(repo.dir, "an executable script");
    const before = repo.git(["status", "--porcelain"]);
    const { commit, tree } = await git.commitFiles(repo.dir, parent, { "src/model.py": "lr = 0.5\n", "run.sh": "#!/bin/sh\necho two\n", "new/deep/file.txt": "x\n" }, "try lr 0.5\n\nbecause");
    assert.equal(repo.git(["rev-parse", `${commit}^`]), parent);
    assert.equal(repo.git(["rev-parse", `${commit}^{tree}`]), tree);
    assert.equal(await git.readFileAt(repo.dir, commit, "src/model.py"), "lr = 0.5\n");
    assert.equal(await git.readFileAt(repo.dir, commit, "new/deep/file.txt"), "x\n");
    assert.match(repo.git(["ls-tree", commit, "run.sh"]), /^100755 /, "an executable stays executable");
    assert.match(repo.git(["ls-tree", commit, "new/deep/file.txt"]), /^100644 /);
    assert.equal(repo.git(["log", "-1", "--format=%an <%ae> | %cn <%ce> | %B", commit]).trim(), "autoresearch <autoresearch@localhost> | autoresearch <autoresearch@localhost> | try lr 0.5\n\nbecause");
    assert.equal(await git.headCommit(repo.dir), parent, "HEAD does not move");
    assert.equal(repo.git(["status", "--porcelain"]), before, "the checkout and its index are untouched");
    assert.equal((await git.commitFiles(repo.dir, parent, {}, "nothing")).tree, await git.treeOf(repo.dir, parent));
  });

  test("commitFiles writes the tree git itself would: names that sort around a directory, a link turned file, a chain of candidates; git fsck --strict accepts it", async () => {
    // "a.b" < "a/" < "a0" in git's order (a directory sorts as if its name ended in "/"), unlike a plain string sort.
    for (const [path, content] of Object.entries({ "a/x": "1\n", "a.b": "2\n", "a-b": "3\n", "a0": "4\n", "ünï/cödé": "5\n" })) repo.write(path, content);
    symlinkSync("a.b", join(repo.dir, "link"));
    repo.git(["add", "--all"]);
    repo.git(["commit", "--quiet", "-m", "names and a link"]);
    const parent = repo.git(["rev-parse", "HEAD"]);
    const files = { "a/x": "one\n", "a/new/y": "new\n", "link": "now a file\n", "a0": "four\n", "ünï/cödé": "five\n", "z/1": "z\n" };
    const { commit, tree } = await git.commitFiles(repo.dir, parent, files, "candidate");
    // The same change made with git's own commands in a checkout.
    const path = join(repo.root, "worktrees", "compare");
    await git.addWorktree(repo.dir, path, parent);
    rmSync(join(path, "link"));
    for (const [file, content] of Object.entries(files)) repo.write(file, content, path);
    const byGit = await git.commitAll(path, "the same by git");
    assert.equal(tree, await git.treeOf(repo.dir, byGit));
    assert.deepEqual(await git.listFilesAt(repo.dir, commit), repo.git(["ls-tree", "-r", "-z", "--name-only", commit]).split("\0").filter(Boolean));
    assert.equal(await git.readFileAt(repo.dir, commit, "a/new/y"), "new\n");
    assert.equal(await git.readFileAt(repo.dir, commit, "a.b"), "2\n");
    assert.equal(await git.readFileAt(repo.dir, commit, "a"), null, "a directory is no file");
    assert.equal(await git.readFileAt(repo.dir, commit, "missing"), null);
    let chain = commit;
    for (let step = 0; step < 3; step++) chain = (await git.commitFiles(repo.dir, chain, { "a/new/y": `step ${step}\n` }, `step ${step}`)).commit;
    assert.equal(repo.git(["show", `${chain}:a/new/y`]), "step 2");
    assert.equal(repo.git(["rev-list", "--count", `${parent}..${chain}`]), "4");
    repo.git(["fsck", "--strict", "--no-dangling"]);
  });

  test("commitFiles in a sha256 repository (objects this code does not write) goes through git's commands", async () => {
    const { root, cleanup } = makeTempRoot();
    try {
      const dir = join(root, "sha256");
      mkdirSync(dir);
      repo.git(["init", "--quiet", "--object-format=sha256", dir]);
      repo.write("train.py", "lr = 1\n", dir);
      const first = await git.commitInitial(dir, "first");
      const { commit } = await git.commitFiles(dir, first, { "train.py": "lr = 2\n" }, "lr 2");
      assert.match(commit, /^[0-9a-f]{64}$/);
      assert.equal(await git.readFileAt(dir, commit, "train.py"), "lr = 2\n");
      assert.deepEqual(await git.listFilesAt(dir, commit), ["train.py"]);
    } finally {
      cleanup();
    }
  });

  test("resetWorktree makes a checkout exactly a commit: edits undone, untracked files gone unless told to keep them", async () => {
    const path = join(repo.root, "worktrees", "slot-0");
    await git.addWorktree(repo.dir, path, repo.initialCommit);
    const { commit } = await git.commitFiles(repo.dir, repo.initialCommit, { "src/model.py": "lr = 0.7\n" }, "lr 0.7");
    repo.write("src/model.py", "edited in place\n", path);
    repo.write("left-behind.txt", "planted\n", path);
    await git.resetWorktree(path, commit, { clean: false });
    assert.equal(readFileSync(join(path, "src/model.py"), "utf8"), "lr = 0.7\n");
    assert.ok(existsSync(join(path, "left-behind.txt")), "clean: false keeps untracked files");
    await git.resetWorktree(path, repo.initialCommit);
    assert.equal(await git.headCommit(path), repo.initialCommit);
    assert.ok(!existsSync(join(path, "left-behind.txt")), "untracked files are removed");
  });

  test("commitAll with nothing changed is an error", async () => {
    await assert.rejects(git.commitAll(repo.dir, "nothing"), /nothing to commit/);
  });

  test("8 concurrent experiments (worktree, commit, ref) in one repository all succeed", async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, async (_, index) => {
        const path = join(repo.root, "worktrees", `parallel-${index}`);
        await git.addWorktree(repo.dir, path, repo.initialCommit);
        repo.write("src/model.py", `lr = ${index}\n`, path);
        const commit = await git.commitAll(path, `experiment ${index}`);
        await git.updateRef(repo.dir, `refs/autoresearch/parallel/${index}`, commit, ZERO);
        return { index, commit };
      }),
    );
    assert.equal(new Set(results.map((result) => result.commit)).size, 8);
    for (const { index, commit } of results) {
      assert.equal(await git.readFileAt(repo.dir, commit, "src/model.py"), `lr = ${index}\n`);
      assert.equal(repo.git(["rev-parse", `${commit}^`]), repo.initialCommit);
    }
    assert.equal((await git.listWorktrees(repo.dir)).length, 9);
    assert.equal((await git.listRefs(repo.dir, "refs/autoresearch/parallel/")).length, 8);
  });

  test("the user's failing hooks and commit signing do not block commits or worktrees", async () => {
    const hooks = join(repo.root, "hooks");
    mkdirSync(hooks);
    for (const hook of ["pre-commit", "commit-msg", "prepare-commit-msg", "post-checkout", "post-commit"]) {
      repo.write(join("..", "hooks", hook), "#!/bin/sh\necho hook-ran >&2\nexit 1\n");
      chmodSync(join(hooks, hook), 0o755);
    }
    repo.git(["config", "core.hooksPath", hooks]);
    repo.git(["config", "commit.gpgsign", "true"]);
    repo.git(["config", "gpg.program", "/bin/false"]);
    assert.throws(() => repo.git(["commit", "--allow-empty", "-m", "x"]), "the hostile setup should block a plain commit");

    const path = join(repo.root, "worktrees", "hooked");
    await git.addWorktree(repo.dir, path, repo.initialCommit);
    repo.write("README.md", "committed anyway\n", path);
    const commit = await git.commitAll(path, "despite hooks");
    assert.equal(await git.readFileAt(repo.dir, commit, "README.md"), "committed anyway\n");
    const again = await git.commitFiles(repo.dir, commit, { "README.md": "and again\n" }, "despite hooks, without a checkout");
    assert.equal(await git.readFileAt(repo.dir, again.commit, "README.md"), "and again\n");
  });
});

describe("creating a project repository", () => {
  test("initRepo and commitInitial", async () => {
    const { root, cleanup } = makeTempRoot();
    try {
      const dir = join(root, "project");
      await git.initRepo(dir);
      assert.equal(await git.isGitRepo(dir), true);
      await assert.rejects(git.headCommit(dir), /no commit yet/);
      const empty = await git.commitInitial(dir, "empty start");
      assert.equal(await git.currentBranch(dir), "main");
      assert.equal(await git.headCommit(dir), empty);

      const withFiles = join(root, "with-files");
      mkdirSync(join(withFiles, "src"), { recursive: true });
      repo.write("src/train.py", "print('hi')\n", withFiles);
      await git.initRepo(withFiles);
      const first = await git.commitInitial(withFiles, "autoresearch init");
      assert.deepEqual(await git.listFilesAt(withFiles, first), ["src/train.py"]);
    } finally {
      cleanup();
    }
  });
});
