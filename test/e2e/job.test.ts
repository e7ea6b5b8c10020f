// An experiment as a portable job: the spec the harness wrote, run by `autoresearch job` as its own
// process, gives what the in-process run gave; a spec whose checkout does not match is refused
// before anything runs.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { JobResult, JobSpec } from "../../src/job/spec.ts";
import { runSession } from "../../src/loop/session.ts";
import { CLI, gitIn, ledgerRows, makeProject, recordingBus } from "../helpers/project.ts";

const never = new AbortController().signal;

function runJobCli(cwd: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, "job", ...args], { cwd, encoding: "utf8", timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("autoresearch job reruns the harness's own spec in a separate process and gets the same result", async (t) => {
  const dir = makeProject(t, { proposals: [{ description: "x to 6", params: { x: 6, mode: "ok" } }] });
  await runSession({ projectDir: dir, tag: "j", bus: recordingBus().bus, signal: never });
  const candidate = ledgerRows(dir).find((row) => row.description === "x to 6")!;
  assert.equal(candidate.status, "ok");
  const specPath = join(dir, ".autoresearch", "runs", String(candidate.id), "job.json");
  const spec = JSON.parse(readFileSync(specPath, "utf8")) as JobSpec;
  assert.equal(spec.commit, candidate.candidateCommit);
  assert.equal(spec.commit, gitIn(dir, "rev-parse", `refs/autoresearch/j/${candidate.id}`), "the spec names the candidate's ref commit");
  const inProcess = JSON.parse(readFileSync(spec.resultPath, "utf8")) as JobResult;
  assert.equal(inProcess.metric, candidate.metric);

  const scratch = mkdtempSync(join(tmpdir(), "autoresearch-job-test-"));
  t.after(() => rmSync(scratch, { recursive: true, force: true }));
  const out = runJobCli(dir, specPath, "--scratch", "--result", join(scratch, "result.json"), "--output", join(scratch, "run", "out"), "--log", join(scratch, "job.log"));
  assert.equal(out.code, 0, out.stderr + out.stdout);
  assert.match(out.stdout, /job \d+: ok score 1/, readFileSync(join(scratch, "job.log"), "utf8"));
  const separate = JSON.parse(readFileSync(join(scratch, "result.json"), "utf8")) as JobResult;
  assert.equal(separate.status, "ok");
  assert.equal(separate.metric, inProcess.metric);
  assert.equal(separate.heldOut, inProcess.heldOut);
  assert.deepEqual(separate.secondary, inProcess.secondary);
  assert.ok(separate.device.name, "the result names the device it ran on");
  assert.equal(gitIn(dir, "worktree", "list").split("\n").length, 1, "a scratch job registers nothing in the repository");
});

test("autoresearch job refuses a spec whose protected files do not match the checkout, before anything runs", async (t) => {
  const dir = makeProject(t, { proposals: [] });
  await runSession({ projectDir: dir, tag: "j", bus: recordingBus().bus, signal: never });
  const baseline = ledgerRows(dir)[0]!;
  const spec = JSON.parse(readFileSync(join(dir, ".autoresearch", "runs", String(baseline.id), "job.json"), "utf8")) as JobSpec;
  assert.ok("evaluate.js" in spec.protectedChecksums, "the evaluator is among the protected checksums");
  const scratch = mkdtempSync(join(tmpdir(), "autoresearch-job-test-"));
  t.after(() => rmSync(scratch, { recursive: true, force: true }));
  const tampered: JobSpec = {
    ...spec, workdir: null, protectedChecksums: { ...spec.protectedChecksums, "evaluate.js": "0".repeat(64) },
    resultPath: join(scratch, "result.json"), runDir: join(scratch, "run"), outputDir: join(scratch, "run", "out"), logPath: join(scratch, "job.log"),
  };
  writeFileSync(join(scratch, "job.json"), JSON.stringify(tampered));
  const out = runJobCli(dir, join(scratch, "job.json"));
  assert.equal(out.code, 0, out.stderr);
  const result = JSON.parse(readFileSync(join(scratch, "result.json"), "utf8")) as JobResult;
  assert.equal(result.status, "rejected");
  assert.match(result.reason!, /protected files differ from the session's: changed: evaluate\.js/);
  assert.equal(existsSync(join(scratch, "run", "out")), false, "train never ran: it would have written its output");
  assert.match(readFileSync(join(scratch, "job.log"), "utf8"), /refused before running/);
  assert.equal(result.timings.trainMs, undefined);
});

test("autoresearch job says what is wrong with a file that is not a job spec", (t) => {
  const scratch = mkdtempSync(join(tmpdir(), "autoresearch-job-test-"));
  t.after(() => rmSync(scratch, { recursive: true, force: true }));
  writeFileSync(join(scratch, "bad.json"), JSON.stringify({ version: 1, commit: "main" }));
  const bad = runJobCli(scratch, "bad.json");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /is not a job spec/);
  assert.match(bad.stderr, /commit: must be a full commit id/);
  const missing = runJobCli(scratch, "nope.json");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.json does not exist/);
});
