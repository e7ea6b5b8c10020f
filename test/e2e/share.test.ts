// One study, many machines (#11), end to end: real PostgreSQL, a real bare git remote, engines as real
// processes in separate clones, the search proposer on a fast measure-only workload.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { gitIn, ledgerRows } from "../helpers/project.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { finished, makeStudy, query, startWorker, until, workerId, type StudyRow } from "../helpers/shared-study.ts";

const server = startPostgres();
const skip = typeof server === "string" ? server : false;




describe("a study shared by several workers", { skip }, () => {
  const postgres = server as TestPostgres;
  after(() => postgres.close());

  test("three workers: every experiment recorded once, no change run twice, the best only improves and every worker ends on it", async (t) => {
    const db = await postgres.database("three");
    const study = await makeStudy(t, db, 3);
    const runs = await Promise.all(study.workers.map((dir) => finished(startWorker(dir, ["--max-experiments", "6"]))));
    for (const [index, run] of runs.entries()) assert.equal(run.code, 0, `worker ${index}: ${run.stderr}`);

    const ids = study.workers.map(workerId);
    const rows = await query<StudyRow>(db, "SELECT worker, local_id, kind, status, decision, fenced, fingerprint, metric, candidate_commit FROM experiments ORDER BY worker, local_id");
    // The union of the study is the sum of the workers: each local row once, as the worker recorded it.
    let total = 0;
    for (const [index, dir] of study.workers.entries()) {
      const local = ledgerRows(dir);
      total += local.length;
      const shared = rows.filter((row) => row.worker === ids[index]);
      assert.deepEqual(shared.map((row) => [row.local_id, row.status, row.metric]), local.map((row) => [row.id, row.status, row.metric]), `worker ${index}'s rows`);
      assert.ok(local.some((row) => row.kind === "candidate" && row.status === "ok"), `worker ${index} ran candidates`);
    }
    assert.equal(rows.length, total);
    // No change run twice: every candidate that ran has its own code.
    const ran = rows.filter((row) => row.kind === "candidate" && row.status !== "rejected");
    assert.equal(new Set(ran.map((row) => row.fingerprint)).size, ran.length, "a candidate's code ran twice");
    // The best only improved, one version after another.
    const history = await query<{ version: number; metric: number; commit: string }>(db, "SELECT version, metric, commit FROM best_history ORDER BY version");
    assert.ok(history.length >= 2, "some candidate beat the baseline");
    for (let index = 1; index < history.length; index++) {
      assert.equal(history[index]!.version, index + 1);
      assert.ok(history[index]!.metric < history[index - 1]!.metric, `version ${index + 1} is no better than ${index}`);
    }
    const [best] = await query<{ commit: string; version: number }>(db, "SELECT commit, version FROM bests WHERE study = 's' AND device_class = 'cpu'");
    assert.equal(best!.version, history.length);
    // Every worker ends on the study's best as it stood when the worker stopped, by the database's clock
    // (the stop is stamped in the transaction that reads the best); the last to stop ends on the final best.
    const at = await query<{ version: number; at: Date }>(db, "SELECT version, at FROM best_history ORDER BY version");
    const stops = await query<{ id: string; stopped_at: Date | null; best_version: number | null }>(db, "SELECT id, stopped_at, best_version FROM workers");
    for (const [index, dir] of study.workers.entries()) {
      const stop = stops.find((row) => row.id === ids[index])!;
      assert.ok(stop.stopped_at !== null, `worker ${index}'s stop is recorded`);
      const standing = at.filter((entry) => entry.at.getTime() <= stop.stopped_at!.getTime()).at(-1)!;
      assert.equal(gitIn(dir, "rev-parse", "autoresearch/s"), history[standing.version - 1]!.commit, `worker ${index} ends on the study's best version ${standing.version}`);
      assert.equal(stop.best_version, standing.version, `the study says worker ${index} builds on version ${standing.version}`);
    }
    // What each worker heard of while it ran: other workers' bests, each as recorded, each version once.
    const full = await query<{ version: number; metric: number; commit: string; worker: string }>(db, "SELECT version, metric, commit, worker FROM best_history ORDER BY version");
    for (const [index, run] of runs.entries()) {
      const events = run.stdout.split("\n").filter((line) => line.includes('"study_best"')).map((line) => JSON.parse(line) as { version: number; worker: string; commit: string; metric: number });
      assert.equal(new Set(events.map((event) => event.version)).size, events.length, `worker ${index} announces each version once`);
      for (const event of events) {
        const entry = full.find((each) => each.version === event.version)!;
        assert.deepEqual([event.worker, event.commit, event.metric], [entry.worker, entry.commit, entry.metric], `worker ${index} heard version ${event.version} as recorded`);
        assert.notEqual(event.worker, ids[index], "a worker does not announce its own best to itself");
      }
    }
    const lastToStop = Math.max(...stops.map((row) => row.stopped_at!.getTime()));
    assert.ok(at.at(-1)!.at.getTime() <= lastToStop);
    assert.equal(gitIn(study.root, "--git-dir", study.remote, "rev-parse", "study/s/cpu"), best!.commit);
    const keeps = rows.filter((row) => row.decision === "keep").map((row) => row.candidate_commit);
    assert.ok(keeps.includes(best!.commit));
  });

  test("PostgreSQL stopped mid-session: the workers wait, survive, lose nothing and catch up", async (t) => {
    const db = await postgres.database("outage");
    const study = await makeStudy(t, db, 2);
    const outputs = ["", ""];
    const errors = ["", ""];
    const children = study.workers.map((dir, index) => {
      const child = startWorker(dir, ["--max-experiments", "10"]);
      child.stdout!.on("data", (chunk) => (outputs[index] += chunk));
      child.stderr!.on("data", (chunk) => (errors[index] += chunk));
      return child;
    });
    const done = children.map((child) => new Promise<number | null>((resolve) => child.on("close", resolve)));
    const count = async () => (await query<{ n: number }>(db, "SELECT count(*)::int AS n FROM experiments"))[0]!.n;
    await until("a few experiments are recorded", async () => (await count()) >= 3, 400);
    postgres.stop();
    try {
      // Down until every worker that is still running has noticed (a worker notices at its next claim or decision).
      const running = () => children.filter((child) => child.exitCode === null).length;
      await until("the workers notice", async () => outputs.filter((text) => text.includes("is away")).length >= running(), 400).catch((error: Error) => {
        for (const child of children) child.kill("SIGKILL");
        throw new Error(`${error.message}\n${outputs.map((text) => text.split("\n").slice(-8).join("\n")).join("\n---\n")}`);
      });
    } finally {
      postgres.start();
    }
    const codes = await Promise.all(done);
    assert.deepEqual(codes, [0, 0], `${errors.join("\n---\n")}\n${outputs.map((text) => text.split("\n").slice(-10).join("\n")).join("\n---\n")}`);
    assert.ok(outputs.some((text) => text.includes("is back")), "a waiting worker wrote its results when the database came back");
    const ids = study.workers.map(workerId);
    const rows = await query<StudyRow>(db, "SELECT worker, local_id, kind, status, decision, fenced, fingerprint, metric, candidate_commit FROM experiments ORDER BY worker, local_id");
    for (const [index, dir] of study.workers.entries()) {
      const local = ledgerRows(dir);
      assert.deepEqual(rows.filter((row) => row.worker === ids[index]).map((row) => [row.local_id, row.status, row.decision]), local.map((row) => [row.id, row.status, row.decision]), `worker ${index}: nothing lost, nothing doubled`);
    }
    const history = await query<{ metric: number }>(db, "SELECT metric FROM best_history ORDER BY version");
    for (let index = 1; index < history.length; index++) assert.ok(history[index]!.metric < history[index - 1]!.metric);
  });
});
