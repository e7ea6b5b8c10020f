// The first thing a new user runs: `autoresearch demo`, then `init` + `doctor`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, gitIn } from "../helpers/project.ts";

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "autoresearch-demo-test-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("demo creates a ts-demo project and runs a real session on it", (t) => {
  const dir = join(tempDir(t), "study");
  const result = spawnSync(process.execPath, [CLI, "demo", "--dir", dir, "--budget", "2", "--max-experiments", "4"], { encoding: "utf8", timeout: 300_000 });
  assert.equal(result.status, 0, result.stderr + result.stdout);
  assert.match(result.stdout, /prepare: done/);
  assert.match(result.stdout, /noise: σ = /);
  assert.match(result.stdout, /stopped: ran the maximum of 4 experiments/);
  assert.match(result.stdout, new RegExp(`the project is a git repository: ${dir}`));
  const tsv = readFileSync(join(dir, "results.tsv"), "utf8").trim().split("\n");
  assert.equal(tsv.length, 5, "a header and four experiments");
  assert.match(tsv[0]!, /^commit\tval_bpb\tmemory_gb\tstatus\tdescription\t.*test_bpb/);
  for (const row of tsv.slice(1)) {
    const bpb = Number(row.split("\t")[1]);
    assert.ok(bpb > 0.5 && bpb < 8, `val_bpb ${bpb} is a real bits-per-byte figure (uniform is 8)`);
  }
  const branches = gitIn(dir, "branch", "--list", "autoresearch/*");
  assert.match(branches, /autoresearch\//, "the session branch exists");
  assert.equal(gitIn(dir, "status", "--porcelain"), "", "the user's checkout stays clean");
});

test("init refuses a non-empty directory and an unknown template, naming the available ones", (t) => {
  const dir = tempDir(t);
  const unknown = spawnSync(process.execPath, [CLI, "init", join(dir, "x"), "--template", "nope"], { encoding: "utf8" });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown template "nope"/);
  assert.match(unknown.stderr, /Available templates: .*ts-demo/);
  const created = spawnSync(process.execPath, [CLI, "init", join(dir, "y"), "--template", "ts-demo"], { encoding: "utf8" });
  assert.equal(created.status, 0, created.stderr);
  assert.ok(existsSync(join(dir, "y", "program.md")));
  assert.equal(gitIn(join(dir, "y"), "log", "--oneline").split("\n").length, 1);
  const again = spawnSync(process.execPath, [CLI, "init", join(dir, "y")], { encoding: "utf8" });
  assert.equal(again.status, 2);
  assert.match(again.stderr, /already exists and is not empty/);
});

test("doctor reports the tools it found", () => {
  const result = spawnSync(process.execPath, [CLI, "doctor", "--json"], { encoding: "utf8", cwd: tmpdir() });
  assert.equal(result.status, 0, result.stderr);
  const checks = JSON.parse(result.stdout) as Array<{ name: string; ok: boolean; detail: string }>;
  const node = checks.find((check) => check.name === "node")!;
  assert.equal(node.ok, true);
  assert.match(node.detail, new RegExp(process.version.replace(/\./g, "\\.")));
  assert.equal(checks.find((check) => check.name === "git")?.ok, true);
});
