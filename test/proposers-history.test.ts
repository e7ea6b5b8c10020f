// What a proposer sees of the session so far (proposers/history.ts), built from a real ledger's rows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Ledger } from "../src/ledger/sqlite.ts";
import { proposerHistory } from "../src/proposers/history.ts";
import { COMMIT_A, COMMIT_B, sampleExperiment, sampleSession, useTempDir } from "./helpers/ledger.ts";

function freshLedger(t: { after: (fn: () => void) => void }): { ledger: Ledger; dir: string } {
  const { dir, defer } = useTempDir(t);
  const ledger = Ledger.open(join(dir, "state"));
  defer(() => ledger.close());
  return { ledger, dir };
}

/** As the proposal queue asks: the ledger's newest rows of the tag, bounded again by the history. */
function historyOf(ledger: Ledger, tag: string, limit: number) {
  return proposerHistory(ledger.listExperiments({ tag, limit, order: "desc" }), limit);
}

test("history is the newest experiments of the tag, oldest first, bounded, without held-out metrics", (t) => {
  const { ledger } = freshLedger(t);
  ledger.createSession(sampleSession("mar1"));
  ledger.createSession(sampleSession("mar2"));
  const ids: number[] = [];
  for (let round = 0; round < 6; round++) {
    const id = ledger.startExperiment(sampleExperiment("mar1", { description: `idea ${round}`, meta: { round } }));
    ledger.finishExperiment(id, { status: "ok", decision: "discard", metric: 1 + round, heldOutMetric: 100 + round, delta: 0.5 });
    ledger.startExperiment(sampleExperiment("mar2", { description: "other session" }));
    ids.push(id);
  }

  const history = historyOf(ledger, "mar1", 4);
  assert.deepEqual(history.map((entry) => entry.id), ids.slice(2));
  assert.deepEqual(history.map((entry) => entry.description), ["idea 2", "idea 3", "idea 4", "idea 5"]);
  assert.deepEqual(history[3], {
    id: ids[5], kind: "candidate", parentCommit: COMMIT_A, candidateCommit: COMMIT_B, proposer: "scripted",
    description: "idea 5", hypothesis: "", status: "ok", decision: "discard", metric: 6, delta: 0.5, meta: { round: 5 },
  });
  for (const entry of history) {
    assert.equal("heldOutMetric" in entry, false);
    assert.ok(!Object.values(entry).some((value) => typeof value === "number" && value >= 100), "a held-out value leaked");
  }
  assert.equal(historyOf(ledger, "mar1", 100).length, 6);
  assert.deepEqual(historyOf(ledger, "mar1", 0), []);
  // The bound holds whatever the caller passes in, in whatever order.
  assert.deepEqual(proposerHistory(ledger.listExperiments({ tag: "mar1" }), 2).map((entry) => entry.id), ids.slice(4));
});

test("a failure that ran carries its reason and its log's clean tail; a rejected one only its reason; a running one shows", (t) => {
  const { ledger, dir } = freshLedger(t);
  ledger.createSession(sampleSession("mar1"));
  const logPath = join(dir, "crash.log");
  writeFileSync(logPath, `${Array.from({ length: 60 }, (_, line) => `step ${line}`).join("\n")}\n\x1b[2KTraceback: boom\n`);
  const crashed = ledger.startExperiment(sampleExperiment("mar1", { logPath }));
  ledger.finishExperiment(crashed, { status: "crash", reason: "train exited with code 1" });
  const rejected = ledger.startExperiment(sampleExperiment("mar1", { logPath }));
  ledger.finishExperiment(rejected, { status: "rejected", reason: "changed a protected file" });
  const running = ledger.startExperiment(sampleExperiment("mar1", { description: "in flight" }));

  const [crash, rejection, inFlight] = historyOf(ledger, "mar1", 10);
  assert.equal(crash.reason, "train exited with code 1");
  const tail = crash.logTail!.split("\n");
  assert.equal(tail.length, 40);
  assert.equal(tail.at(-1), "␛[2KTraceback: boom", "control characters are made visible");
  assert.equal(rejection.reason, "changed a protected file");
  assert.equal("logTail" in rejection, false);
  assert.equal(inFlight.id, running);
  assert.equal(inFlight.status, "running");
});
