// When a worker moves to another worker's best (#11): once per start. A worker that moved again each time it
// heard of a newer best chased them without starting anything while other workers kept finding them. Here the
// other worker is this test: it records a new best during each of the worker's proposer calls and waits until
// the worker has heard of it, so the order of events is the test's, not the clock's.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test, type TestContext } from "node:test";
import { runSession } from "../../src/loop/session.ts";
import type { Proposer } from "../../src/proposers/types.ts";
import { SharedStudy } from "../../src/share/study.ts";
import { candidateRemoteRef } from "../../src/share/worker.ts";
import type { EngineEvent } from "../../src/events/types.ts";
import { gitIn, ledgerRows, recordingBus } from "../helpers/project.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { knobsFile, makeStudy, workerId } from "../helpers/shared-study.ts";

/**
 * The other worker's n-th new best, as the test plays it: a commit pushed to the remote as a candidate ref, then
 * recorded with `metric` (the study's branch is left where it was); resolves once the worker heard of it.
 */
async function recordOthersBest(study: { remote: string }, other: SharedStudy, otherDir: string, events: readonly EngineEvent[], n: number, metric: number): Promise<{ version: number; commit: string }> {
  writeFileSync(join(otherDir, "knobs.js"), knobsFile(7, 0.3 + n / 1000));
  gitIn(otherDir, "-c", "user.name=other", "-c", "user.email=other@localhost", "commit", "-qam", `best ${n}`);
  const commit = gitIn(otherDir, "rev-parse", "HEAD");
  const ref = candidateRemoteRef("s", other.worker, 100 + n);
  gitIn(otherDir, "push", "-q", study.remote, `${commit}:${ref}`);
  const current = await other.readBest();
  const answer = await other.record([], null, { commit, ref, metric, localId: 100 + n, expectedVersion: current?.version ?? 0 });
  assert.equal(answer.kind, "recorded");
  const version = (answer as { best: { version: number } }).best.version;
  for (let waited = 0; !events.some((event) => event.type === "study_best" && event.version >= version); waited += 10) {
    if (waited > 20_000) throw new Error(`the worker did not hear of best version ${version} within 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { version, commit };
}

/** A study of two workers: this test's (`dir`) and the other, whose bests the test records through its own connection. */
async function twoWorkers(t: TestContext, db: string) {
  const study = await makeStudy(t, db, 2);
  const [dir, otherDir] = study.workers as [string, string];
  const other = await SharedStudy.open({ url: db, study: "s", worker: workerId(otherDir), deviceClass: "cpu", leaseSeconds: 30 });
  t.after(() => other.close());
  return { study, dir, otherDir, other };
}

const server = startPostgres();
const skip = typeof server === "string" ? server : false;

describe("moving to another worker's best", { skip }, () => {
  const postgres = server as TestPostgres;
  after(() => postgres.close());

  test("a worker about to start moves to a newer best once: a best found meanwhile waits for its decision or its next start", async (t) => {
    const db = await postgres.database("moves");
    const { study, dir, otherDir, other } = await twoWorkers(t, db);

    const { bus, events } = recordingBus();
    const bests: Array<{ version: number; commit: string }> = [];
    const otherFindsBest = async () => {
      const n = bests.length + 1;
      bests.push(await recordOthersBest(study, other, otherDir, events, n, 1 / 10 ** n));
    };

    // Every proposal is a new X = 20: the study's score is (X - 7)² + 10 (Y - 0.3)², so it never beats the other
    // worker's bests. Calls 1 to 5 each bring a new best of the other worker first.
    let calls = 0;
    const proposedOn = new Map<string, string>();
    const proposer: Proposer = {
      name: "test",
      reproposeWhenBestMoves: true,
      async propose(context) {
        calls += 1;
        if (calls <= 5) await otherFindsBest();
        const description = `p${calls}`;
        proposedOn.set(description, context.best.commit);
        return { kind: "proposal", description, hypothesis: "worse", edits: [{ path: "knobs.js", content: knobsFile(20, 0.01 * calls) }] };
      },
    };
    const result = await runSession({ projectDir: dir, slots: 1, maxExperiments: 4, bus, signal: new AbortController().signal, proposerInstance: proposer });
    assert.equal(result.paused, false, result.reason);

    const ran = ledgerRows(dir).filter((row) => row.kind === "candidate");
    // A proposal is made for the best the worker stands on; one whose best was beaten before it could start is
    // dropped (this proposer would rather propose again). Moving again at each best heard of, the worker dropped
    // every proposal while bests kept coming (p1 to p5) and ran only p6 and later ones.
    const early = ran.filter((row) => ["p1", "p2", "p3", "p4", "p5"].includes(row.description));
    assert.ok(early.length >= 1, `a proposal made while the other worker kept finding bests ran: ${ran.map((row) => row.description).join(", ")}`);
    for (const row of early) {
      assert.equal(row.parentCommit, proposedOn.get(row.description), `${row.description} ran on the best it was proposed for`);
      // It started on a best already beaten, and was judged against the newer one at its decision.
      assert.ok(bests.some((best) => best.commit === row.parentCommit), `${row.description} ran on one of the other worker's bests`);
      assert.equal(row.decision, "discard");
    }
  });

  test("a worker that beats another's best moves the study's branch, even where that best's finder never moved it", async (t) => {
    const db = await postgres.database("branch");
    const { study, dir, otherDir, other } = await twoWorkers(t, db);
    const { bus, events } = recordingBus();

    // The other worker's best (0.5) is recorded, but the branch stays at this worker's baseline: a lease on
    // where that best's finder should have moved it fails, and the worker must ask the remote where it is.
    let beaten: { version: number; commit: string } | undefined;
    const proposer: Proposer = {
      name: "test",
      async propose() {
        beaten ??= await recordOthersBest(study, other, otherDir, events, 1, 0.5);
        return { kind: "proposal", description: "the optimum", hypothesis: "scores 0", edits: [{ path: "knobs.js", content: knobsFile(7, 0.3) }] };
      },
    };
    const result = await runSession({ projectDir: dir, slots: 1, maxExperiments: 2, bus, signal: new AbortController().signal, proposerInstance: proposer });
    assert.equal(result.paused, false, result.reason);

    const kept = ledgerRows(dir).find((row) => row.kind === "candidate" && row.decision === "keep");
    assert.ok(kept?.candidateCommit, `the candidate beat the other worker's best: ${JSON.stringify(ledgerRows(dir).map((row) => [row.description, row.metric, row.decision]))}`);
    assert.equal(kept.parentCommit, beaten?.commit, "it was built on the other worker's best");
    assert.equal((await other.readBest())?.commit, kept.candidateCommit);
    // The branch is pushed after the decision, in the background: wait for it, by steps.
    let branch = "";
    for (let step = 0; step < 200 && branch !== kept.candidateCommit; step++) {
      branch = gitIn(dir, "ls-remote", study.remote, "refs/heads/study/s/cpu").split("\t")[0] ?? "";
      if (branch !== kept.candidateCommit) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(branch, kept.candidateCommit, "the study's branch on the remote is at the new best");
  });
});
