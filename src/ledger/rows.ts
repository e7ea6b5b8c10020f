// Mapping between ledger records and SQLite rows, driven by one table per record
// type so inserts, partial updates and reads cannot drift apart.
import type { SQLInputValue, SQLOutputValue } from "node:sqlite";
import type { ExperimentRecord } from "../core/experiment.ts";
import type { SessionRecord } from "../core/session.ts";

/** An experiment as the ledger stores it: the shared record plus the candidate's git tree hash. */
export interface LedgerExperiment extends ExperimentRecord {
  /** `git rev-parse <candidate>^{tree}`; equal trees mean the same files, used to reject duplicates. */
  candidateTree: string | null;
}

type Row = Record<string, SQLOutputValue>;

interface Codec {
  column: string;
  toSql(value: unknown): SQLInputValue;
  fromSql(value: SQLOutputValue): unknown;
}

const plain = (column: string): Codec => ({
  column,
  toSql: (value) => (value === undefined ? null : (value as SQLInputValue)),
  fromSql: (value) => value,
});

// SQLite has no NaN (it would read back as NULL); store it as NULL openly.
const real = (column: string): Codec => ({
  column,
  toSql: (value) => (typeof value === "number" && !Number.isNaN(value) ? value : null),
  fromSql: (value) => value,
});

const bool = (column: string): Codec => ({
  column,
  toSql: (value) => (value ? 1 : 0),
  fromSql: (value) => value === 1,
});

const json = (column: string): Codec => ({
  column,
  toSql: (value) => (value === undefined ? null : JSON.stringify(value)),
  fromSql: (value) => (value === null ? null : JSON.parse(String(value))),
});

export const EXPERIMENT_CODECS = {
  id: plain("id"),
  tag: plain("tag"),
  kind: plain("kind"),
  confirms: plain("confirms"),
  parentCommit: plain("parent_commit"),
  candidateCommit: plain("candidate_commit"),
  candidateTree: plain("candidate_tree"),
  proposer: plain("proposer"),
  description: plain("description"),
  hypothesis: plain("hypothesis"),
  meta: json("meta"),
  diff: plain("diff"),
  status: plain("status"),
  decision: plain("decision"),
  reason: plain("reason"),
  rationale: plain("rationale"),
  metric: real("metric"),
  heldOutMetric: real("held_out_metric"),
  secondary: json("secondary"),
  selfReported: bool("self_reported"),
  flags: json("flags"),
  bestBefore: real("best_before"),
  delta: real("delta"),
  device: plain("device"),
  slot: plain("slot"),
  ranOn: json("ran_on"),
  logPath: plain("log_path"),
  timings: json("timings"),
  memoryGb: real("memory_gb"),
  usage: json("usage"),
  startedAt: plain("started_at"),
  finishedAt: plain("finished_at"),
} satisfies Record<keyof LedgerExperiment, Codec>;

export const SESSION_CODECS = {
  tag: plain("tag"),
  branch: plain("branch"),
  baseCommit: plain("base_commit"),
  createdAt: plain("created_at"),
  config: json("config"),
  bestCommit: plain("best_commit"),
  bestMetric: real("best_metric"),
  bestExperimentId: plain("best_experiment_id"),
  noiseSigma: real("noise_sigma"),
  state: plain("state"),
  stopReason: plain("stop_reason"),
  isolation: plain("isolation"),
} satisfies Record<keyof SessionRecord, Codec>;

type Codecs = Record<string, Codec>;

/** Columns and values for the fields present in `record`; unknown keys are a programming error. */
export function toColumns(codecs: Codecs, record: object): { columns: string[]; values: SQLInputValue[] } {
  const columns: string[] = [];
  const values: SQLInputValue[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined) continue;
    const codec = codecs[key];
    if (codec === undefined) throw new TypeError(`the ledger has no field "${key}"`);
    columns.push(codec.column);
    values.push(codec.toSql(value));
  }
  return { columns, values };
}

function fromRow<T>(codecs: Codecs, row: Row): T {
  const record: Record<string, unknown> = {};
  for (const [key, codec] of Object.entries(codecs)) record[key] = codec.fromSql(row[codec.column] ?? null);
  return record as T;
}

export const experimentFromRow = (row: Row): LedgerExperiment => fromRow(EXPERIMENT_CODECS, row);
export const sessionFromRow = (row: Row): SessionRecord => fromRow(SESSION_CODECS, row);
