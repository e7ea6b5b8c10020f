// `autoresearch doctor` in a shared study (#11): the database, its schema version, the study and the git
// remote, each failure with what to fix, on a real PostgreSQL and real git remotes; and `share migrate`.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import pg from "pg";
import { checkShare, type ShareCheck } from "../src/cli/doctor-share.ts";
import type { SharedLedgerConfig } from "../src/config/ledger.ts";
import { migrate, SCHEMA_VERSION } from "../src/share/schema.ts";
import { startPostgres, type TestPostgres } from "./helpers/postgres.ts";
import { cli, makeStudy, query } from "./helpers/shared-study.ts";

const server = startPostgres();
const skip = typeof server === "string" ? server : false;

async function migrated(url: string, target = SCHEMA_VERSION): Promise<void> {
  const pool = new pg.Pool({ connectionString: url });
  const client = await pool.connect();
  try {
    await migrate(client, target);
  } finally {
    client.release();
    await pool.end();
  }
}

function failed(checks: ShareCheck[], name: string): ShareCheck {
  const check = checks.find((each) => each.name === name);
  assert.ok(check, `a check named ${name}: ${JSON.stringify(checks)}`);
  assert.equal(check.ok, false, `${name} fails: ${check.detail}`);
  assert.equal(check.required, true);
  return check;
}

describe("doctor in a shared study", { skip }, () => {
  const postgres = server as TestPostgres;
  after(() => postgres.close());

  test("a worker's clone passes every check; each way of failing says what is wrong and what to fix", async (t) => {
    const db = await postgres.database("doctor");
    const study = await makeStudy(t, db, 1);
    const worker = study.workers[0]!;
    const doctor = await cli(["doctor", "--json"], worker);
    const checks = JSON.parse(doctor.stdout) as ShareCheck[];
    for (const name of ["study database", "study schema", "study", "study remote"]) {
      const check = checks.find((each) => each.name === name);
      assert.ok(check?.ok, `${name}: ${check?.detail}`);
    }
    assert.match(checks.find((each) => each.name === "study remote")!.detail, /has study\/s\/base and takes pushes/);
    const shared: SharedLedgerConfig = { kind: "postgres", url: db, study: "s", remote: study.remote, passwordEnv: "PGPASSWORD", leaseSeconds: 60 };

    // Nothing listens at the address.
    const refused = failed(await checkShare({ ...shared, url: "postgres://postgres@127.0.0.1:1/x" }, worker), "study database");
    assert.match(refused.detail, /^cannot connect to postgres:\/\/postgres@127\.0\.0\.1:1\/x: /);
    assert.match(refused.fix!, /Nothing listens there: start the server, or check the host and port in ledger\.url/);

    // A user the server wants a password from: none given, then a wrong one, then the right one (from passwordEnv).
    const [{ hba_file: hba }] = await query<{ hba_file: string }>(db, "SHOW hba_file");
    await query(db, "CREATE ROLE needs_password LOGIN PASSWORD 'right'");
    writeFileSync(hba!, `host all needs_password 127.0.0.1/32 scram-sha-256\n${readFileSync(hba!, "utf8")}`);
    await query(db, "SELECT pg_reload_conf()");
    const guarded = { ...shared, url: db.replace("postgres://postgres@", "postgres://needs_password@"), passwordEnv: "STUDY_PASSWORD" };
    const without = failed(await checkShare(guarded, worker, {}), "study database");
    assert.match(without.fix!, /The server wants a password: set \$STUDY_PASSWORD/, without.detail);
    const wrong = failed(await checkShare(guarded, worker, { STUDY_PASSWORD: "wrong" }), "study database");
    assert.match(wrong.fix!, /The server refused the credentials: check the user in ledger\.url and the password in \$STUDY_PASSWORD/);
    assert.ok(!wrong.detail.includes("wrong"), "the password is never printed");
    // The right password (from passwordEnv) connects; a user who may not read the study's tables is told so.
    const denied = failed(await checkShare(guarded, worker, { STUDY_PASSWORD: "right" }), "study database");
    assert.match(denied.detail, /permission denied/);
    assert.match(denied.fix!, /Check that the user may read the study's tables \(GRANT/);
    await query(db, "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO needs_password");
    for (const check of await checkShare(guarded, worker, { STUDY_PASSWORD: "right" })) assert.ok(check.ok, `${check.name}: ${check.detail}`);

    // The server answers, but the database does not exist.
    const missing = failed(await checkShare({ ...shared, url: postgres.url.replace(/\/postgres$/, "/no_such_db") }, worker), "study database");
    assert.match(missing.fix!, /The database does not exist on that server: check ledger\.url, or create it/);

    // A database without the study's tables.
    const empty = await postgres.database("empty");
    const bare = failed(await checkShare({ ...shared, url: empty }, worker), "study schema");
    assert.match(bare.detail, /has none of the study's tables/);
    assert.match(bare.fix!, /autoresearch share init/);

    // An older schema: `share migrate` brings it up; a newer one wants a newer autoresearch.
    const old = await postgres.database("old");
    await migrated(old, 1);
    const older = failed(await checkShare({ ...shared, url: old }, worker), "study schema");
    assert.match(older.detail, new RegExp(`has schema version 1; this autoresearch needs ${SCHEMA_VERSION}`));
    assert.match(older.fix!, /`autoresearch share migrate`/);
    const configPath = join(worker, "autoresearch.config.json");
    const config = readFileSync(configPath, "utf8");
    writeFileSync(configPath, config.replace(db, old));
    const upgraded = await cli(["share", "migrate"], worker);
    writeFileSync(configPath, config);
    assert.equal(upgraded.code, 0, upgraded.stderr);
    assert.match(upgraded.stdout, new RegExp(`schema version 1 → ${SCHEMA_VERSION}`));
    assert.ok((await checkShare({ ...shared, url: old }, worker)).find((each) => each.name === "study schema")?.ok, "migrated: the schema check passes");
    await query(old, "UPDATE autoresearch_schema SET version = 99");
    assert.match(failed(await checkShare({ ...shared, url: old }, worker), "study schema").fix!, /Upgrade autoresearch on this machine/);

    // The right schema, but no such study.
    const other = failed(await checkShare({ ...shared, study: "t" }, worker), "study");
    assert.match(other.detail, /has no study "t" \(it has s\)/);
    assert.match(other.fix!, /Set ledger\.study/);

    // A remote git cannot read, and one that is not the study's.
    const unreadable = failed(await checkShare({ ...shared, remote: join(study.root, "no-such-remote.git") }, worker), "study remote");
    assert.match(unreadable.detail, /^git cannot read .*no-such-remote\.git: /);
    assert.match(unreadable.fix!, /Check ledger\.remote and that this machine may fetch from it/);
    const elsewhere = failed(await checkShare({ ...shared, remote: join(study.root, "host") }, worker), "study remote");
    assert.match(elsewhere.detail, /answers but has no study\/s\/base/);

    // doctor itself: a failed required check exits 4 and prints the fix under it.
    writeFileSync(configPath, config.replace(db, "postgres://postgres@127.0.0.1:1/x"));
    const down = await cli(["doctor"], worker);
    writeFileSync(configPath, config);
    assert.equal(down.code, 4);
    assert.match(down.stdout, /FAIL {2}study database: cannot connect to postgres:\/\/postgres@127\.0\.0\.1:1\/x: .*\n {6}Nothing listens there/);
  });
});
