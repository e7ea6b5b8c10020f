// The shared study's database layer on a real PostgreSQL (#11): claims and their leases, the fence on a
// result whose claim was taken over, the compare-and-swap of the best under a race, NOTIFY, and an outage.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import pg from "pg";
import { migrate, SCHEMA_VERSION, schemaVersion } from "../src/share/schema.ts";
import { SharedStudy, type SharedRow } from "../src/share/study.ts";
import { startPostgres, type TestPostgres } from "./helpers/postgres.ts";

const server = startPostgres();
const skip = typeof server === "string" ? server : false;

async function newStudy(postgres: TestPostgres, name: string): Promise<string> {
  const url = await postgres.database(name);
  const pool = new pg.Pool({ connectionString: url });
  const client = await pool.connect();
  await migrate(client);
  client.release();
  await pool.query("INSERT INTO studies (name, base_commit, remote, metric, direction) VALUES ('s', 'base', '/nowhere', 'score', 'min')");
  await pool.end();
  return url;
}

function open(url: string, worker: string, leaseSeconds = 30, onChange?: () => void): Promise<SharedStudy> {
  return SharedStudy.open({ url, study: "s", worker, deviceClass: "cpu", leaseSeconds, host: "test", onChange });
}

function row(localId: number, overrides: Partial<SharedRow> = {}): SharedRow {
  return {
    localId, kind: "candidate", status: "ok", decision: "discard", fingerprint: null, parentCommit: "base", candidateCommit: `c${localId}`,
    device: "cpu", proposer: "search", description: `candidate ${localId}`, meta: null, metric: 1, bestBefore: 2, rationale: null, reason: null,
    startedAt: null, finishedAt: null, ...overrides,
  };
}

async function eventually(what: string, check: () => Promise<boolean>, steps = 200): Promise<void> {
  for (let step = 0; step < steps; step++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`${what}: not within ${steps} checks`);
}

describe("shared study database", { skip }, () => {
  const postgres = server as TestPostgres;
  after(() => postgres.close());

  test("migrations are idempotent and recorded as the schema version", async () => {
    const url = await postgres.database("migrate");
    const pool = new pg.Pool({ connectionString: url });
    const client = await pool.connect();
    try {
      assert.equal(await schemaVersion(client), 0);
      assert.deepEqual(await migrate(client), { from: 0, to: SCHEMA_VERSION });
      assert.deepEqual(await migrate(client), { from: SCHEMA_VERSION, to: SCHEMA_VERSION });
      assert.equal(await schemaVersion(client), SCHEMA_VERSION);
    } finally {
      client.release();
      await pool.end();
    }
  });

  test("a claim is exclusive; an expired one is taken over and the first holder's result is fenced", async () => {
    const url = await newStudy(postgres, "claims");
    const a = await open(url, "a", 1);
    const b = await open(url, "b", 1);
    try {
      const first = await a.claim("tree-1", "x = 4", { knob: "x" });
      assert.equal(first.kind, "claimed");
      const refused = await b.claim("tree-1", "x = 4", null);
      assert.deepEqual(refused, { kind: "taken", worker: "a", state: "claimed", description: "x = 4" });
      // a stops renewing (as a killed worker would): its lease runs out and b takes the idea over
      await a.close();
      let token = { fingerprint: "", epoch: 0 };
      await eventually("b takes the expired claim", async () => {
        const answer = await b.claim("tree-1", "x = 4", null);
        if (answer.kind === "claimed") token = answer.token;
        return answer.kind === "claimed";
      });
      assert.equal(token.epoch, 2);
      // a's result comes in late, with its old epoch: recorded, fenced, not decided on
      const late = await open(url, "a", 1);
      const fenced = await late.record([row(1, { fingerprint: "tree-1", decision: "keep" })], { token: { fingerprint: "tree-1", epoch: 1 }, done: true }, null);
      assert.equal(fenced.kind, "fenced");
      await late.close();
      assert.equal((await b.record([row(7, { fingerprint: "tree-1" })], { token, done: true }, null)).kind, "recorded");
      const c = await open(url, "c", 1);
      assert.deepEqual(await c.claim("tree-1", "x = 4", null), { kind: "taken", worker: "b", state: "done", description: "x = 4" });
      await c.close();
      const pool = new pg.Pool({ connectionString: url });
      const rows = (await pool.query("SELECT worker, local_id, decision, fenced FROM experiments ORDER BY worker")).rows;
      await pool.end();
      assert.deepEqual(rows, [{ worker: "a", local_id: 1, decision: null, fenced: true }, { worker: "b", local_id: 7, decision: "discard", fenced: false }]);
    } finally {
      await b.close();
    }
  });

  test("two workers better at the same moment: exactly one wins the swap, the other is told the new best", async () => {
    const url = await newStudy(postgres, "race");
    let announced = 0;
    const watcher = await open(url, "w", 30, () => announced++);
    const a = await open(url, "a");
    const b = await open(url, "b");
    try {
      assert.equal((await a.record([row(1, { kind: "baseline", decision: null })], null, { commit: "base", ref: "r0", metric: 10, localId: null, expectedVersion: 0 })).kind, "recorded");
      const [fromA, fromB] = await Promise.all([
        a.record([row(2, { decision: "keep", metric: 8 })], null, { commit: "ca", ref: "ra", metric: 8, localId: 2, expectedVersion: 1 }),
        b.record([row(5, { decision: "keep", metric: 7 })], null, { commit: "cb", ref: "rb", metric: 7, localId: 5, expectedVersion: 1 }),
      ]);
      const kinds = [fromA.kind, fromB.kind].sort();
      assert.deepEqual(kinds, ["lost", "recorded"]);
      const loser = fromA.kind === "lost" ? fromA : fromB;
      assert.equal(loser.kind === "lost" && loser.current?.version, 2, "the loser is handed the best that won");
      const pool = new pg.Pool({ connectionString: url });
      const history = (await pool.query("SELECT version FROM best_history ORDER BY version")).rows.map((each) => each.version);
      const lostRows = (await pool.query("SELECT count(*)::int AS n FROM experiments WHERE local_id IN (2, 5)")).rows[0].n;
      await pool.end();
      assert.deepEqual(history, [1, 2]);
      assert.equal(lostRows, 1, "the losing decision wrote nothing: its worker judges again");
      await eventually("the watcher hears of version 2", async () => watcher.best()?.version === 2 && announced > 0);
    } finally {
      await Promise.all([a.close(), b.close(), watcher.close()]);
    }
  });

  test("the database stopped and started: the worker goes offline, comes back, and re-reads the best", async () => {
    const url = await newStudy(postgres, "outage");
    let changes = 0;
    const a = await open(url, "a", 30, () => changes++);
    const b = await open(url, "b");
    try {
      postgres.stop();
      await assert.rejects(a.readBest());
      assert.equal(a.online, false);
      postgres.start();
      await eventually("a is back online", async () => a.online);
      // b sets a best; a hears of it (its listener was re-made on the way back)
      await eventually("b's write goes through", async () => (await b.record([row(1, { kind: "baseline" })], null, { commit: "base", ref: "r", metric: 3, localId: null, expectedVersion: 0 }).catch(() => null))?.kind === "recorded");
      await eventually("a knows the new best", async () => a.best()?.metric === 3);
      assert.ok(changes >= 2, "offline and back were announced");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

});
