// One worker's connection to a shared study in PostgreSQL (#11): claims with leases, the record of each
// experiment and the compare-and-swap of the global best in one transaction, new bests announced by
// LISTEN/NOTIFY and re-read after every reconnect (notifications are not replayed).
//
// SharedStudy.open(options)        connect, check the schema and the study, register the worker
// online                           false from the first failed connection until a probe gets through again
// best() / readBest()              the global best of this worker's device class: cached / from the database
// claim(fingerprint, ...)          claim a candidate's code; `taken` when another worker runs or ran it
// release(token)                   give a claim back (the run was interrupted, nobody learned anything)
// record(rows, claim, proposal)    ONE transaction: fence check, CAS of the best, the row, the claim done, NOTIFY
// othersHistory(limit)             other workers' experiments and live claims, newest first
// recordedIds()                    this worker's local ids the database holds (catch-up after an outage)
// buildingOn(best)                 which best this worker builds on (for the views)
// stopping()                       the worker stops: the best it ends on, read and stamped as one step
// note(text, source) / notebook()  the shared notebook: add an entry; people's notes and the others' latest notes.md
// classBaselineGroups()            other workers' baseline runs of this device class, for the pooled noise
// close()
import { hostname } from "node:os";
import pg from "pg";
import { EnvironmentError, EXIT, UserError } from "../errors.ts";
import { schemaVersion, SCHEMA_VERSION } from "./schema.ts";

export const BEST_CHANNEL = "autoresearch_best";

export interface StudyRecord {
  name: string;
  baseCommit: string;
  remote: string;
  metric: string;
  direction: "min" | "max";
}

export interface GlobalBest {
  deviceClass: string;
  version: number;
  commit: string;
  /** Where the commit is on the remote. */
  ref: string;
  metric: number;
  worker: string;
  localId: number | null;
}

export interface ClaimToken {
  fingerprint: string;
  epoch: number;
}

export type ClaimAnswer =
  | { kind: "claimed"; token: ClaimToken }
  | { kind: "taken"; worker: string; state: "claimed" | "done"; description: string };

/** One experiment as the study records it; `localId` is the worker's own ledger id. */
export interface SharedRow {
  localId: number;
  kind: string;
  status: string;
  decision: string | null;
  fingerprint: string | null;
  parentCommit: string;
  candidateCommit: string | null;
  device: string;
  proposer: string;
  description: string;
  meta: unknown;
  metric: number | null;
  bestBefore: number | null;
  rationale: string | null;
  reason: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A new global best this decision would make: `expectedVersion` is the version it was judged against (0: none yet). */
export interface BestProposal {
  commit: string;
  ref: string;
  metric: number;
  localId: number | null;
  expectedVersion: number;
}

export type RecordAnswer =
  | { kind: "recorded"; best: GlobalBest | null }
  /** The claim was taken over by another worker (this one's lease expired): recorded, not decided on. */
  | { kind: "fenced" }
  /** The best moved since the decision was judged: nothing was written; judge again against `current`. */
  | { kind: "lost"; current: GlobalBest | null };

export interface OtherExperiment {
  worker: string;
  localId: number | null;
  kind: string;
  status: string;
  decision: string | null;
  description: string;
  meta: unknown;
  metric: number | null;
  bestBefore: number | null;
  parentCommit: string;
  candidateCommit: string | null;
}

export interface OpenOptions {
  url: string;
  study: string;
  worker: string;
  deviceClass: string;
  leaseSeconds: number;
  host?: string;
  /** Called when the worker goes offline or comes back, and when a new best is announced or re-read. */
  onChange?: () => void;
}

const PROBE_MS = 250;

export class SharedStudy {
  readonly study: StudyRecord;
  readonly worker: string;
  readonly deviceClass: string;
  readonly leaseSeconds: number;
  #pool: pg.Pool;
  #url: string;
  #listener: pg.Client | null = null;
  #online = true;
  #best: GlobalBest | null = null;
  #closed = false;
  #probing: Promise<void> | null = null;
  #heartbeat: NodeJS.Timeout;
  /** buildingOn's writes, one after another: callers do not wait for them, and a later one must not land first. */
  #buildingOnWrites: Promise<unknown> = Promise.resolve();
  #onChange: () => void;

  private constructor(pool: pg.Pool, url: string, study: StudyRecord, options: OpenOptions) {
    this.#pool = pool;
    this.#url = url;
    this.study = study;
    this.worker = options.worker;
    this.deviceClass = options.deviceClass;
    this.leaseSeconds = options.leaseSeconds;
    this.#onChange = options.onChange ?? (() => {});
    // Leases are renewed at a third of their length, so one missed beat does not lose them.
    this.#heartbeat = setInterval(() => void this.#beat(), Math.max(200, (options.leaseSeconds * 1000) / 3));
    this.#heartbeat.unref();
  }

  static async open(options: OpenOptions): Promise<SharedStudy> {
    const pool = createPool(options.url);
    try {
      const study = await readStudy(pool, options.study, options.url);
      await pool.query(
        `INSERT INTO workers (study, id, host, device_class) VALUES ($1, $2, $3, $4)
         ON CONFLICT (study, id) DO UPDATE SET host = EXCLUDED.host, device_class = EXCLUDED.device_class, last_seen = now(), stopped_at = NULL`,
        [options.study, options.worker, options.host ?? hostname(), options.deviceClass],
      );
      const shared = new SharedStudy(pool, options.url, study, options);
      await shared.#listen();
      await shared.readBest();
      return shared;
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw asUserError(error, options.url);
    }
  }

  get online(): boolean {
    return this.#online;
  }

  /** The global best as last read or announced. */
  best(): GlobalBest | null {
    return this.#best;
  }

  async readBest(): Promise<GlobalBest | null> {
    const rows = await this.#query<BestRow>("SELECT * FROM bests WHERE study = $1 AND device_class = $2", [this.study.name, this.deviceClass]);
    this.#best = rows[0] ? bestFromRow(rows[0]) : null;
    return this.#best;
  }

  /**
   * Claims the candidate whose code has this fingerprint. An expired claim of another worker is taken
   * over (its epoch grows, which fences the old holder's result); this worker's own live claim (a
   * restart with the same worker id) is taken back the same way. A finished one is never run again.
   */
  async claim(fingerprint: string, description: string, meta: unknown): Promise<ClaimAnswer> {
    const rows = await this.#query<{ epoch: number }>(
      `INSERT INTO claims (study, fingerprint, worker, epoch, state, lease_until, description, meta)
       VALUES ($1, $2, $3, 1, 'claimed', now() + make_interval(secs => $4), $5, $6)
       ON CONFLICT (study, fingerprint) DO UPDATE
         SET worker = EXCLUDED.worker, epoch = claims.epoch + 1, lease_until = EXCLUDED.lease_until,
             claimed_at = now(), description = EXCLUDED.description, meta = EXCLUDED.meta
         WHERE claims.state = 'claimed' AND (claims.lease_until < now() OR claims.worker = EXCLUDED.worker)
       RETURNING epoch`,
      [this.study.name, fingerprint, this.worker, this.leaseSeconds, description, JSON.stringify(meta ?? null)],
    );
    if (rows[0]) return { kind: "claimed", token: { fingerprint, epoch: rows[0].epoch } };
    const holder = await this.#query<{ worker: string; state: "claimed" | "done"; description: string }>(
      "SELECT worker, state, description FROM claims WHERE study = $1 AND fingerprint = $2", [this.study.name, fingerprint],
    );
    const found = holder[0];
    // Gone meanwhile (released): try once more.
    if (!found) return this.claim(fingerprint, description, meta);
    return { kind: "taken", worker: found.worker, state: found.state, description: found.description };
  }

  /** A restarted worker's claims from before: its runs of them are gone, so others may take them at once. */
  async releaseMine(): Promise<number> {
    const rows = await this.#query("DELETE FROM claims WHERE study = $1 AND worker = $2 AND state = 'claimed' RETURNING fingerprint", [this.study.name, this.worker]);
    return rows.length;
  }

  async release(token: ClaimToken): Promise<void> {
    await this.#query(
      "DELETE FROM claims WHERE study = $1 AND fingerprint = $2 AND worker = $3 AND epoch = $4 AND state = 'claimed'",
      [this.study.name, token.fingerprint, this.worker, token.epoch],
    );
  }

  /**
   * One experiment's record, in ONE transaction: if it ran under a claim that another worker has taken over
   * since, it is recorded fenced (no decision); if it would make a new best, the best moves only if it is still
   * at `expectedVersion` (else nothing is written and the caller judges again); the claim becomes done; a new
   * best is announced. Recording the same (worker, local id) again updates that row: a row is never doubled.
   */
  async record(rows: readonly SharedRow[], claim: { token: ClaimToken; done: boolean } | null, proposal: BestProposal | null): Promise<RecordAnswer> {
    return this.#transaction(async (client) => {
      if (claim !== null) {
        const held = await client.query<{ worker: string; epoch: number }>(
          "SELECT worker, epoch FROM claims WHERE study = $1 AND fingerprint = $2 FOR UPDATE", [this.study.name, claim.token.fingerprint],
        );
        const current = held.rows[0];
        if (current && (current.worker !== this.worker || current.epoch !== claim.token.epoch)) {
          const rationale = `fenced: worker ${current.worker} took the claim over after this worker's lease expired`;
          for (const row of rows) await this.#insertRow(client, { ...row, decision: null, rationale }, true);
          return { kind: "fenced" } as const;
        }
      }
      let best: GlobalBest | null = null;
      if (proposal !== null) {
        best = await this.#swapBest(client, proposal);
        if (best === null) {
          await client.query("ROLLBACK");
          return { kind: "lost", current: await this.readBest() } as const;
        }
      }
      for (const row of rows) await this.#insertRow(client, row, false);
      if (claim !== null && claim.done) {
        await client.query(
          `INSERT INTO claims (study, fingerprint, worker, epoch, state, lease_until, description, meta)
           VALUES ($1, $2, $3, $4, 'done', now(), $5, $6)
           ON CONFLICT (study, fingerprint) DO UPDATE SET state = 'done'`,
          [this.study.name, claim.token.fingerprint, this.worker, claim.token.epoch, rows[0]?.description ?? "", JSON.stringify(rows[0]?.meta ?? null)],
        );
      }
      if (best !== null) {
        await client.query("SELECT pg_notify($1, $2)", [BEST_CHANNEL, JSON.stringify({ study: this.study.name, deviceClass: this.deviceClass, version: best.version })]);
        this.#best = best;
      }
      return { kind: "recorded", best } as const;
    });
  }

  async othersHistory(limit: number): Promise<OtherExperiment[]> {
    const rows = await this.#query<OtherRow>(
      `SELECT worker, local_id, kind, status, decision, description, meta, metric, best_before, parent_commit, candidate_commit
         FROM experiments WHERE study = $1 AND worker <> $2 AND kind = 'candidate'
       UNION ALL
       SELECT worker, NULL, 'candidate', 'running', NULL, description, meta, NULL, NULL, '', NULL
         FROM claims WHERE study = $1 AND worker <> $2 AND state = 'claimed' AND lease_until >= now()
       ORDER BY local_id DESC NULLS FIRST LIMIT $3`,
      [this.study.name, this.worker, limit],
    );
    return rows.map((row) => ({
      worker: row.worker, localId: row.local_id, kind: row.kind, status: row.status, decision: row.decision, description: row.description,
      meta: row.meta, metric: row.metric, bestBefore: row.best_before, parentCommit: row.parent_commit, candidateCommit: row.candidate_commit,
    }));
  }

  async recordedIds(): Promise<Set<number>> {
    const rows = await this.#query<{ local_id: number }>("SELECT local_id FROM experiments WHERE study = $1 AND worker = $2", [this.study.name, this.worker]);
    return new Set(rows.map((row) => row.local_id));
  }

  /**
   * Run-to-run noise of this device class measured elsewhere: each other worker's baseline runs of this class
   * (the same code run again on one machine) as one group, so the pooled σ rests on every machine of the class.
   */
  async classBaselineGroups(): Promise<number[][]> {
    const rows = await this.#query<{ runs: number[] }>(
      `SELECT array_agg(metric ORDER BY local_id) AS runs FROM experiments
        WHERE study = $1 AND device_class = $2 AND worker <> $3 AND kind = 'baseline' AND status = 'ok' AND metric IS NOT NULL AND NOT fenced
        GROUP BY worker, parent_commit HAVING count(*) >= 2 ORDER BY worker, parent_commit`,
      [this.study.name, this.deviceClass, this.worker],
    );
    return rows.map((row) => row.runs.map(Number));
  }

  /** The study's best this worker builds on from now (the dashboard shows it beside the worker). */
  async buildingOn(best: GlobalBest): Promise<void> {
    const write = this.#buildingOnWrites.then(() => this.#query("UPDATE workers SET best_version = $3, best_commit = $4, best_metric = $5, last_seen = now() WHERE study = $1 AND id = $2",
      [this.study.name, this.worker, best.version, best.commit, best.metric]));
    this.#buildingOnWrites = write.catch(() => undefined);
    await write;
  }

  /**
   * The worker stops: reads its class's best and stamps its row stopped, in one transaction that holds the
   * best's row against a swap. A new best is therefore either read here or written after the stamp (its
   * history entry's time is later), so "the best as it stood when the worker stopped" has one answer.
   */
  async stopping(): Promise<GlobalBest | null> {
    return this.#transaction(async (client) => {
      const rows = await client.query<BestRow>("SELECT * FROM bests WHERE study = $1 AND device_class = $2 FOR SHARE", [this.study.name, this.deviceClass]);
      await client.query("UPDATE workers SET stopped_at = clock_timestamp(), last_seen = now() WHERE study = $1 AND id = $2", [this.study.name, this.worker]);
      this.#best = rows.rows[0] ? bestFromRow(rows.rows[0]) : null;
      return this.#best;
    });
  }

  /** Adds an entry to the shared notebook: a proposer's notes.md as rewritten, or a person's note. */
  async note(text: string, source: NoteSource = "person"): Promise<void> {
    await this.#query("INSERT INTO notebook (study, worker, text, source) VALUES ($1, $2, $3, $4)", [this.study.name, this.worker, text, source]);
  }

  /** What the proposers read: every person's note, and the latest notes.md of each other worker. */
  async notebook(): Promise<NoteEntry[]> {
    return readNotebook(this.#pool, this.study.name, this.worker);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    await this.#listener?.end().catch(() => undefined);
    await this.#pool.end().catch(() => undefined);
  }

  // ---- internals

  async #swapBest(client: pg.PoolClient, proposal: BestProposal): Promise<GlobalBest | null> {
    const values = [this.study.name, this.deviceClass, proposal.commit, proposal.ref, proposal.metric, this.worker, proposal.localId];
    const swapped = proposal.expectedVersion === 0
      ? await client.query<BestRow>(
          `INSERT INTO bests (study, device_class, version, commit, ref, metric, worker, local_id) VALUES ($1, $2, 1, $3, $4, $5, $6, $7)
           ON CONFLICT (study, device_class) DO NOTHING RETURNING *`, values)
      : await client.query<BestRow>(
          `UPDATE bests SET version = version + 1, commit = $3, ref = $4, metric = $5, worker = $6, local_id = $7, updated_at = now()
           WHERE study = $1 AND device_class = $2 AND version = $8 RETURNING *`, [...values, proposal.expectedVersion]);
    const row = swapped.rows[0];
    if (!row) return null;
    await client.query(
      "INSERT INTO best_history (study, device_class, version, commit, metric, worker, local_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
      [this.study.name, this.deviceClass, row.version, row.commit, row.metric, row.worker, row.local_id],
    );
    return bestFromRow(row);
  }

  async #insertRow(client: pg.PoolClient, row: SharedRow, fenced: boolean): Promise<void> {
    await client.query(
      `INSERT INTO experiments (study, worker, local_id, kind, status, decision, fenced, fingerprint, parent_commit, candidate_commit,
         device_class, device, proposer, description, meta, metric, best_before, rationale, reason, started_at, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
       ON CONFLICT (study, worker, local_id) DO UPDATE SET status = EXCLUDED.status, decision = EXCLUDED.decision, fenced = EXCLUDED.fenced,
         metric = EXCLUDED.metric, best_before = EXCLUDED.best_before, rationale = EXCLUDED.rationale, reason = EXCLUDED.reason,
         finished_at = EXCLUDED.finished_at, recorded_at = now()`,
      [
        this.study.name, this.worker, row.localId, row.kind, row.status, row.decision, fenced, row.fingerprint, row.parentCommit, row.candidateCommit,
        this.deviceClass, row.device, row.proposer, row.description, JSON.stringify(row.meta ?? null), row.metric, row.bestBefore, row.rationale,
        row.reason, row.startedAt, row.finishedAt,
      ],
    );
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#connect();
    let broken: Error | undefined;
    // A checked-out client has no listener of the pool's: the server ending the connection between two of
    // its queries (PostgreSQL stopped) would be an unhandled 'error' event that ends the process. Noted
    // here, it fails the next query instead, and the client is dropped, not pooled again.
    const dropped = (error: Error) => {
      broken ??= error;
    };
    client.on("error", dropped);
    try {
      await client.query("BEGIN");
      const result = await work(client);
      // `lost` rolled back already; COMMIT outside a transaction is only a warning.
      await client.query("COMMIT");
      return result;
    } catch (error) {
      broken = error as Error;
      await client.query("ROLLBACK").catch(() => undefined);
      throw this.#noted(error);
    } finally {
      client.removeListener("error", dropped);
      client.release(broken !== undefined && isConnectionError(broken) ? broken : undefined);
    }
  }

  async #connect(): Promise<pg.PoolClient> {
    try {
      return await this.#pool.connect();
    } catch (error) {
      throw this.#noted(error);
    }
  }

  async #query<R extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<R[]> {
    try {
      return (await this.#pool.query<R>(sql, values)).rows;
    } catch (error) {
      throw this.#noted(error);
    }
  }

  /** A connection failure takes the worker offline (and starts probing for the way back); the error goes on. */
  #noted(error: unknown): unknown {
    if (isConnectionError(error)) this.#goOffline();
    return error;
  }

  #goOffline(): void {
    if (this.#closed) return;
    if (this.#online) {
      this.#online = false;
      this.#onChange();
    }
    this.#probing ??= this.#probe().finally(() => {
      this.#probing = null;
    });
  }

  async #probe(): Promise<void> {
    while (!this.#closed) {
      await new Promise((resolve) => setTimeout(resolve, PROBE_MS));
      try {
        await this.#pool.query("SELECT 1");
        await this.#listen();
        await this.readBest(); // what was announced while away is not replayed
        this.#online = true;
        this.#onChange();
        return;
      } catch {
        // still away
      }
    }
  }

  async #listen(): Promise<void> {
    await this.#listener?.end().catch(() => undefined);
    const listener = new pg.Client({ connectionString: this.#url, connectionTimeoutMillis: 5000 });
    listener.on("error", () => this.#goOffline());
    listener.on("end", () => {
      if (this.#listener === listener) this.#goOffline();
    });
    listener.on("notification", (message) => {
      const payload = parsePayload(message.payload);
      if (payload?.study === this.study.name && payload.deviceClass === this.deviceClass) {
        void this.readBest().then(() => this.#onChange(), () => undefined);
      }
    });
    this.#listener = listener;
    await listener.connect();
    await listener.query(`LISTEN ${BEST_CHANNEL}`);
  }

  async #beat(): Promise<void> {
    if (!this.#online || this.#closed) return;
    try {
      await this.#pool.query(
        "UPDATE claims SET lease_until = now() + make_interval(secs => $3) WHERE study = $1 AND worker = $2 AND state = 'claimed'",
        [this.study.name, this.worker, this.leaseSeconds],
      );
      await this.#pool.query("UPDATE workers SET last_seen = now() WHERE study = $1 AND id = $2", [this.study.name, this.worker]);
    } catch (error) {
      this.#noted(error);
    }
  }
}

export type NoteSource = "proposer" | "person";

export interface NoteEntry {
  worker: string | null;
  source: NoteSource;
  at: string;
  text: string;
}

/** How many people's notes the proposers see (the newest). */
const PERSON_NOTES = 50;

/**
 * The study's notebook as proposers see it: the newest people's notes, and each worker's latest notes.md
 * (but `exceptWorker`'s own, which its proposer reads from its own file), oldest first.
 */
export async function readNotebook(pool: Pick<pg.Pool, "query">, study: string, exceptWorker: string | null): Promise<NoteEntry[]> {
  const rows = await pool.query<{ worker: string | null; source: NoteSource; at: Date; text: string }>(
    `SELECT worker, source, at, text FROM (
       (SELECT worker, source, at, text, id FROM notebook WHERE study = $1 AND source = 'person' ORDER BY id DESC LIMIT $3)
       UNION ALL
       (SELECT DISTINCT ON (worker) worker, source, at, text, id FROM notebook
         WHERE study = $1 AND source = 'proposer' AND worker IS DISTINCT FROM $2 ORDER BY worker, id DESC)
     ) chosen ORDER BY id`,
    [study, exceptWorker, PERSON_NOTES],
  );
  return rows.rows.map((row) => ({ worker: row.worker, source: row.source, at: row.at.toISOString(), text: row.text }));
}

/** A pool whose connections fail fast when the server is away (the worker then waits, it does not hang). */
export function createPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5000, idleTimeoutMillis: 10_000 });
  pool.on("error", () => {}); // an idle connection dropped by the server: the next query reconnects
  return pool;
}

export async function readStudy(pool: Pick<pg.Pool, "query">, name: string, url: string): Promise<StudyRecord> {
  const version = await schemaVersion(pool);
  if (version !== SCHEMA_VERSION) {
    throw new UserError(`the database at ${redactUrl(url)} has schema version ${version}; this autoresearch needs ${SCHEMA_VERSION}`, {
      exitCode: EXIT.config,
      hint: version === 0 ? "Create the study first: autoresearch share init --db <url> --remote <git url>"
        : version < SCHEMA_VERSION ? "Migrate it with `autoresearch share migrate` (then every worker needs this autoresearch or newer)."
        : "Upgrade autoresearch on this machine: the study was migrated by a newer one.",
    });
  }
  const rows = await pool.query<{ name: string; base_commit: string; remote: string; metric: string; direction: "min" | "max" }>(
    "SELECT name, base_commit, remote, metric, direction FROM studies WHERE name = $1", [name],
  );
  const row = rows.rows[0];
  if (!row) {
    throw new UserError(`the database at ${redactUrl(url)} has no study "${name}"`, { exitCode: EXIT.config, hint: "Check ledger.study in the config, or create it with `autoresearch share init`." });
  }
  return { name: row.name, baseCommit: row.base_commit, remote: row.remote, metric: row.metric, direction: row.direction };
}

/** The URL as it may be printed: a password in it, if any, replaced. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<the configured URL>";
  }
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

/** The server is away (refused, reset, shutting down), as opposed to a query the server refused. */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && (CONNECTION_CODES.has(code) || code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03")) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(error.message);
}

function asUserError(error: unknown, url: string): unknown {
  if (error instanceof UserError) return error;
  if (isConnectionError(error)) {
    return new EnvironmentError(`cannot reach the study's database at ${redactUrl(url)}: ${(error as Error).message}`,
      "Check the URL, that the server runs and accepts this machine, and the password variable (ledger.passwordEnv, default PGPASSWORD).");
  }
  return error;
}

interface BestRow {
  device_class: string;
  version: number;
  commit: string;
  ref: string;
  metric: number;
  worker: string;
  local_id: number | null;
}

interface OtherRow {
  worker: string;
  local_id: number | null;
  kind: string;
  status: string;
  decision: string | null;
  description: string;
  meta: unknown;
  metric: number | null;
  best_before: number | null;
  parent_commit: string;
  candidate_commit: string | null;
}

function bestFromRow(row: BestRow): GlobalBest {
  return { deviceClass: row.device_class, version: row.version, commit: row.commit, ref: row.ref, metric: row.metric, worker: row.worker, localId: row.local_id };
}

function parsePayload(payload: string | undefined): { study?: string; deviceClass?: string } | null {
  try {
    return payload ? JSON.parse(payload) : null;
  } catch {
    return null;
  }
}
