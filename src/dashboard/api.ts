// The JSON the dashboard server sends and the static report embeds. Shared by the server
// (Node) and the front end (browser), so it holds types and plain data only.
import { EXPERIMENT_STATUSES, type Decision, type ExperimentKind, type ExperimentStatus, type RanOn, type ReviewFlag } from "../core/experiment.ts";
import type { SessionState } from "../core/session.ts";
import type { StudyOverview, StudyUnavailable } from "../share/overview.ts";

export type { Decision, ExperimentStatus, ReviewFlag };

/** One experiment as the table and the live stream carry it: no diff, no log. */
export interface ExperimentRow {
  id: number;
  tag: string;
  kind: ExperimentKind;
  confirms: number | null;
  status: ExperimentStatus;
  decision: Decision | null;
  metric: number | null;
  heldOutMetric: number | null;
  delta: number | null;
  description: string;
  hypothesis: string;
  proposer: string;
  device: string;
  slot: number;
  /** Where it ran (the machine or cluster node, its device's model, the Slurm job or pod); null while not known. */
  ranOn: RanOn | null;
  /** Wall time of the whole experiment; null while running. */
  durationMs: number | null;
  startedAt: string;
  finishedAt: string | null;
  reason: string | null;
  selfReported: boolean;
  /** Implausible-result flags for review (loop/review-flags.ts); empty when nothing stood out. */
  flags: ReviewFlag[];
  costUsd: number | null;
  /** LLM tokens (input + output) spent proposing it; 0 for proposers without an LLM. */
  tokens: number;
}

/** Everything about one experiment, for the detail view. */
export interface ExperimentDetail extends ExperimentRow {
  parentCommit: string;
  candidateCommit: string | null;
  rationale: string | null;
  bestBefore: number | null;
  secondary: Record<string, number>;
  memoryGb: number | null;
  timings: Record<string, number | undefined>;
  usage: { inputTokens: number; outputTokens: number; costUsd: number | null } | null;
  diff: string;
  logTail: string;
}

export interface SessionSummaryView {
  tag: string;
  state: SessionState;
  stopReason: string | null;
  /** "sandbox", "sandbox+network", "unsandboxed"; null for sessions from before it was recorded. */
  isolation: string | null;
  name: string | null;
  metricName: string;
  heldOutName: string | null;
  direction: "min" | "max";
  budgetSeconds: number | null;
  /** Budgets that replace budgetSeconds on one device kind (config budgetByDevice). */
  budgetByDevice: { cpu?: number; cuda?: number };
  /** A measure-only study (config `measure`, no `train`): views speak of measuring, not training. */
  measureOnly: boolean;
  slots: number;
  /** Finished experiments (baseline runs included). */
  experiments: number;
  running: number;
  kept: number;
  discarded: number;
  failed: number;
  /** kept / (kept + discarded); null before any decision. */
  keepRate: number | null;
  baseline: number | null;
  best: number | null;
  bestExperimentId: number | null;
  /** best - baseline (negative is better for "min"). */
  improvement: number | null;
  noiseSigma: number | null;
  /** How many runs (repeated runs of the same code) σ rests on. */
  noiseSamples: number;
  elapsedMs: number;
  perHour: number | null;
  perSlotPerHour: number | null;
  costUsd: number | null;
  tokens: number;
  startedAt: string | null;
  /** What the latest `autoresearch finalize` found; null when it never ran on this session. */
  finalized: FinalizedView | null;
}

/** finalize's result as the views show it (finalize/render.ts writes the words). */
export interface FinalizedView {
  /** "gain +0.0123 [+0.0051, +0.0195] of claimed +0.0150 (82%); 1 of 2 keeps survived" */
  line: string;
  /** The whole report, as `autoresearch finalize` prints it. */
  text: string;
  /** Kept experiments the ablation did not confirm: the chart rings them. */
  unconfirmedKeeps: number[];
}

export interface SessionListItem {
  tag: string;
  state: SessionState;
  createdAt: string;
  bestMetric: number | null;
}

/**
 * The chart's input for one experiment, as a tuple to keep 10,000 of them small:
 * [id, kind, status, decision, metric, heldOutMetric, confirms].
 */
export type PointTuple = [number, ExperimentRow["kind"], ExperimentStatus, Decision | null, number | null, number | null, number | null];

export interface SessionSnapshot {
  summary: SessionSummaryView;
  points: PointTuple[];
  running: ExperimentRow[];
}

/** Everything the first view needs, in one answer: the sessions, the shown one, its first table page. */
export interface Overview {
  /** The server's data version: the live stream's hello says whether anything changed since. */
  version: number;
  sessions: SessionListItem[];
  problem: string | null;
  snapshot: SessionSnapshot | null;
  page: RowPage | null;
}

export type SortKey = "id" | "status" | "metric" | "heldOutMetric" | "delta" | "description" | "hypothesis" | "proposer" | "device" | "duration";
export const SORT_KEYS: readonly SortKey[] = ["id", "status", "metric", "heldOutMetric", "delta", "description", "hypothesis", "proposer", "device", "duration"];

/** "keep"/"discard" select decided runs, "failed" every failure status, otherwise one status. */
export type StatusFilter = "all" | "keep" | "discard" | "failed" | ExperimentStatus;
export const STATUS_FILTERS: readonly StatusFilter[] = ["all", "keep", "discard", "failed", ...EXPERIMENT_STATUSES];

export interface RowQuery {
  sort: SortKey;
  order: "asc" | "desc";
  status: StatusFilter;
  /** Case-insensitive substring of the description, hypothesis, proposer or reason. */
  text: string;
  offset: number;
  limit: number;
}

export interface RowPage {
  total: number;
  offset: number;
  rows: ExperimentRow[];
}

/** What the live stream (Server-Sent Events, one JSON object per message) pushes. */
export type StreamMessage =
  | { kind: "hello"; version: number }
  | { kind: "sessions"; sessions: SessionListItem[] }
  | { kind: "rows"; tag: string; rows: ExperimentRow[]; summary: SessionSummaryView }
  | { kind: "log"; id: number; lines: string[] }
  | { kind: "phase"; id: number; phase: "train" | "evaluate" | "measure" };

/** What the static report shows first, embedded in its HTML. */
export interface ReportData {
  generatedAt: string;
  sessions: SessionListItem[];
  snapshots: Record<string, SessionSnapshot>;
  rows: Record<string, ExperimentRow[]>;
  /** A shared study's whole record (GET /api/study in the live dashboard); absent for a local project. */
  study?: StudyView;
}

/** A shared study (README "Research together"): every worker and its experiments, or why it cannot be read. */
export type StudyView = StudyOverview | StudyUnavailable;

/** What a detail adds to its row. */
export type DetailExtra = Omit<ExperimentDetail, keyof ExperimentRow>;

/**
 * The report's details by experiment id, in an element of their own that the page parses on the
 * first click (for 10,000 experiments they are most of the file).
 */
export type ReportDetails = Record<string, DetailExtra>;

/** The id of the <script type="application/json"> element that holds a static report's data. */
export const REPORT_DATA_ID = "autoresearch-data";
export const REPORT_DETAILS_ID = "autoresearch-details";
