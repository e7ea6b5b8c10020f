// The ledger's SQLite schema and how a database file is opened and brought up to date.
// The schema version lives in PRAGMA user_version; each migration runs in its own
// transaction and bumps it, so a half-applied migration cannot be observed.
import { DatabaseSync } from "node:sqlite";
import { EnvironmentError } from "../errors.ts";

/** How long a connection waits for another process's write lock before failing. */
export const BUSY_TIMEOUT_MS = 10_000;

const STATUSES = "'running','ok','crash','timeout','no_metric','invalid','rejected','interrupted'";

/**
 * SQLite cannot change a CHECK in place: the experiments table is rebuilt, rows, ids and indexes kept,
 * with `kinds` allowed. Runs with foreign keys off (see migrate), as SQLite's own procedure says.
 * It carries the columns of migrations 1-4: a rebuild after migration 5 must carry ran_on too, and one
 * after migration 6 must create experiments_by_tag_kind_status again.
 */
function rebuildExperimentsForKinds(kinds: readonly string[]): string {
  const columns = `id, tag, kind, confirms, parent_commit, candidate_commit, candidate_tree, proposer, description,
    hypothesis, meta, diff, status, decision, reason, rationale, metric, held_out_metric, secondary, self_reported, best_before,
    delta, device, slot, log_path, timings, memory_gb, usage, started_at, finished_at, flags`;
  return `
  CREATE TABLE experiments_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    tag              TEXT NOT NULL REFERENCES sessions(tag),
    kind             TEXT NOT NULL CHECK (kind IN (${kinds.map((kind) => `'${kind}'`).join(",")})),
    confirms         INTEGER REFERENCES experiments(id),
    parent_commit    TEXT NOT NULL,
    candidate_commit TEXT,
    candidate_tree   TEXT,
    proposer         TEXT NOT NULL,
    description      TEXT NOT NULL,
    hypothesis       TEXT NOT NULL,
    meta             TEXT,
    diff             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN (${STATUSES})),
    decision         TEXT CHECK (decision IN ('keep','discard')),
    reason           TEXT,
    rationale        TEXT,
    metric           REAL,
    held_out_metric  REAL,
    secondary        TEXT NOT NULL,
    self_reported    INTEGER NOT NULL CHECK (self_reported IN (0,1)),
    best_before      REAL,
    delta            REAL,
    device           TEXT NOT NULL,
    slot             INTEGER NOT NULL,
    log_path         TEXT NOT NULL,
    timings          TEXT NOT NULL,
    memory_gb        REAL,
    usage            TEXT,
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    flags            TEXT NOT NULL DEFAULT '[]',
    CHECK ((status = 'running') = (finished_at IS NULL))
  ) STRICT;
  INSERT INTO experiments_new (${columns})
  SELECT ${columns} FROM experiments;
  DROP TABLE experiments;
  ALTER TABLE experiments_new RENAME TO experiments;
  CREATE INDEX experiments_by_tag_id     ON experiments (tag, id);
  CREATE INDEX experiments_by_tag_status ON experiments (tag, status);
  CREATE INDEX experiments_by_tag_tree   ON experiments (tag, candidate_tree);
  `;
}

/** Migration N (1-based) takes the database from user_version N-1 to N. Append, never edit. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE sessions (
    tag                TEXT PRIMARY KEY,
    branch             TEXT NOT NULL,
    base_commit        TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    config             TEXT NOT NULL,              -- JSON
    best_commit        TEXT NOT NULL,
    best_metric        REAL,
    best_experiment_id INTEGER REFERENCES experiments(id),
    noise_sigma        REAL,
    state              TEXT NOT NULL CHECK (state IN ('running','stopped','paused')),
    stop_reason        TEXT
  ) STRICT;

  CREATE TABLE experiments (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    tag              TEXT NOT NULL REFERENCES sessions(tag),
    kind             TEXT NOT NULL CHECK (kind IN ('baseline','candidate','confirmation')),
    confirms         INTEGER REFERENCES experiments(id),
    parent_commit    TEXT NOT NULL,
    candidate_commit TEXT,
    candidate_tree   TEXT,
    proposer         TEXT NOT NULL,
    description      TEXT NOT NULL,
    hypothesis       TEXT NOT NULL,
    meta             TEXT,                         -- JSON
    diff             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN (${STATUSES})),
    decision         TEXT CHECK (decision IN ('keep','discard')),
    reason           TEXT,
    rationale        TEXT,
    metric           REAL,
    held_out_metric  REAL,
    secondary        TEXT NOT NULL,                -- JSON object
    self_reported    INTEGER NOT NULL CHECK (self_reported IN (0,1)),
    best_before      REAL,
    delta            REAL,
    device           TEXT NOT NULL,
    slot             INTEGER NOT NULL,
    log_path         TEXT NOT NULL,
    timings          TEXT NOT NULL,                -- JSON object
    memory_gb        REAL,
    usage            TEXT,                         -- JSON object or NULL
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    -- a finished row always says when it finished; a running one never does
    CHECK ((status = 'running') = (finished_at IS NULL))
  ) STRICT;

  CREATE INDEX experiments_by_tag_id     ON experiments (tag, id);
  CREATE INDEX experiments_by_tag_status ON experiments (tag, status);
  CREATE INDEX experiments_by_tag_tree   ON experiments (tag, candidate_tree);
  `,
  `
  -- review flags of implausible results (JSON array of {kind, detail}); how a session's phases were isolated
  ALTER TABLE experiments ADD COLUMN flags TEXT NOT NULL DEFAULT '[]';
  ALTER TABLE sessions ADD COLUMN isolation TEXT CHECK (isolation IN ('sandbox','sandbox+network','unsandboxed'));
  `,
  // The measurement kinds (remeasure, rescore, ablation).
  rebuildExperimentsForKinds(["baseline", "candidate", "confirmation", "remeasure", "rescore", "ablation"]),
  // The cascade's smoke runs of the unchanged code (kind smoke).
  rebuildExperimentsForKinds(["baseline", "candidate", "confirmation", "remeasure", "rescore", "ablation", "smoke"]),
  `
  -- where each experiment ran (JSON {host, deviceName, slurmJobId?, pod?}; NULL when not known)
  ALTER TABLE experiments ADD COLUMN ran_on TEXT;
  `,
  `
  -- the baselines (and other kinds) of a session without reading its every row: a night of short
  -- experiments leaves tens of thousands, and each experiment's limits come from the baselines
  CREATE INDEX IF NOT EXISTS experiments_by_tag_kind_status ON experiments (tag, kind, status);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

function userVersion(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA user_version").get() as { user_version: number };
  return row.user_version;
}

function assertNotNewer(db: DatabaseSync, path: string): number {
  const version = userVersion(db);
  if (version > SCHEMA_VERSION) {
    throw new EnvironmentError(
      `${path} has ledger schema version ${version}, but this autoresearch only knows up to ${SCHEMA_VERSION}`,
      "upgrade autoresearch, or point it at another state directory",
    );
  }
  return version;
}

function migrate(db: DatabaseSync, path: string): void {
  if (assertNotNewer(db, path) === SCHEMA_VERSION) return;
  // A table rebuild (migration 3) must not fire the foreign keys of the rows it moves; the pragma is a
  // no-op inside a transaction, so it is set before, and the keys are checked before the commit instead.
  db.exec("PRAGMA foreign_keys = OFF");
  // IMMEDIATE takes the write lock first, so two processes opening a fresh
  // ledger at once serialise here and the second sees the first's work.
  db.exec("BEGIN IMMEDIATE");
  try {
    for (let version = assertNotNewer(db, path); version < SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version]);
      db.exec(`PRAGMA user_version = ${version + 1}`);
    }
    const broken = db.prepare("PRAGMA foreign_key_check").all();
    if (broken.length > 0) throw new EnvironmentError(`${path}: migrating the ledger would break ${broken.length} reference(s) between rows`, "keep this ledger file and report it as a bug; nothing was changed");
    db.exec("COMMIT");
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  } finally {
    db.exec("PRAGMA foreign_keys = ON");
  }
}

/**
 * Opens (creating if needed) the ledger database at `path` for writing: WAL so
 * readers in other processes never block the loop, a busy timeout so short
 * write contention waits instead of failing, foreign keys on, schema migrated.
 */
export function openWritable(path: string): DatabaseSync {
  const db = new DatabaseSync(path, { enableForeignKeyConstraints: true });
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.exec("PRAGMA journal_mode = WAL");
    // FULL: a committed keep survives power loss, not only a killed process;
    // the loop commits a few times per experiment, so the fsync cost is nil.
    db.exec("PRAGMA synchronous = FULL");
    migrate(db, path);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Opens an existing ledger for reading only (the dashboard, `show`), while a loop may be writing. */
export function openReadOnly(path: string): DatabaseSync {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const version = assertNotNewer(db, path);
    if (version < SCHEMA_VERSION) {
      throw new EnvironmentError(
        `${path} has ledger schema version ${version}, older than this autoresearch's ${SCHEMA_VERSION}`,
        "run any writing command (e.g. resume the session) once to upgrade it, then retry",
      );
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
