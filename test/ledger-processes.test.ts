// The ledger shared between processes: a viewer reading while the loop writes, and
// a loop killed with SIGKILL in the middle of writing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DatabaseSync } from "node:sqlite";
import { Ledger } from "../src/ledger/sqlite.ts";
import { sampleExperiment, sampleSession, spawnScript, useTempDir } from "./helpers/ledger.ts";

const READER = fileURLToPath(new URL("./helpers/ledger-reader.ts", import.meta.url));
const WRITER = fileURLToPath(new URL("./helpers/ledger-writer.ts", import.meta.url));

interface Seen {
  experiments: { id: number; status: string; metric: number | null; decision: string | null }[];
  bestExperimentId: number | null;
}

test("another process sees each committed change while this one keeps the ledger open and writing", async (t) => {
  const { dir, defer } = useTempDir(t);
  const stateDir = join(dir, "state");
  const ledger = Ledger.open(stateDir);
  defer(() => ledger.close());
  ledger.createSession(sampleSession("mar1"));

  const reader = spawnScript(READER, [stateDir, "mar1"]);
  defer(() => reader.child.kill("SIGKILL"));
  await reader.waitFor((lines) => lines.includes("ready"), "the reader to open the ledger");
  const look = async (): Promise<Seen> => {
    const before = reader.lines.length;
    reader.child.stdin!.write("read\n");
    await reader.waitFor((lines) => lines.length > before, "the reader's answer");
    return JSON.parse(reader.lines[before]) as Seen;
  };

  assert.deepEqual((await look()).experiments, []);
  const id = ledger.startExperiment(sampleExperiment("mar1"));
  assert.deepEqual((await look()).experiments, [{ id, status: "running", metric: null, decision: null }]);

  // While a writer holds an uncommitted transaction, the reader still answers with the committed state.
  const otherWriter = new DatabaseSync(join(stateDir, "ledger.db"));
  defer(() => otherWriter.close());
  otherWriter.exec("BEGIN IMMEDIATE");
  otherWriter.exec("UPDATE experiments SET description = 'uncommitted'");
  assert.deepEqual((await look()).experiments, [{ id, status: "running", metric: null, decision: null }]);
  otherWriter.exec("ROLLBACK");

  ledger.finishExperiment(id, { status: "ok", decision: "keep", metric: 0.97 }, { bestExperimentId: id, bestMetric: 0.97 });
  assert.deepEqual(await look(), { experiments: [{ id, status: "ok", metric: 0.97, decision: "keep" }], bestExperimentId: id });

  reader.child.stdin!.end();
  assert.deepEqual(await reader.exited, { code: 0, signal: null });
});

test("a writer killed with SIGKILL mid-loop leaves a consistent, writable ledger", async (t) => {
  const { dir, defer } = useTempDir(t);
  const stateDir = join(dir, "state");
  const setup = Ledger.open(stateDir);
  setup.createSession(sampleSession("mar1"));
  setup.close();

  const committed: number[] = [];
  for (let round = 0; round < 2; round++) {
    const writer = spawnScript(WRITER, [stateDir, "mar1"]);
    defer(() => writer.child.kill("SIGKILL"));
    await writer.waitFor((lines) => lines.length >= 40, "the writer to finish 40 experiments");
    writer.child.kill("SIGKILL");
    assert.equal((await writer.exited).signal, "SIGKILL");
    committed.push(...writer.lines.map(Number));

    const ledger = Ledger.open(stateDir);
    try {
      assert.deepEqual(ledger.checkIntegrity(), []);
      const all = ledger.listExperiments({ tag: "mar1" });
      const byId = new Map(all.map((experiment) => [experiment.id, experiment]));
      for (const id of committed) assert.equal(byId.get(id)?.status, "ok", `experiment ${id} was reported committed`);

      // Every finished row of the writer is whole: its finish wrote all of these in one transaction.
      const fromWriter = all.filter((experiment) => experiment.proposer === "writer");
      const finished = fromWriter.filter((experiment) => experiment.status === "ok");
      for (const experiment of finished) {
        assert.equal(experiment.decision, "keep");
        assert.equal(experiment.metric, 1 / (experiment.id + 1));
        assert.equal(experiment.heldOutMetric, experiment.metric! * 1.01);
        assert.deepEqual(experiment.usage, { inputTokens: 1, outputTokens: 2, costUsd: null });
        assert.equal(typeof (experiment.secondary as Record<string, number>).round, "number");
        assert.ok(experiment.finishedAt);
      }
      // At most the one in flight is still running, and it is the newest row.
      const running = all.filter((experiment) => experiment.status === "running");
      assert.ok(running.length <= 1, `running rows: ${running.map((e) => e.id)}`);
      if (running.length === 1) assert.equal(running[0].id, all.at(-1)!.id);
      for (const experiment of fromWriter) assert.ok(["ok", "running", "interrupted"].includes(experiment.status));

      // The session's best moved in the same transaction as the newest finish.
      const newestFinished = finished.at(-1)!;
      const session = ledger.getSession("mar1")!;
      assert.deepEqual([session.bestExperimentId, session.bestMetric], [newestFinished.id, newestFinished.metric]);

      // Resume: the torn run becomes interrupted, and new work gets a fresh id.
      assert.deepEqual(ledger.markInterrupted("mar1", "the harness was killed"), running.map((e) => e.id));
      const next = ledger.startExperiment(sampleExperiment("mar1", { proposer: "probe" }));
      assert.ok(next > all.at(-1)!.id);
      ledger.finishExperiment(next, { status: "crash", reason: "probe" });
      assert.equal(ledger.getExperiment(next)?.status, "crash");
    } finally {
      ledger.close();
    }
  }
});
