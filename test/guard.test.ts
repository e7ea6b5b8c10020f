import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkScope, type FileChange } from "../src/guard/scope.ts";
import { dataFingerprints, diffHashes, hashFile, hashTree, protectedFiles, sameFingerprints, snapshotDirectory, statFingerprints, verifySnapshot } from "../src/guard/checksums.ts";
import { scrubEnvironment } from "../src/guard/env.ts";
import { tempTree } from "./helpers/guard.ts";

const rules = {
  mutable: ["train.py", "model/**"],
  protected: ["prepare.py", "evaluate.py", "model/constants.py"],
  alwaysProtected: ["autoresearch.config.json", "program.md"],
};
const modified = (path: string): FileChange => ({ status: "M", path });

test("scope: edits, additions and deletions of mutable files are allowed", () => {
  const changes: FileChange[] = [modified("train.py"), { status: "A", path: "model/attention.py" }, { status: "D", path: "model/old.py" }];
  assert.deepEqual(checkScope(changes, rules), { ok: true });
  assert.deepEqual(checkScope([{ status: "R100", oldPath: "model/a.py", path: "model/b.py" }], rules), { ok: true });
  // dot: true, so hidden files inside a mutable folder are covered too.
  assert.deepEqual(checkScope([modified("model/.settings.json")], rules), { ok: true });
});

test("scope: a protected file is refused even inside a mutable folder", () => {
  const verdict = checkScope([modified("train.py"), modified("model/constants.py")], rules);
  assert.equal(verdict.ok, false);
  if (verdict.ok) return;
  assert.deepEqual(verdict.offending, ["model/constants.py"]);
  assert.match(verdict.reason, /model\/constants\.py is protected \(matches "model\/constants\.py"\)/);
  assert.doesNotMatch(verdict.reason, /train\.py/);
});

test("scope: a file matched by neither list is refused as not mutable", () => {
  const verdict = checkScope([modified("README.md")], rules);
  assert.equal(verdict.ok, false);
  if (verdict.ok) return;
  assert.deepEqual(verdict.offending, ["README.md"]);
  assert.match(verdict.reason, /README\.md is not mutable \(matches none of "train\.py", "model\/\*\*"\)/);
});

test("scope: renames are checked at both ends", () => {
  const outOf = checkScope([{ status: "R097", oldPath: "model/net.py", path: "scripts/net.py" }], rules);
  assert.equal(outOf.ok, false);
  if (!outOf.ok) assert.deepEqual(outOf.offending, ["scripts/net.py"]);
  // Moving the evaluator into a mutable folder would delete it from where it belongs.
  const fromProtected = checkScope([{ status: "R100", oldPath: "evaluate.py", path: "model/evaluate.py" }], rules);
  assert.equal(fromProtected.ok, false);
  if (!fromProtected.ok) assert.deepEqual(fromProtected.offending, ["evaluate.py"]);
  // A copy only reads its source.
  assert.deepEqual(checkScope([{ status: "C80", oldPath: "evaluate.py", path: "model/eval_copy.py" }], rules), { ok: true });
});

test("scope: deleting a protected file is refused", () => {
  const verdict = checkScope([{ status: "D", path: "prepare.py" }], rules);
  assert.equal(verdict.ok, false);
  if (!verdict.ok) assert.match(verdict.reason, /prepare\.py is protected/);
});

test("scope: the config file and program.md stay protected even when everything is mutable", () => {
  const everything = { ...rules, mutable: ["**"], protected: [] };
  const verdict = checkScope([modified("autoresearch.config.json"), modified("program.md"), modified("notes.txt")], everything);
  assert.equal(verdict.ok, false);
  if (verdict.ok) return;
  assert.deepEqual(verdict.offending, ["autoresearch.config.json", "program.md"]);
  assert.match(verdict.reason, /2 files it may not: autoresearch\.config\.json is always protected.*; program\.md is always protected/);
});

test("scope: paths that leave the project are refused", () => {
  const verdict = checkScope([modified("model/../../etc/passwd"), modified("/etc/hosts")], { ...rules, mutable: ["**"] });
  assert.equal(verdict.ok, false);
  if (!verdict.ok) assert.deepEqual(verdict.offending, ["model/../../etc/passwd", "/etc/hosts"]);
});

test("checksums: hashFile streams any size and matches sha256 of the content", async (t) => {
  const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7); // several read chunks
  const dir = tempTree(t, { "abc.txt": "abc", "big.bin": big, "empty": "" });
  assert.equal(await hashFile(join(dir, "abc.txt")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(await hashFile(join(dir, "big.bin")), createHash("sha256").update(big).digest("hex"));
  assert.equal(await hashFile(join(dir, "empty")), createHash("sha256").digest("hex"));
  await assert.rejects(hashFile(join(dir, "absent")), /ENOENT/);
});

test("checksums: hashFile is exact on both sides of the read-whole limit", async (t) => {
  const limit = Buffer.alloc(1024 * 1024, 3); // read whole
  const over = Buffer.alloc(1024 * 1024 + 1, 3); // streamed
  const dir = tempTree(t, { limit, over });
  assert.equal(await hashFile(join(dir, "limit")), createHash("sha256").update(limit).digest("hex"));
  assert.equal(await hashFile(join(dir, "over")), createHash("sha256").update(over).digest("hex"));
});

test("checksums: a pipe, a device or a directory where a file was is named, never read (reading could block or never end)", async (t) => {
  const dir = tempTree(t, { "evaluate.sh": "echo 1\n", "sub/keep": "x" });
  const before = await hashTree(dir, ["evaluate.sh", "zero", "sub"]);
  rmSync(join(dir, "evaluate.sh"));
  execFileSync("mkfifo", [join(dir, "evaluate.sh")]); // no writer: a read would wait forever
  symlinkSync("/dev/zero", join(dir, "zero")); // a read would never end
  const after = await hashTree(dir, ["evaluate.sh", "zero", "sub"]);
  assert.equal(after["evaluate.sh"], "not a regular file: a named pipe");
  assert.equal(after.zero, "not a regular file: a device");
  assert.equal(after.sub, "not a regular file: a directory");
  assert.equal(before.sub, after.sub); // a directory before and after: the same
  assert.deepEqual(diffHashes(before, after), ["changed: evaluate.sh", "added: zero"]);
});

test("checksums: hashTree + diffHashes report changed, missing and added protected files", async (t) => {
  const dir = tempTree(t, { "evaluate.py": "score()", "prepare.py": "download()", "lib/consts.py": "VOCAB = 256" });
  const before = await hashTree(dir, ["prepare.py", "evaluate.py", "lib/consts.py"]);
  assert.deepEqual(Object.keys(before), ["evaluate.py", "lib/consts.py", "prepare.py"]);
  assert.deepEqual(diffHashes(before, await hashTree(dir, Object.keys(before))), []);

  appendFileSync(join(dir, "evaluate.py"), "\nreturn 0.0");
  rmSync(join(dir, "prepare.py"));
  const after = await hashTree(dir, [...Object.keys(before), "lib/new.py"]); // lib/new.py does not exist: left out
  assert.deepEqual(Object.keys(after), ["evaluate.py", "lib/consts.py"]);
  assert.deepEqual(diffHashes(before, { ...after, "lib/new.py": "x" }), ["changed: evaluate.py", "added: lib/new.py", "missing: prepare.py"]);
});

test("checksums: a data snapshot catches a changed, a missing and an added file", async (t) => {
  const dir = tempTree(t, { "train.bin": "0123456789", "val.bin": "abcdef", "meta/vocab.json": "{}" });
  const snapshot = await snapshotDirectory(dir);
  assert.deepEqual(Object.keys(snapshot.files), ["meta/vocab.json", "train.bin", "val.bin"]);
  assert.equal(snapshot.totalBytes, 18);
  assert.deepEqual(snapshot.files["val.bin"], { sha256: createHash("sha256").update("abcdef").digest("hex"), bytes: 6 });
  assert.deepEqual(await verifySnapshot(dir, snapshot), []);

  writeFileSync(join(dir, "train.bin"), "0123456780"); // same size, different content
  rmSync(join(dir, "val.bin"));
  mkdirSync(join(dir, "cache"));
  writeFileSync(join(dir, "cache/x"), "leak");
  assert.deepEqual(await verifySnapshot(dir, snapshot), ["added: cache/x", "missing: val.bin", "changed: train.bin"].sort());

  rmSync(dir, { recursive: true });
  assert.deepEqual(await verifySnapshot(dir, snapshot), ["missing: meta/vocab.json", "missing: train.bin", "missing: val.bin"]);
});

test("checksums: fingerprints of files and of a data directory change with a write, a replacement, an added, a removed or a dangling file", async (t) => {
  const dir = tempTree(t, { "train.bin": "0123456789", "meta/vocab.json": "{}", "code/model.py": "lr = 1\n" });
  const data = await dataFingerprints(dir);
  const code = await statFingerprints(dir, ["code/model.py", "missing.py"]);
  assert.deepEqual(Object.keys(data), ["code/model.py", "meta/vocab.json", "train.bin"]);
  assert.deepEqual(Object.keys(code), ["code/model.py"], "a missing file is left out");
  assert.ok(sameFingerprints(data, await dataFingerprints(dir)), "reading changes nothing");
  assert.ok(sameFingerprints(code, await statFingerprints(dir, ["missing.py", "code/model.py"])));

  appendFileSync(join(dir, "train.bin"), "0");
  assert.ok(!sameFingerprints(data, await dataFingerprints(dir)), "a write");
  const written = await dataFingerprints(dir);
  writeFileSync(join(dir, "replacement"), "{}");
  rmSync(join(dir, "meta/vocab.json"));
  renameSync(join(dir, "replacement"), join(dir, "meta/vocab.json"));
  assert.ok(!sameFingerprints(written, await dataFingerprints(dir)), "the same content in a new file");
  const replaced = await dataFingerprints(dir);
  writeFileSync(join(dir, "extra"), "");
  assert.ok(!sameFingerprints(replaced, await dataFingerprints(dir)), "an added file");
  rmSync(join(dir, "extra"));
  assert.ok(sameFingerprints(replaced, await dataFingerprints(dir)));
  rmSync(join(dir, "code/model.py"));
  assert.ok(!sameFingerprints(code, await statFingerprints(dir, ["code/model.py"])), "a removed file");
  symlinkSync("nowhere", join(dir, "dangling"));
  assert.equal((await dataFingerprints(dir)).dangling, "broken");
  assert.deepEqual(await dataFingerprints(join(dir, "no-such-dir")), {});
});

test("checksums: symlinks are hashed by their target; broken links are reported", async (t) => {
  const dir = tempTree(t, { "blobs/abc": "tokens", "other": "x" });
  symlinkSync("blobs/abc", join(dir, "train.bin"));
  symlinkSync(".", join(dir, "loop")); // a cycle must not hang the walk
  const snapshot = await snapshotDirectory(dir);
  assert.deepEqual(Object.keys(snapshot.files), ["blobs/abc", "other", "train.bin"]);
  assert.equal(snapshot.files["train.bin"].sha256, snapshot.files["blobs/abc"].sha256);

  writeFileSync(join(dir, "blobs/abc"), "tokenz");
  assert.deepEqual(await verifySnapshot(dir, snapshot), ["changed: blobs/abc", "changed: train.bin"]);

  symlinkSync("nowhere", join(dir, "dangling"));
  assert.ok((await verifySnapshot(dir, snapshot)).includes("broken link: dangling"));
  await assert.rejects(snapshotDirectory(dir), /broken symlinks: dangling/);
});

test("checksums: protectedFiles lists matches, with dotfiles, outside .git, node_modules and .autoresearch", async (t) => {
  const dir = tempTree(t, {
    "evaluate.py": "", "train.py": "", "data/prepare.py": "", ".hidden/eval.py": "",
    ".git/hooks/x.py": "", "node_modules/pkg/a.py": "", ".autoresearch/worktrees/1/evaluate.py": "", "vendor/lib.py": "",
    "autoresearch.config.json": "{}",
  });
  const globs = ["evaluate.py", "**/prepare.py", ".hidden/**", "**/*.py", "autoresearch.config.json"];
  assert.deepEqual(await protectedFiles(dir, ["evaluate.py", "**/prepare.py", ".hidden/**"]), [".hidden/eval.py", "data/prepare.py", "evaluate.py"]);
  assert.deepEqual(await protectedFiles(dir, globs, ["vendor"]), [".hidden/eval.py", "autoresearch.config.json", "data/prepare.py", "evaluate.py", "train.py"]);
  assert.deepEqual(await protectedFiles(dir, []), []);
});

test("env: only the allow-list passes: what programs need is kept, everything else (credentials or not) is left out", () => {
  const harnessEnv: NodeJS.ProcessEnv = {
    // kept: the defaults
    PATH: "/usr/local/bin:/usr/bin", HOME: "/home/ada", USER: "ada", LANG: "en_US.UTF-8", LC_ALL: "C.UTF-8", LC_CTYPE: "C.UTF-8", TERM: "xterm-256color",
    TMPDIR: "/tmp", SHELL: "/bin/bash", PYTHONPATH: "/home/ada/lib", PYTHONUNBUFFERED: "1", VIRTUAL_ENV: "/home/ada/.venv",
    CUDA_VISIBLE_DEVICES: "0", CUDA_HOME: "/usr/local/cuda", NVIDIA_VISIBLE_DEVICES: "all", OMP_NUM_THREADS: "8", LD_LIBRARY_PATH: "/usr/local/cuda/lib64",
    NODE_OPTIONS: "--max-old-space-size=4096", TOKENIZERS_PARALLELISM: "false", AUTORESEARCH_PYTHON: "/opt/py/bin/python3",
    // left out: harmless-looking ones too, unless the config names them
    PWD: "/home/ada/project", HF_HOME: "/data/hf", WANDB_MODE: "offline", XDG_RUNTIME_DIR: "/run/user/1000", PASSENGER_COUNT: "2",
    // left out: credentials whatever they are called
    OPENAI_API_KEY: "sk-proj-abcdefghijklmnopqrstuvwxyz", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI", GITHUB_TOKEN: "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    SSH_AUTH_SOCK: "/tmp/ssh-XXXX/agent.123", PGPASSWORD: "hunter2", DATA_URL: "postgres://ada:hunter2@db.example.com/prod",
    MODEL_ACCESS: "plain-looking-secret", DBUS_SESSION_BUS_ADDRESS: "unix:path=/run/user/1000/bus", KUBECONFIG: "/home/ada/.kube/config",
    // left out: the harness sets the contract's variables itself, per phase; an inherited one never passes
    AUTORESEARCH_SPLIT_SECRET: "inherited", AUTORESEARCH_METRICS_FILE: "/elsewhere/metrics.json", AUTORESEARCH_TEST_SECRET_TOKEN: "x",
  };
  const { env, removed } = scrubEnvironment(harnessEnv);
  const keptNames = Object.keys(env).sort();
  assert.deepEqual(keptNames, [
    "AUTORESEARCH_PYTHON", "CUDA_HOME", "CUDA_VISIBLE_DEVICES", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "LD_LIBRARY_PATH", "NODE_OPTIONS",
    "NVIDIA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "PATH", "PYTHONPATH", "PYTHONUNBUFFERED", "SHELL", "TERM", "TMPDIR", "TOKENIZERS_PARALLELISM",
    "USER", "VIRTUAL_ENV",
  ]);
  assert.equal(env.PATH, harnessEnv.PATH);
  assert.deepEqual(removed, Object.keys(harnessEnv).filter((name) => !keptNames.includes(name)).sort());
  // Only names are reported, never the values.
  assert.ok(!removed.some((name) => name.includes("hunter2")));
});

test("env: pass adds the variables the config names; the input is not modified", () => {
  const input: NodeJS.ProcessEnv = { PATH: "/bin", HF_HOME: "/data/hf", DATASET_TOKEN: "abc", OPENAI_API_KEY: "sk-x", UNSET: undefined };
  const { env, removed } = scrubEnvironment(input, { pass: ["HF_HOME", "DATASET_TOKEN", "NOT_SET_HERE"] });
  assert.deepEqual(env, { PATH: "/bin", HF_HOME: "/data/hf", DATASET_TOKEN: "abc" });
  assert.deepEqual(removed, ["OPENAI_API_KEY"]);
  assert.equal(input.OPENAI_API_KEY, "sk-x");
});
