// One session that moves between executors as it is resumed — this machine, the local Slurm cluster, the
// Kubernetes stand-in (test/helpers/fake-kube.ts) — keeps one history: every experiment recorded once with
// where it ran, the replayed ideas continued where the last executor stopped, and the best carried across.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { Ledger } from "../../src/ledger/sqlite.ts";
import { runSession } from "../../src/loop/session.ts";
import { FakeKube } from "../helpers/fake-kube.ts";
import { baseConfig, CLI, gitIn, ledgerRows, makeProject, recordingBus, type Proposal } from "../helpers/project.ts";
import { slurmMissing } from "../helpers/slurm.ts";

const missing = slurmMissing();
const never = new AbortController().signal;
const REPO = join(import.meta.dirname, "..", "..");

test("a session resumed on this machine, then on Slurm, then on Kubernetes keeps one history and one best", { skip: missing ?? false }, async (t) => {
  const proposals: Proposal[] = [6, 2, 5, 1, 4, 7].map((x) => ({ description: `x to ${x}`, params: { x, mode: "ok" } }));
  const dir = makeProject(t, { proposals });
  const remote = mkdtempSync(join(tmpdir(), "autoresearch-remote-"));
  t.after(() => rmSync(remote, { recursive: true, force: true }));
  execFileSync("git", ["init", "-q", "--bare", remote]);
  const kube = await FakeKube.start(t, { claims: { prepared: join(dir, ".autoresearch", "data") } });
  // The session's config (frozen at its base) names the Kubernetes executor; --executor picks the others.
  const executor = {
    kind: "kubernetes", image: "autoresearch-worker:test", gitRemote: remote, kubeconfig: kube.kubeconfig, namespace: "research",
    gpusPerJob: 0, data: { claimName: "prepared" },
    env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, AUTORESEARCH_HOME: REPO }, sandboxReadOnly: [process.execPath],
  };
  writeFileSync(join(dir, "autoresearch.config.json"), `${JSON.stringify(baseConfig({ slots: 1, outputs: "all", executor }), null, 2)}\n`);
  gitIn(dir, "-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "-qam", "a study that moves");

  await runSession({ projectDir: dir, tag: "study", bus: recordingBus().bus, signal: never, executorKind: "local", maxExperiments: 3 });
  await runSession({ projectDir: dir, tag: "study", bus: recordingBus().bus, signal: never, executorKind: "slurm", maxExperiments: 5 });
  const last = await runSession({ projectDir: dir, tag: "study", bus: recordingBus().bus, signal: never });
  assert.match(last.reason, /replay file exhausted/);

  const rows = ledgerRows(dir);
  const trace = rows.map((row) => `${row.id} ${row.kind} ${row.description} ${row.status} ${row.metric} ${row.decision} ${JSON.stringify(row.ranOn)}`).join("\n");
  assert.deepEqual(rows.map((row) => row.id), rows.map((_, index) => index + 1), trace);
  assert.deepEqual(rows.filter((row) => row.kind === "candidate").map((row) => row.description).sort(), proposals.map((each) => each.description).sort(), `each idea ran once\n${trace}`);
  assert.ok(rows.every((row) => row.status === "ok"), trace);
  const where = rows.map((row) => (row.ranOn?.pod ? "kubernetes" : row.ranOn?.slurmJobId ? "slurm" : row.ranOn?.host === hostname() && row.ranOn.deviceName === cpus()[0]!.model.trim() ? "local" : "?"));
  assert.deepEqual([...new Set(where)], ["local", "slurm", "kubernetes"], `in that order, each recorded\n${trace}`);
  assert.deepEqual(where.slice(0, 3), ["local", "local", "local"], trace);
  assert.equal(where.filter((each) => each === "slurm").length, 2, trace);

  // The best is the best of all three, and (one slot) every candidate was built on the best of its time.
  const ledger = Ledger.open(join(dir, ".autoresearch"), { readOnly: true });
  const session = ledger.getSession("study")!;
  ledger.close();
  const best = Math.min(...rows.map((row) => row.metric!));
  assert.equal(session.bestMetric, best, trace);
  assert.equal(gitIn(dir, "rev-parse", "autoresearch/study"), session.bestCommit);
  let bestCommit = rows[0]!.candidateCommit ?? rows[0]!.parentCommit;
  for (const row of rows.slice(1)) {
    if (row.kind !== "candidate") continue;
    assert.equal(row.parentCommit, bestCommit, `experiment ${row.id} builds on the best of its time\n${trace}`);
    if (row.decision === "keep") bestCommit = row.candidateCommit!;
  }

  const results = spawnSync(process.execPath, [CLI, "results", "--tag", "study"], { cwd: dir, encoding: "utf8" });
  assert.equal(results.status, 0, results.stderr);
  assert.match(results.stdout.split("\n")[0]!, /ran on/, "runs on several machines get the column");
  const listed = results.stdout.split("\n").filter((line) => /^\s+\d+\s/.test(line));
  assert.equal(listed.length, rows.length, results.stdout);
  const host = hostname().replace(/[.]/g, "\\.");
  const column = (line: string) => (new RegExp(` ${host} · `).test(line) ? "slurm" : / node-1 /.test(line) ? "kubernetes" : new RegExp(` ${host} `).test(line) ? "local" : "?");
  assert.deepEqual(listed.map(column), where, results.stdout);
});
