// The whole study as the views show it (#11): every worker with the best it builds on, the best of each
// device class, and every worker's experiments with who ran them. Read-only; one short-lived connection.
//
// readStudyOverview(url, study)   the overview, or throws (the caller says the database is away and shows its own)
// studyOverviewFor(ledger)        the same for a project whose config shares the ledger; null for a local one
// cachedStudyReader(shared)       for the dashboard: one read at a time, reused for a second
// projectStudy(projectDir)        the study the project's config file names, if any
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { connectionUrl, type SharedLedgerConfig } from "../config/ledger.ts";
import { FAILED_STATUSES } from "../core/experiment.ts";
import { CONFIG_FILE } from "../project/paths.ts";
import { redactUrl } from "./study.ts";

export interface StudyWorkerView {
  id: string;
  host: string;
  deviceClass: string;
  joinedAt: string;
  lastSeen: string;
  /** When its session stopped (it ended on the study's best then); null while it runs or if it was killed. */
  stoppedAt: string | null;
  /** The study's best this worker last moved to (null: none yet, or a worker from before schema version 2). */
  buildingOn: { version: number; commit: string; metric: number | null } | null;
  /** Whether that is still its class's best. */
  onCurrentBest: boolean;
  experiments: number;
  kept: number;
  failed: number;
  /** Candidates it holds a live claim on: running there now. */
  running: number;
}

export interface StudyBestView {
  deviceClass: string;
  version: number;
  commit: string;
  metric: number;
  worker: string;
  localId: number | null;
  updatedAt: string;
}

export interface StudyExperimentView {
  worker: string;
  host: string;
  deviceClass: string;
  /** The experiment's id in its worker's own ledger. */
  localId: number;
  kind: string;
  status: string;
  decision: string | null;
  /** Run under a claim another worker took over: recorded, not decided on. */
  fenced: boolean;
  metric: number | null;
  bestBefore: number | null;
  description: string;
  proposer: string;
  device: string;
  finishedAt: string | null;
}

export interface StudyOverview {
  name: string;
  /** The database, as it may be printed (no password). */
  database: string;
  remote: string;
  metric: string;
  direction: "min" | "max";
  workers: StudyWorkerView[];
  bests: StudyBestView[];
  /** Every worker's experiments, oldest first (the newest `limit` when there are more). */
  experiments: StudyExperimentView[];
  /** How many the study holds in all (more than `experiments.length` when limited). */
  totalExperiments: number;
  /** Each worker's repeated baseline runs (two or more), the groups a worker's σ pools across its device class. */
  baselineGroups: Array<{ worker: string; deviceClass: string; runs: number[] }>;
}

/** What a view prints when the study cannot be read: why, and that it shows this worker's own rows. */
export interface StudyUnavailable {
  name: string;
  database: string;
  problem: string;
}

export async function readStudyOverview(url: string, study: string, options: { limit?: number } = {}): Promise<StudyOverview> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on("error", () => {}); // a server going away mid-read fails the query, not the process
  await client.connect();
  try {
    // One snapshot: the counts, the lists and the bests agree with each other while workers keep writing.
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const studyRow = (await client.query<{ remote: string; metric: string; direction: "min" | "max" }>(
      "SELECT remote, metric, direction FROM studies WHERE name = $1", [study],
    )).rows[0];
    if (!studyRow) throw new Error(`the database has no study "${study}"`);
    const bests = (await client.query<BestRow>("SELECT device_class, version, commit, metric, worker, local_id, updated_at FROM bests WHERE study = $1 ORDER BY device_class", [study])).rows;
    const workers = (await client.query<WorkerRow>(
      `SELECT w.id, w.host, w.device_class, w.joined_at, w.last_seen, w.stopped_at, w.best_version, w.best_commit, w.best_metric,
              (SELECT count(*)::int FROM experiments e WHERE e.study = w.study AND e.worker = w.id) AS experiments,
              (SELECT count(*)::int FROM experiments e WHERE e.study = w.study AND e.worker = w.id AND e.decision = 'keep') AS kept,
              (SELECT count(*)::int FROM experiments e WHERE e.study = w.study AND e.worker = w.id
                 AND e.status = ANY($2::text[])) AS failed,
              (SELECT count(*)::int FROM claims c WHERE c.study = w.study AND c.worker = w.id AND c.state = 'claimed' AND c.lease_until >= now()) AS running
         FROM workers w WHERE w.study = $1 ORDER BY w.joined_at, w.id`, [study, FAILED_STATUSES],
    )).rows;
    const total = (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM experiments WHERE study = $1", [study])).rows[0]!.n;
    const limit = options.limit ?? 10_000;
    const experiments = (await client.query<ExperimentRowDb>(
      `SELECT * FROM (
         SELECT e.worker, w.host, e.device_class, e.local_id, e.kind, e.status, e.decision, e.fenced, e.metric, e.best_before,
                e.description, e.proposer, e.device, e.finished_at, e.recorded_at
           FROM experiments e JOIN workers w ON w.study = e.study AND w.id = e.worker
          WHERE e.study = $1 ORDER BY e.recorded_at DESC, e.worker, e.local_id DESC LIMIT $2) newest
       ORDER BY recorded_at, worker, local_id`, [study, limit],
    )).rows;
    const baselineGroups = (await client.query<{ worker: string; device_class: string; runs: number[] }>(
      `SELECT worker, device_class, array_agg(metric ORDER BY local_id) AS runs FROM experiments
        WHERE study = $1 AND kind = 'baseline' AND status = 'ok' AND metric IS NOT NULL AND NOT fenced
        GROUP BY worker, device_class, parent_commit HAVING count(*) >= 2 ORDER BY worker`, [study],
    )).rows;
    await client.query("COMMIT");
    const bestOf = new Map(bests.map((row) => [row.device_class, row]));
    return {
      name: study, database: redactUrl(url), remote: studyRow.remote, metric: studyRow.metric, direction: studyRow.direction,
      bests: bests.map((row) => ({
        deviceClass: row.device_class, version: row.version, commit: row.commit, metric: row.metric, worker: row.worker, localId: row.local_id, updatedAt: iso(row.updated_at),
      })),
      workers: workers.map((row) => ({
        id: row.id, host: row.host, deviceClass: row.device_class, joinedAt: iso(row.joined_at), lastSeen: iso(row.last_seen), stoppedAt: row.stopped_at === null ? null : iso(row.stopped_at),
        buildingOn: row.best_version === null || row.best_commit === null ? null : { version: row.best_version, commit: row.best_commit, metric: row.best_metric },
        onCurrentBest: row.best_version !== null && bestOf.get(row.device_class)?.version === row.best_version,
        experiments: row.experiments, kept: row.kept, failed: row.failed, running: row.running,
      })),
      experiments: experiments.map((row) => ({
        worker: row.worker, host: row.host, deviceClass: row.device_class, localId: row.local_id, kind: row.kind, status: row.status, decision: row.decision,
        fenced: row.fenced, metric: row.metric, bestBefore: row.best_before, description: row.description, proposer: row.proposer, device: row.device,
        finishedAt: row.finished_at === null ? null : iso(row.finished_at),
      })),
      totalExperiments: total,
      baselineGroups: baselineGroups.map((row) => ({ worker: row.worker, deviceClass: row.device_class, runs: row.runs.map(Number) })),
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The study of a project whose (session's) config shares the ledger: its overview, or why it cannot be read
 * (the views then show this worker's own session and say so). Null for a project with a local ledger.
 */
export async function studyOverviewFor(ledger: unknown, options: { limit?: number } = {}): Promise<StudyOverview | StudyUnavailable | null> {
  const shared = sharedLedgerOf(ledger);
  if (shared === null) return null;
  try {
    return await readStudyOverview(connectionUrl(shared), shared.study, options);
  } catch (error) {
    return { name: shared.study, database: redactUrl(shared.url), problem: (error as Error).message };
  }
}

/** The `ledger` section of a config as stored (a session's config, a raw config file), when it names a shared study. */
export function sharedLedgerOf(ledger: unknown): SharedLedgerConfig | null {
  if (typeof ledger !== "object" || ledger === null) return null;
  const raw = ledger as Partial<SharedLedgerConfig>;
  if (raw.kind !== "postgres" || typeof raw.url !== "string" || typeof raw.study !== "string" || typeof raw.remote !== "string") return null;
  return { kind: "postgres", url: raw.url, study: raw.study, remote: raw.remote, passwordEnv: raw.passwordEnv ?? "PGPASSWORD", deviceClass: raw.deviceClass, leaseSeconds: raw.leaseSeconds ?? 60 };
}

function iso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

interface BestRow {
  device_class: string;
  version: number;
  commit: string;
  metric: number;
  worker: string;
  local_id: number | null;
  updated_at: Date;
}

interface WorkerRow {
  id: string;
  host: string;
  device_class: string;
  joined_at: Date;
  last_seen: Date;
  stopped_at: Date | null;
  best_version: number | null;
  best_commit: string | null;
  best_metric: number | null;
  experiments: number;
  kept: number;
  failed: number;
  running: number;
}

interface ExperimentRowDb {
  worker: string;
  host: string;
  device_class: string;
  local_id: number;
  kind: string;
  status: string;
  decision: string | null;
  fenced: boolean;
  metric: number | null;
  best_before: number | null;
  description: string;
  proposer: string;
  device: string;
  finished_at: Date | null;
}

/**
 * A reader for a view that asks often (the dashboard): one read at a time, and an answer reused for `maxAgeMs`,
 * so many open pages cost the database one query set per interval.
 */
export function cachedStudyReader(shared: SharedLedgerConfig, maxAgeMs = 1000, limit = 500): () => Promise<StudyOverview | StudyUnavailable> {
  let last: { atMs: number; answer: Promise<StudyOverview | StudyUnavailable> } | null = null;
  return () => {
    if (last === null || Date.now() - last.atMs > maxAgeMs) {
      const answer = studyOverviewFor(shared, { limit }) as Promise<StudyOverview | StudyUnavailable>;
      last = { atMs: Date.now(), answer };
      // A slow read counts from when it ends, not from when it began.
      void answer.then(() => {
        if (last?.answer === answer) last.atMs = Date.now();
      });
    }
    return last.answer;
  };
}

/**
 * The noise groups a worker's decisions pool with its own (loop/share.ts does the same from the database): the
 * other workers' baseline groups of its device class. Empty when the worker is not in the study (yet).
 */
export function pooledElsewhere(study: StudyOverview | StudyUnavailable | null, worker: string | null): number[][] {
  if (study === null || !("workers" in study) || worker === null) return [];
  const deviceClass = study.workers.find((each) => each.id === worker)?.deviceClass;
  return study.baselineGroups.filter((group) => group.worker !== worker && group.deviceClass === deviceClass).map((group) => group.runs);
}

/** The shared study a project's config file names, read as it is (no validation: the views only look). */
export function projectStudy(projectDir: string): SharedLedgerConfig | null {
  try {
    const raw = JSON.parse(readFileSync(join(projectDir, CONFIG_FILE), "utf8")) as { ledger?: unknown };
    return sharedLedgerOf(raw.ledger);
  } catch {
    return null;
  }
}
