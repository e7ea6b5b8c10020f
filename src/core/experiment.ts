// What an experiment is, defined once: its kinds, statuses and decisions, which statuses count as
// failures, and the record every part (ledger, events, views, dashboard, proposers) speaks of.
// Plain types and constants only: the dashboard's front end bundles this file for the browser.

/**
 * baseline      the unchanged code at the session's base, run to know the starting metric and the noise
 * candidate     a proposal: the best's code with a proposer's edits
 * confirmation  a re-run of a candidate that looked better, to tell an improvement from noise
 * remeasure     a fresh run of the best's code after it was kept (and now and then later): the best's value
 *               is the mean of these, not the lucky run that passed the bar; `confirms` names the kept experiment
 * rescore       `finalize`: a fresh run of the baseline's or the final best's code, to say what survived
 * ablation      `finalize`: a run of the final best without one kept change, to measure that change's part
 * smoke         a run of the unchanged code at the cascade's short smoke budget: the yardstick a candidate's
 *               smoke stage is judged against (a candidate's own smoke stage is part of its row: timings.smokeMs)
 *               `promote` re-runs kept candidates at a longer budget as `rescore` rows with meta.promote
 */
export type ExperimentKind = "baseline" | "candidate" | "confirmation" | MeasurementKind;
export const EXPERIMENT_KINDS = ["baseline", "candidate", "confirmation", "remeasure", "rescore", "ablation", "smoke"] as const satisfies readonly ExperimentKind[];

/** Runs of existing code that measure without deciding anything about it. */
export type MeasurementKind = "remeasure" | "rescore" | "ablation" | "smoke";
export const MEASUREMENT_KINDS: readonly MeasurementKind[] = ["remeasure", "rescore", "ablation", "smoke"];

export function isMeasurement(kind: ExperimentKind): kind is MeasurementKind {
  return (MEASUREMENT_KINDS as readonly string[]).includes(kind);
}

/**
 * running      started, not finished (after a harness crash, resume turns these into `interrupted`)
 * ok           trained and evaluated; `decision` says keep or discard
 * crash        train or evaluate exited non-zero
 * timeout      train ran past budget + grace (or evaluate past its limit) and was killed
 * no_metric    the metrics file lacked the metric, or it was not a finite number
 * invalid      the evaluator judged the model invalid (e.g. non-causal)
 * rejected     the guard refused it before (or during) the run; `reason` says why
 * interrupted  the harness stopped (Ctrl-C, kill -9) while it ran
 */
export const EXPERIMENT_STATUSES = ["running", "ok", "crash", "timeout", "no_metric", "invalid", "rejected", "interrupted"] as const;
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];
export type Decision = "keep" | "discard";

/** The statuses counted as failed in every summary and filter (an interrupted run is not the code's failure). */
export const FAILED_STATUSES: readonly ExperimentStatus[] = ["crash", "timeout", "no_metric", "invalid", "rejected"];

/** Failures whose log says why (a rejected candidate never ran): proposers get the log's tail to learn from. */
export const FAILED_WITH_LOG: readonly ExperimentStatus[] = ["crash", "timeout", "no_metric", "invalid"];

export function isFailed(status: ExperimentStatus): boolean {
  return FAILED_STATUSES.includes(status);
}

export interface PhaseTimings {
  proposeMs?: number;
  setupMs?: number;
  trainMs?: number;
  evaluateMs?: number;
  /** The cascade's smoke stage of a candidate (train + evaluate at the short budget), before its full run. */
  smokeMs?: number;
  /** How long it waited for its turn before it started: the pool's first starts are spread (loop/spread.ts). Not in totalMs. */
  waitMs?: number;
  totalMs?: number;
}

/** Why a result deserves a person's look (loop/review-flags.ts has the rules); it changes no decision. */
export type ReviewFlagKind = "implausible_score" | "slow_evaluation" | "self_report_mismatch";

export interface ReviewFlag {
  kind: ReviewFlagKind;
  /** One line a person can check, with the numbers. */
  detail: string;
}

/**
 * Where an experiment ran, from its job's result: the machine (a cluster's node), the model of the device it
 * got (the GPU's, or the CPU's for a CPU run) and, on a cluster, the scheduler's name for the job. Null for
 * an experiment that never ran (rejected before it started, or recorded before the ledger kept this).
 */
export interface RanOn {
  host: string | null;
  deviceName: string | null;
  slurmJobId?: string;
  pod?: string;
}

export interface ExperimentRecord {
  id: number;
  tag: string;
  kind: ExperimentKind;
  /** For confirmation runs: the experiment they re-run. */
  confirms: number | null;
  parentCommit: string;
  candidateCommit: string | null;
  proposer: string;
  description: string;
  hypothesis: string;
  meta: unknown;
  diff: string;
  status: ExperimentStatus;
  decision: Decision | null;
  reason: string | null;          // why rejected / crashed / invalid, human-readable
  rationale: string | null;       // the acceptance policy's explanation of the decision
  metric: number | null;          // decision metric (validation)
  heldOutMetric: number | null;   // e.g. test_bpb; never shown to proposers
  secondary: Record<string, number>;
  selfReported: boolean;          // metric came from the training output, not a protected evaluator
  flags: ReviewFlag[];            // implausible results, for review; empty when nothing stood out
  bestBefore: number | null;      // best metric at decision time
  delta: number | null;           // metric - bestBefore
  device: string;
  slot: number;
  /** Where it ran (absent or null: not known, see RanOn). */
  ranOn?: RanOn | null;
  logPath: string;
  timings: PhaseTimings;
  memoryGb: number | null;
  usage: { inputTokens: number; outputTokens: number; costUsd: number | null } | null;
  startedAt: string;
  finishedAt: string | null;
}
