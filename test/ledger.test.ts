import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { EnvironmentError, UserError } from "../src/errors.ts";
import { Ledger } from "../src/ledger/sqlite.ts";
import type { LedgerExperiment } from "../src/ledger/sqlite.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "../src/ledger/schema.ts";
import { COMMIT_A, COMMIT_B, sampleExperiment, sampleSession, useTempDir } from "./helpers/ledger.ts";

/** A fresh ledger in a temp state dir, closed and removed after the test. */
function freshLedger(t: { after: (fn: () => void) => void }): { ledger: Ledger; stateDir: string; defer: (fn: () => void) => void } {
  const { dir, defer } = useTempDir(t);
  const stateDir = join(dir, "state");
  const ledger = Ledger.open(stateDir);
  defer(() => ledger.close());
  return { ledger, stateDir, defer };
}

test("open creates <stateDir>/ledger.db in WAL mode at the current schema version, and reopening keeps the data", (t) => {
  const { ledger, stateDir } = freshLedger(t);
  ledger.createSession(sampleSession("mar1"));
  ledger.close();

  const raw = new DatabaseSync(join(stateDir, "ledger.db"), { readOnly: true });
  assert.equal((raw.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode, "wal");
  assert.equal((raw.prepare("PRAGMA user_version").get() as { user_version: number }).user_version, SCHEMA_VERSION);
  raw.close();

  const reopened = Ledger.open(stateDir);
  assert.equal(reopened.getSession("mar1")?.branch, "autoresearch/mar1");
  assert.deepEqual(reopened.checkIntegrity(), []);
  reopened.close();
});

test("a ledger written by a newer schema is refused with a message saying to upgrade", (t) => {
  const { ledger, stateDir } = freshLedger(t);
  ledger.close();
  const raw = new DatabaseSync(join(stateDir, "ledger.db"));
  raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();
  assert.throws(() => Ledger.open(stateDir), (error: unknown) =>
    error instanceof EnvironmentError && /newer|only knows/.test(error.message) && /upgrade/.test(error.hint ?? ""));
  assert.throws(() => Ledger.open(stateDir, { readOnly: true }), EnvironmentError);
});

test("a ledger from before review flags and isolation is migrated: old rows read as no flags and unknown isolation", (t) => {
  const { ledger, stateDir } = freshLedger(t);
  ledger.createSession(sampleSession("old"));
  const id = ledger.startExperiment(sampleExperiment("old"));
  ledger.close();
  // Back to schema version 1, as an older autoresearch left it.
  const raw = new DatabaseSync(join(stateDir, "ledger.db"));
  raw.exec("ALTER TABLE experiments DROP COLUMN flags; ALTER TABLE sessions DROP COLUMN isolation; PRAGMA user_version = 1");
  raw.close();
  assert.throws(() => Ledger.open(stateDir, { readOnly: true }), EnvironmentError, "a viewer cannot migrate");

  const migrated = Ledger.open(stateDir);
  t.after(() => migrated.close());
  assert.deepEqual(migrated.getExperiment(id)?.flags, []);
  assert.equal(migrated.getSession("old")?.isolation, null);
  migrated.setIsolation("old", "unsandboxed");
  assert.equal(migrated.getSession("old")?.isolation, "unsandboxed");
  migrated.updateExperiment(id, { flags: [{ kind: "implausible_score", detail: "val_bpb 0.008 improves on 2.6" }] });
  assert.deepEqual(migrated.getExperiment(id)?.flags, [{ kind: "implausible_score", detail: "val_bpb 0.008 improves on 2.6" }]);
  assert.throws(() => migrated.updateSession("old", { isolation: "none" as never }), /CHECK constraint/);
});

test("a version-2 ledger gains the measurement kinds: its rows, references and best survive the table's rebuild", (t) => {
  const { dir } = useTempDir(t);
  const stateDir = join(dir, "state");
  const raw = (() => {
    const created = Ledger.open(stateDir);
    created.close();
    return new DatabaseSync(join(stateDir, "ledger.db"), { enableForeignKeyConstraints: false });
  })();
  // Rebuild the file as autoresearch left it at schema version 2, with a session, a kept run and its confirmation.
  raw.exec("DROP TABLE experiments; DROP TABLE sessions; PRAGMA user_version = 0");
  raw.exec(MIGRATIONS[0]!);
  raw.exec(MIGRATIONS[1]!);
  raw.exec("PRAGMA user_version = 2");
  raw.exec(`INSERT INTO sessions (tag, branch, base_commit, created_at, config, best_commit, best_metric, best_experiment_id, noise_sigma, state)
    VALUES ('old', 'autoresearch/old', '${COMMIT_A}', '2025-03-01T10:00:00Z', '{}', '${COMMIT_B}', 1.5, 1, 0.1, 'stopped')`);
  const row = (id: number, kind: string, confirms: string) => `INSERT INTO experiments (id, tag, kind, confirms, parent_commit, candidate_commit, proposer,
    description, hypothesis, diff, status, decision, metric, secondary, self_reported, device, slot, log_path, timings, started_at, finished_at)
    VALUES (${id}, 'old', '${kind}', ${confirms}, '${COMMIT_A}', '${COMMIT_B}', 'search', 'lr up', '', '', 'ok', 'keep', 1.5, '{}', 0, 'cpu', 0, 'x.log', '{}',
    '2025-03-01T10:01:00Z', '2025-03-01T10:02:00Z')`;
  raw.exec(row(1, "candidate", "NULL"));
  raw.exec(row(2, "confirmation", "1"));
  assert.throws(() => raw.exec(row(3, "remeasure", "1")), /CHECK constraint/, "version 2 does not know the new kinds");
  raw.close();

  const migrated = Ledger.open(stateDir);
  t.after(() => migrated.close());
  assert.equal(migrated.getSession("old")?.bestExperimentId, 1);
  assert.equal(migrated.getExperiment(2)?.confirms, 1);
  assert.equal(migrated.getExperiment(2)?.kind, "confirmation");
  const remeasure = migrated.startExperiment(sampleExperiment("old", { kind: "remeasure", confirms: 1 }));
  assert.equal(remeasure, 3, "ids go on from the old table's");
  assert.equal(migrated.getExperiment(remeasure)?.kind, "remeasure");
  assert.throws(() => migrated.startExperiment(sampleExperiment("old", { kind: "bogus" as never })), /CHECK constraint/);
  assert.throws(() => migrated.startExperiment(sampleExperiment("old", { kind: "remeasure", confirms: 999 })), /FOREIGN KEY/, "references are enforced again");
  assert.deepEqual(migrated.checkIntegrity(), []);
  const check = new DatabaseSync(join(stateDir, "ledger.db"), { readOnly: true });
  assert.deepEqual(check.prepare("PRAGMA foreign_key_check").all(), []);
  check.close();
});

test("a version-4 ledger gains where each experiment ran: its rows read as not known, new ones record it", (t) => {
  const { ledger, stateDir } = freshLedger(t);
  ledger.createSession(sampleSession("old"));
  const id = ledger.startExperiment(sampleExperiment("old"));
  ledger.close();
  const raw = new DatabaseSync(join(stateDir, "ledger.db"));
  raw.exec("ALTER TABLE experiments DROP COLUMN ran_on; PRAGMA user_version = 4");
  raw.close();

  const migrated = Ledger.open(stateDir);
  t.after(() => migrated.close());
  assert.equal(migrated.getExperiment(id)?.ranOn, null);
  migrated.updateExperiment(id, { ranOn: { host: "node7", deviceName: "NVIDIA A100-SXM4-40GB", pod: "autoresearch-abc-7" } });
  assert.deepEqual(migrated.getExperiment(id)?.ranOn, { host: "node7", deviceName: "NVIDIA A100-SXM4-40GB", pod: "autoresearch-abc-7" });
});

test("opening read-only where no ledger exists says so instead of creating one", (t) => {
  const { dir } = useTempDir(t);
  assert.throws(() => Ledger.open(join(dir, "missing"), { readOnly: true }), (error: unknown) =>
    error instanceof UserError && /no ledger at/.test(error.message));
  assert.equal(existsSync(join(dir, "missing", "ledger.db")), false);
});

test("sessions round-trip every field, one per tag, and can be patched", (t) => {
  const { ledger } = freshLedger(t);
  const session = sampleSession("mar1", { config: { nested: { list: [1, "two", null] } }, noiseSigma: 0.0021 });
  ledger.createSession(session);
  ledger.createSession(sampleSession("mar2", { createdAt: "2025-03-02T10:00:00.000Z" }));
  assert.deepEqual(ledger.getSession("mar1"), session);
  assert.equal(ledger.getSession("nope"), null);
  assert.deepEqual(ledger.listSessions().map((s) => s.tag), ["mar1", "mar2"]);

  assert.throws(() => ledger.createSession(sampleSession("mar1", { branch: "other" })), (error: unknown) =>
    error instanceof UserError && /already exists/.test(error.message));
  assert.equal(ledger.getSession("mar1")?.branch, "autoresearch/mar1");

  ledger.updateSession("mar1", { state: "stopped", stopReason: "max experiments reached", bestMetric: 0.99 });
  assert.deepEqual(ledger.getSession("mar1"), { ...session, state: "stopped", stopReason: "max experiments reached", bestMetric: 0.99 });
  assert.throws(() => ledger.updateSession("nope", { state: "paused" }), /no session tagged "nope"/);
});

test("startExperiment writes the fields that follow from the new id in the same row, at once", (t) => {
  const { ledger } = freshLedger(t);
  ledger.createSession(sampleSession("mar1"));
  const id = ledger.startExperiment(sampleExperiment("mar1", { logPath: "" }), (newId) => ({ logPath: `/tmp/logs/${newId}.log` }));
  assert.equal(ledger.getExperiment(id)?.logPath, `/tmp/logs/${id}.log`);
  assert.throws(() => ledger.startExperiment(sampleExperiment("mar1"), () => ({ id: 99 } as never)), /cannot be changed/);
  assert.equal(ledger.listExperiments({ tag: "mar1" }).length, 1, "a failure leaves no half-started row");
});

test("listExperiments filters by kind, with the status and the order", (t) => {
  const { ledger } = freshLedger(t);
  ledger.createSession(sampleSession("mar1"));
  const baseline = ledger.startExperiment(sampleExperiment("mar1", { kind: "baseline", candidateCommit: null }));
  const candidate = ledger.startExperiment(sampleExperiment("mar1"));
  const running = ledger.startExperiment(sampleExperiment("mar1", { kind: "baseline", candidateCommit: null }));
  for (const id of [baseline, candidate]) ledger.finishExperiment(id, { status: "ok", metric: 1 });
  assert.deepEqual(ledger.listExperiments({ tag: "mar1", kind: ["baseline"] }).map((row) => row.id), [baseline, running]);
  assert.deepEqual(ledger.listExperiments({ tag: "mar1", kind: ["baseline"], status: ["ok"] }).map((row) => row.id), [baseline]);
  assert.deepEqual(ledger.listExperiments({ tag: "mar1", kind: ["candidate", "baseline"], order: "desc" }).map((row) => row.id), [running, candidate, baseline]);
  assert.deepEqual(ledger.listExperiments({ tag: "mar1", kind: [] }), []);
});

test("an experiment round-trips every field from start to finish, including its candidate tree", (t) => {
  const { ledger } = freshLedger(t);
  ledger.createSession(sampleSession("mar1"));
  const baseline = ledger.startExperiment(sampleExperiment("mar1", { kind: "baseline", candidateCommit: null }));
  const started = {
    ...sampleExperiment("mar1"),
    kind: "confirmation" as const,
    confirms: baseline,
    candidateCommit: COMMIT_B,
    startedAt: "2025-03-01T10:05:00.000Z",
    candidateTree: "f".repeat(40),
    hypothesis: "a larger step converges faster in a 5-minute budget",
    meta: { knob: "lr", from: 0.02, to: 0.04, tags: ["optim"] },
    diff: "--- a/train.py\n+++ b/train.py\n@@\n-lr = 0.02\n+lr = 0.04\n",
    logPath: "/tmp/logs/2.log",
    timings: { proposeMs: 1200 },
    usage: { inputTokens: 5000, outputTokens: 700, costUsd: 0.0123 },
    slot: 1,
    device: "cuda:1",
  };
  const id = ledger.startExperiment(started);
  assert.ok(id > baseline);

  const running = ledger.getExperiment(id);
  assert.equal(running?.status, "running");
  assert.equal(running?.finishedAt, null);

  const finish = {
    status: "ok" as const, decision: "keep" as const, reason: null, rationale: "beats best by 3 sigma",
    metric: 0.9812, heldOutMetric: 0.9901, secondary: { train_loss: 2.31, mfu: 0.39 }, selfReported: true,
    flags: [{ kind: "slow_evaluation" as const, detail: "evaluation took 9.0s, 4.5× the baseline's 2.0s" }],
    bestBefore: 0.9979, delta: 0.9812 - 0.9979, memoryGb: 44.2,
    timings: { proposeMs: 1200, setupMs: 40, trainMs: 300_000, evaluateMs: 9000, totalMs: 310_240 },
    usage: { inputTokens: 5000, outputTokens: 700, costUsd: null }, finishedAt: "2025-03-01T10:10:10.000Z",
    ranOn: { host: "gpu-node-3", deviceName: "NVIDIA H100 80GB HBM3", slurmJobId: "4242" },
  };
  ledger.finishExperiment(id, finish);
  const expected: LedgerExperiment = { id, ...started, ...finish };
  assert.deepEqual(ledger.getExperiment(id), expected);
  assert.deepEqual(ledger.listExperiments({ tag: "mar1" }).at(-1), expected);
  assert.equal(ledger.getExperiment(9999), null);
});

test("finishing an experiment and moving the session's best is one transaction", (t) => {
  const { ledger, stateDir, defer } = freshLedger(t);
  ledger.createSession(sampleSession("mar1"));
  const id = ledger.startExperiment(sampleExperiment("mar1"));

  // The session patch points at an experiment that does not exist: the whole finish must roll back.
  assert.throws(() => ledger.finishExperiment(id, { status: "ok", decision: "keep", metric: 0.97 }, { bestExperimentId: 424242 }));
  assert.equal(ledger.getExperiment(id)?.status, "running");
  assert.equal(ledger.getExperiment(id)?.metric, null);
  assert.equal(ledger.getSession("mar1")?.bestExperimentId, null);

  ledger.finishExperiment(id, { status: "ok", decision: "keep", metric: 0.97 }, { bestExperimentId: id, bestMetric: 0.97, bestCommit: COMMIT_B });
  const viewer = Ledger.open(stateDir, { readOnly: true });
  defer(() => viewer.close());
  assert.equal(viewer.getExperiment(id)?.decision, "keep");
  assert.deepEqual(
    [viewer.getSession("mar1")?.bestExperimentId, viewer.getSession("mar1")?.bestMetric, viewer.getSession("mar1")?.bestCommit],
    [id, 0.97, COMMIT_B],
  );

  // Finishing twice is a bug in the caller; the first result must survive it.
  assert.throws(() => ledger.finishExperiment(id, { status: "crash", reason: "again" }), /already finished as "ok"/);
  assert.equal(ledger.getExperiment(id)?.status, "ok");

  // A decision made later (after confirmation runs) is an update, atomic with the session too.
  ledger.updateExperiment(id, { decision: "discard", rationale: "did not confirm" }, { bestExperimentId: null, bestMetric: null, bestCommit: COMMIT_A });
  assert.equal(ledger.getExperiment(id)?.decision, "discard");
  assert.equal(ledger.getSession("mar1")?.bestCommit, COMMIT_A);
});

test("markInterrupted turns only that tag's running experiments into interrupted ones", (t) => {
  const { ledger } = freshLedger(t);
  ledger.createSession(sampleSession("mar1"));
  ledger.createSession(sampleSession("mar2"));
  const done = ledger.startExperiment(sampleExperiment("mar1"));
  ledger.finishExperiment(done, { status: "crash", reason: "exit code 1" });
  const runningA = ledger.startExperiment(sampleExperiment("mar1", { slot: 0 }));
  const otherTag = ledger.startExperiment(sampleExperiment("mar2"));
  const runningB = ledger.startExperiment(sampleExperiment("mar1", { slot: 1 }));

  assert.deepEqual(ledger.markInterrupted("mar1", "the harness was killed"), [runningA, runningB]);
  for (const id of [runningA, runningB]) {
    const experiment = ledger.getExperiment(id);
    assert.equal(experiment?.status, "interrupted");
    assert.equal(experiment?.reason, "the harness was killed");
    assert.ok(experiment?.finishedAt);
  }
  assert.equal(ledger.getExperiment(done)?.reason, "exit code 1");
  assert.equal(ledger.getExperiment(otherTag)?.status, "running");
  assert.deepEqual(ledger.markInterrupted("mar1", "again"), []);
});

test("listExperiments filters by tag and status, orders by id and limits", (t) => {
  const { ledger } = freshLedger(t);
  ledger.createSession(sampleSession("mar1"));
  ledger.createSession(sampleSession("mar2"));
  const ids: number[] = [];
  for (const status of ["ok", "crash", "ok", "timeout", "ok"] as const) {
    const id = ledger.startExperiment(sampleExperiment("mar1"));
    ledger.finishExperiment(id, { status });
    ids.push(id);
  }
  const other = ledger.startExperiment(sampleExperiment("mar2"));

  assert.deepEqual(ledger.listExperiments().map((e) => e.id), [...ids, other]);
  assert.deepEqual(ledger.listExperiments({ tag: "mar1", order: "desc", limit: 2 }).map((e) => e.id), [ids[4], ids[3]]);
  assert.deepEqual(ledger.listExperiments({ tag: "mar1", status: ["crash", "timeout"] }).map((e) => e.id), [ids[1], ids[3]]);
  assert.deepEqual(ledger.listExperiments({ status: ["running"] }).map((e) => e.id), [other]);
  assert.deepEqual(ledger.listExperiments({ status: [] }), []);
  assert.throws(() => ledger.listExperiments({ limit: -1 }), RangeError);
});

test("findByTree finds the newest experiment with that candidate tree, within the tag only", (t) => {
  const { ledger } = freshLedger(t);
  ledger.createSession(sampleSession("mar1"));
  ledger.createSession(sampleSession("mar2"));
  const tree = "e".repeat(40);
  const first = ledger.startExperiment(sampleExperiment("mar1", { candidateTree: tree }));
  ledger.finishExperiment(first, { status: "crash" });
  ledger.startExperiment(sampleExperiment("mar1", { candidateTree: "d".repeat(40) }));
  const second = ledger.startExperiment(sampleExperiment("mar1", { candidateTree: tree }));

  assert.equal(ledger.findByTree("mar1", tree)?.id, second);
  assert.equal(ledger.findByTree("mar2", tree), null);
  assert.equal(ledger.findByTree("mar1", "0".repeat(40)), null);
});
