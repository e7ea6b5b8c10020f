// Faults in a shared study, at the engine's level (#11): workers as real processes on a real PostgreSQL and a
// real bare remote. A worker killed with SIGKILL mid-experiment, a worker whose candidate was built on a
// best that others have beaten since, and two workers that beat the best at the same moment. Workers are held
// mid-experiment by a gate file, and at the swap by a lock on the best's row, not by time.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { after, describe, test } from "node:test";
import { gitIn, ledgerRows } from "../helpers/project.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { finished, makeStudy, openGate, query, startWorker, until, workerId, type Study, type StudyRow } from "../helpers/shared-study.ts";

const server = startPostgres();
const skip = typeof server === "string" ? server : false;

interface ClaimRow {
  fingerprint: string;
  worker: string;
  epoch: number;
  state: string;
  expired: boolean;
}



async function claims(db: string): Promise<ClaimRow[]> {
  return query<ClaimRow>(db, "SELECT fingerprint, worker, epoch, state, lease_until < now() AS expired FROM claims ORDER BY claimed_at");
}

async function studyRows(db: string): Promise<StudyRow[]> {
  return query<StudyRow>(db, "SELECT worker, local_id, kind, status, decision, fenced, fingerprint, metric, best_before, parent_commit, recorded_at FROM experiments ORDER BY worker, local_id");
}

/** The worker (started with the gate) holds a claim on a candidate it is measuring: that candidate's code. */
async function heldCandidate(study: Study, dir: string): Promise<string> {
  const id = workerId(dir);
  let fingerprint = "";
  await until("the worker measures a candidate under its claim", async () => {
    const held = (await claims(study.db)).filter((claim) => claim.worker === id && claim.state === "claimed");
    if (held.length !== 1) return false; // (the ledger exists once the worker's session has started)
    const running = ledgerRows(dir).filter((row) => row.kind === "candidate" && row.status === "running");
    if (running.length !== 1 || running[0]!.candidateTree !== held[0]!.fingerprint) return false;
    fingerprint = held[0]!.fingerprint;
    return true;
  }, 1200);
  return fingerprint;
}

describe("faults in a shared study", { skip }, () => {
  const postgres = server as TestPostgres;
  after(() => postgres.close());

  test("kill -9 of a worker mid-experiment: its claim expires, another worker runs the idea, its rows agree after it restarts", async (t) => {
    const db = await postgres.database("killed");
    // One seed for both workers: their search proposers then propose the same candidates, so the other worker comes to the dead one's.
    const study = await makeStudy(t, db, 2, { proposer: { name: "search", seed: 7 } }, { leaseSeconds: 2 });
    const [dead, other] = study.workers as [string, string];
    const [deadId, otherId] = [workerId(dead), workerId(other)];
    const victim = startWorker(dead, ["--max-experiments", "20"], { AUTORESEARCH_TEST_GATE: study.gate });
    const stopped = new Promise((resolve) => victim.on("close", resolve));
    t.after(() => victim.kill("SIGKILL"));
    const idea = await heldCandidate(study, dead);
    victim.kill("SIGKILL");
    await stopped;
    await until("the dead worker's lease runs out (no heartbeat renews it)", async () => (await claims(db)).some((claim) => claim.fingerprint === idea && claim.expired), 1200);

    // The other worker proposes the same first idea (the same seed, the same history) and takes the claim over.
    const run = await finished(startWorker(other, ["--max-experiments", "3"]));
    assert.equal(run.code, 0, run.stderr);
    const taken = (await claims(db)).find((claim) => claim.fingerprint === idea)!;
    assert.deepEqual([taken.worker, taken.epoch, taken.state], [otherId, 2, "done"], "the other worker took the expired claim over (epoch 2) and finished it");
    const ranThere = (await studyRows(db)).filter((row) => row.fingerprint === idea && row.worker === otherId);
    assert.deepEqual(ranThere.map((row) => row.status), ["ok"]);

    // The dead worker restarts: its in-flight experiment is recorded interrupted, here and in the study, decided on by nobody.
    const restarted = await finished(startWorker(dead, ["--max-experiments", "3"]));
    assert.equal(restarted.code, 0, restarted.stderr);
    const local = ledgerRows(dead);
    const shared = (await studyRows(db)).filter((row) => row.worker === deadId);
    assert.deepEqual(shared.map((row) => [row.local_id, row.status, row.decision]), local.map((row) => [row.id, row.status, row.decision]), "the dead worker's rows in the study are its own, once each");
    const killed = local.find((row) => row.candidateTree === idea)!;
    assert.equal(killed.status, "interrupted");
    assert.equal(killed.decision, null);
    assert.ok(!local.some((row) => row.candidateTree === idea && row.status === "ok"), "the restarted worker did not run the idea the other one ran");
    const after = (await claims(db)).find((claim) => claim.fingerprint === idea)!;
    assert.deepEqual([after.worker, after.state], [otherId, "done"], "the restart did not take the finished claim back");
    // No code ran to the end twice in the study.
    const ran = (await studyRows(db)).filter((row) => row.kind === "candidate" && row.status === "ok");
    assert.equal(new Set(ran.map((row) => row.fingerprint)).size, ran.length);
  });

  test("a worker whose candidate was built on a best beaten since is judged against the current best, not the stale one", async (t) => {
    const db = await postgres.database("stale");
    const study = await makeStudy(t, db, 2);
    const [stale, ahead] = study.workers as [string, string];
    const staleId = workerId(stale);
    const slow = startWorker(stale, ["--max-experiments", "3"], { AUTORESEARCH_TEST_GATE: study.gate });
    t.after(() => slow.kill("SIGKILL"));
    const slowRun = finished(slow);
    const idea = await heldCandidate(study, stale);
    const [first] = await query<{ version: number; metric: number; commit: string }>(db, "SELECT version, metric, commit FROM bests");
    assert.equal(first!.version, 1, "the held candidate was built on the study's first best");

    // Meanwhile the other worker improves on it (it cannot run the held idea: it is claimed).
    const run = await finished(startWorker(ahead, ["--max-experiments", "6"]));
    assert.equal(run.code, 0, run.stderr);
    const [moved] = await query<{ version: number; metric: number; commit: string; worker: string; local_id: number | null }>(db, "SELECT version, metric, commit, worker, local_id FROM bests");
    assert.ok(moved!.version >= 2 && moved!.metric < first!.metric, `the other worker found a better best (version ${moved!.version})`);
    // While it measures, the held worker fetches the new best's commit (so moving to it later is quick) but does
    // not move: its slot is busy, and its decision moves to the study's best first.
    const fetched = `refs/autoresearch/s/study/${moved!.worker}/${moved!.local_id ?? "base"}`;
    const local = () => { try { return gitIn(stale, "rev-parse", "--verify", "-q", fetched); } catch { return null; } };
    await until("the held worker fetches the new best", async () => local() === moved!.commit, 1200);
    const [building] = await query<{ best_version: number }>(db, "SELECT best_version FROM workers WHERE id = $1", [staleId]);
    assert.equal(building!.best_version, first!.version, "a worker whose slots are busy does not move");

    openGate(study);
    const done = await slowRun;
    assert.equal(done.code, 0, done.stderr);
    // Held mid-measurement all along, it heard of the other worker's newest best as it was recorded.
    const heard = done.stdout.split("\n").filter((line) => line.includes('"study_best"')).map((line) => JSON.parse(line) as { version: number; worker: string; metric: number });
    assert.deepEqual(heard.map((event) => [event.version, event.worker, event.metric]).find(([version]) => version === moved!.version), [moved!.version, workerId(ahead), moved!.metric], `the held worker heard of version ${moved!.version}: ${JSON.stringify(heard)}`);
    const row = (await studyRows(db)).find((each) => each.worker === staleId && each.fingerprint === idea)!;
    assert.equal(row.parent_commit, first!.commit, "the candidate was built on the stale best");
    assert.equal(row.status, "ok");
    const history = await query<{ version: number; metric: number; worker: string; local_id: number | null; at: Date }>(db, "SELECT version, metric, worker, local_id, at FROM best_history ORDER BY version");
    const own = history.find((entry) => entry.worker === staleId && entry.local_id === row.local_id);
    // The best in effect when it was decided: the version before its own (when it won), else the latest one recorded by then.
    const standing = own ? history.find((entry) => entry.version === own.version - 1)! : history.filter((entry) => entry.at.getTime() <= row.recorded_at.getTime()).at(-1)!;
    assert.ok(standing.version >= 2, `judged against version ${standing.version}, not the stale version 1`);
    assert.equal(row.best_before, standing.metric, "its delta is against the current best's value");
    assert.notEqual(row.best_before, first!.metric);
    assert.equal(row.decision, row.metric! < standing.metric ? "keep" : "discard", "kept only if it beats the current best");
    for (let index = 1; index < history.length; index++) assert.ok(history[index]!.metric < history[index - 1]!.metric, "the best only improved");
  });

  test("two workers beat the best at the same moment: exactly one wins the swap, the other's result is recorded and judged against the new best", async (t) => {
    const db = await postgres.database("race");
    // Two scripted ideas, each better than the base (score 19.6): X = 7 scores 3.6, Y = 0.3 scores 16. A worker
    // refused the first (the other claimed it) runs the second, so each worker measures one of them.
    const scripts = mkdtempSync(join(tmpdir(), "autoresearch-race-"));
    t.after(() => rmSync(scripts, { recursive: true, force: true }));
    const file = join(scripts, "replay.json");
    writeFileSync(file, JSON.stringify({ proposals: [
      { description: "X to 7", edits: [{ path: "knobs.js", search: "const X = 3;", replace: "const X = 7;" }] },
      { description: "Y to 0.3", edits: [{ path: "knobs.js", search: "const Y = 0.9;", replace: "const Y = 0.3;" }] },
    ] }));
    const study = await makeStudy(t, db, 2, { proposer: { name: "replay", file } });
    const ids = study.workers.map(workerId);
    const children = study.workers.map((dir) => startWorker(dir, ["--max-experiments", "4"], { AUTORESEARCH_TEST_GATE: study.gate }));
    for (const child of children) t.after(() => child.kill("SIGKILL"));
    const runs = children.map((child) => finished(child));
    const held = await Promise.all(study.workers.map((dir) => heldCandidate(study, dir)));
    assert.notEqual(held[0], held[1], "the workers measure different ideas");
    const [before] = await query<{ version: number; metric: number }>(db, "SELECT version, metric FROM bests");

    // Hold the best's row, let both measurements end, and wait until both workers' swaps wait for the row.
    const holder = new pg.Client({ connectionString: db });
    await holder.connect();
    t.after(() => holder.end().catch(() => undefined));
    await holder.query("BEGIN");
    await holder.query("SELECT * FROM bests FOR UPDATE");
    openGate(study);
    const waiting = async () => (await query<{ n: number }>(db,
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE bests%'"))[0]!.n;
    await until("both workers wait to swap the best", async () => (await waiting()) === 2, 1200);
    await holder.query("COMMIT");

    for (const [index, run] of (await Promise.all(runs)).entries()) assert.equal(run.code, 0, `worker ${index}: ${run.stderr}`);
    const rows = (await studyRows(db)).filter((row) => row.kind === "candidate" && held.includes(row.fingerprint!));
    assert.equal(rows.length, 2, "both results are recorded");
    const history = await query<{ version: number; metric: number; worker: string; local_id: number | null }>(db, "SELECT version, metric, worker, local_id FROM best_history ORDER BY version");
    // Exactly one of the two won the swap from the version both were judged against: the next version is its.
    const next = history.find((entry) => entry.version === before!.version + 1)!;
    const winner = rows.find((row) => row.worker === next.worker && row.local_id === next.local_id)!;
    assert.ok(winner, `version ${next.version} is one of the two results`);
    const loser = rows.find((row) => row !== winner)!;
    assert.equal(winner.best_before, before!.metric);
    assert.equal(winner.decision, "keep");
    // The other's is judged again, against the winner's best: its delta is against it, kept only if it beats it.
    assert.equal(loser.status, "ok");
    assert.equal(loser.best_before, winner.metric, "the loser is judged against the new best");
    const beats = loser.metric! < winner.metric!;
    t.diagnostic(`won: ${winner.metric} (worker ${winner.worker}); judged again: ${loser.metric} against ${loser.best_before}, ${loser.decision}`);
    assert.equal(loser.decision, beats ? "keep" : "discard");
    const own = history.filter((entry) => entry.worker === loser.worker && entry.local_id === loser.local_id);
    assert.deepEqual(own.map((entry) => entry.version), beats ? [next.version + 1] : [], "the loser's result is a version only after the winner's");
    for (let index = 1; index < history.length; index++) assert.ok(history[index]!.metric < history[index - 1]!.metric, "the best only improved");
    assert.deepEqual(new Set(rows.map((row) => row.worker)), new Set(ids));
  });
});
