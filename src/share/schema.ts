// The shared study's tables in PostgreSQL, as numbered migrations. `migrate` applies the missing ones
// in one transaction under an advisory lock, so two hosts running `share init` at once cannot both do it.
//
// studies       one row per study: its base commit, git remote, metric and direction
// workers       every machine that joined: id, host, device class, when it was last heard of
// claims        one row per candidate code (its git tree): who runs or ran it, a lease renewed by
//               heartbeat, and an epoch that grows each time an expired claim is taken over (the fence)
// experiments   every worker's experiments, keyed by (study, worker, the worker's own ledger id): recorded once
// bests         the global best per device class, advanced only by compare-and-swap on `version`
// best_history  every version each best had (the best only improves: the tests read it)
// notebook      hypotheses and insights any worker or person adds
//
// Version 2: each worker's row says which best it builds on (the dashboard shows it), and a notebook entry
// says where it came from (a proposer's notes.md, or a person) and, for a proposer's, which session it distils.
// Version 3: a worker's row says when it stopped (null while it runs), and a best's history entry is stamped
// with the moment it is written, not its transaction's start, so the two order the same way the swaps do.
import type { PoolClient } from "pg";

export const SCHEMA_VERSION = 3;

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE studies (
    name text PRIMARY KEY,
    base_commit text NOT NULL,
    remote text NOT NULL,
    metric text NOT NULL,
    direction text NOT NULL CHECK (direction IN ('min', 'max')),
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE workers (
    study text NOT NULL REFERENCES studies (name),
    id text NOT NULL,
    host text NOT NULL,
    device_class text NOT NULL,
    joined_at timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (study, id)
  );
  CREATE TABLE claims (
    study text NOT NULL,
    fingerprint text NOT NULL,
    worker text NOT NULL,
    epoch integer NOT NULL,
    state text NOT NULL CHECK (state IN ('claimed', 'done')),
    lease_until timestamptz NOT NULL,
    description text NOT NULL,
    meta jsonb,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (study, fingerprint),
    FOREIGN KEY (study, worker) REFERENCES workers (study, id)
  );
  CREATE TABLE experiments (
    study text NOT NULL,
    worker text NOT NULL,
    local_id integer NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    decision text,
    fenced boolean NOT NULL DEFAULT false,
    fingerprint text,
    parent_commit text NOT NULL,
    candidate_commit text,
    device_class text NOT NULL,
    device text NOT NULL,
    proposer text NOT NULL,
    description text NOT NULL,
    meta jsonb,
    metric double precision,
    best_before double precision,
    rationale text,
    reason text,
    started_at timestamptz,
    finished_at timestamptz,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (study, worker, local_id),
    FOREIGN KEY (study, worker) REFERENCES workers (study, id)
  );
  CREATE INDEX experiments_by_fingerprint ON experiments (study, fingerprint);
  CREATE TABLE bests (
    study text NOT NULL REFERENCES studies (name),
    device_class text NOT NULL,
    version integer NOT NULL,
    commit text NOT NULL,
    ref text NOT NULL,
    metric double precision NOT NULL,
    worker text NOT NULL,
    local_id integer,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (study, device_class)
  );
  CREATE TABLE best_history (
    study text NOT NULL,
    device_class text NOT NULL,
    version integer NOT NULL,
    commit text NOT NULL,
    metric double precision NOT NULL,
    worker text NOT NULL,
    local_id integer,
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (study, device_class, version)
  );
  CREATE TABLE notebook (
    id bigserial PRIMARY KEY,
    study text NOT NULL REFERENCES studies (name),
    worker text,
    at timestamptz NOT NULL DEFAULT now(),
    text text NOT NULL
  );
  `,
  `
  ALTER TABLE workers ADD COLUMN best_version integer, ADD COLUMN best_commit text, ADD COLUMN best_metric double precision;
  ALTER TABLE notebook ADD COLUMN source text NOT NULL DEFAULT 'person' CHECK (source IN ('proposer', 'person'));
  CREATE INDEX notebook_by_study ON notebook (study, id);
  `,
  `
  ALTER TABLE workers ADD COLUMN stopped_at timestamptz;
  ALTER TABLE best_history ALTER COLUMN at SET DEFAULT clock_timestamp();
  `,
];

// pg_advisory_xact_lock key: "autoresearch schema" (any fixed number; it only has to be ours).
const MIGRATION_LOCK = 0x6175_7472;

/** The schema version the database holds (0 when it has none of our tables). */
export async function schemaVersion(client: Pick<PoolClient, "query">): Promise<number> {
  const exists = await client.query<{ found: string | null }>("SELECT to_regclass('autoresearch_schema') AS found");
  if (exists.rows[0]?.found === null) return 0;
  const row = await client.query<{ version: number }>("SELECT version FROM autoresearch_schema");
  return row.rows[0]?.version ?? 0;
}

/** Applies the migrations the database lacks (up to `target`: tests make older databases); returns the version before and after. */
export async function migrate(client: PoolClient, target = SCHEMA_VERSION): Promise<{ from: number; to: number }> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query("CREATE TABLE IF NOT EXISTS autoresearch_schema (version integer NOT NULL)");
    const from = await schemaVersion(client);
    if (from > SCHEMA_VERSION) {
      throw new Error(`the database's schema is version ${from}, newer than this autoresearch knows (${SCHEMA_VERSION}): upgrade autoresearch`);
    }
    const to = Math.max(from, target);
    for (let version = from + 1; version <= to; version++) await client.query(MIGRATIONS[version - 1]!);
    await client.query("DELETE FROM autoresearch_schema");
    await client.query("INSERT INTO autoresearch_schema (version) VALUES ($1)", [to]);
    await client.query("COMMIT");
    return { from, to };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
