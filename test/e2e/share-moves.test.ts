// When a worker moves to another worker's best (#11): once per start. A worker that moved again each time it
// heard of a newer best chased them without starting anything while other workers kept finding them. Here the
// other worker is this test: it records a new best during each of the worker's proposer calls and waits until
// the worker has heard of it, so the order of events is the test's, not the clock's.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { runSession } from "../../src/loop/session.ts";
import type { Proposer } from "../../src/proposers/types.ts";
import { SharedStudy } from "../../src/share/study.ts";
import { candidateRemoteRef } from "../../src/share/worker.ts";
import { gitIn, ledgerRows, recordingBus } from "../helpers/project.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { knobsFile, makeStudy, workerId } from "../helpers/shared-study.ts";

const server = startPostgres();
const skip = typeof server === "string" ? server : false;

describe("moving to another worker's best", { skip }, () => {
  const postgres = server as TestPostgres;
  after(() => postgres.close());

  test("a worker about to start moves to a newer best once: a best found meanwhile waits for its decision or its next start", async (t) => {
    const db = await postgres.database("moves");
    const study = await makeStudy(t, db, 2);
    const [dir, otherDir] = study.workers as [string, string];
    const other = await SharedStudy.open({ url: db, study: "s", worker: workerId(otherDir), deviceClass: "cpu", leaseSeconds: 30 });
    t.after(() => other.close());

    const { bus, events } = recordingBus();
    const heard = (version: number) => events.some((event) => event.type === "study_best" && event.version >= version);
    /** The other worker's new best: a commit pushed to the remote, then recorded; resolves once the worker heard of it. */
    const bests: Array<{ version: number; commit: string }> = [];
    const otherFindsBest = async () => {
      const n = bests.length + 1;
      writeFileSync(join(otherDir, "knobs.js"), knobsFile(7, 0.3 + n / 1000));
      gitIn(otherDir, "-c", "user.name=other", "-c", "user.email=other@localhost", "commit", "-qam", `best ${n}`);
      const commit = gitIn(otherDir, "rev-parse", "HEAD");
      const ref = candidateRemoteRef("s", other.worker, 100 + n);
      gitIn(otherDir, "push", "-q", study.remote, `${commit}:${ref}`);
      const current = await other.readBest();
      const answer = await other.record([], null, { commit, ref, metric: 1 / 10 ** n, localId: 100 + n, expectedVersion: current?.version ?? 0 });
      assert.equal(answer.kind, "recorded");
      const version = (answer as { best: { version: number } }).best.version;
      bests.push({ version, commit });
      for (let waited = 0; !heard(version); waited += 10) {
        if (waited > 20_000) throw new Error(`the worker did not hear of best version ${version} within 20 s`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
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
});
