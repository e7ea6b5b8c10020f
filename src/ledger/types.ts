// What the ledger stores. Every state change of an experiment is one transaction.

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
export type ExperimentStatus = "running" | "ok" | "crash" | "timeout" | "no_metric" | "invalid" | "rejected" | "interrupted";
export type Decision = "keep" | "discard";

export interface PhaseTimings {
  proposeMs?: number;
  setupMs?: number;
  trainMs?: number;
  evaluateMs?: number;
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
 * How the phases that run mutable code were isolated: "sandbox" (no network), "sandbox+network"
 * (config sandbox.network), "unsandboxed" (run --unsandboxed); null for sessions from before it was recorded.
 */
export type IsolationLabel = "sandbox" | "sandbox+network" | "unsandboxed";

export interface SessionRecord {
  tag: string;
  branch: string;
  baseCommit: string;
  createdAt: string;
  /** The config as loaded when the session started (JSON). */
  config: unknown;
  /** Current best: commit and metric, derived from decisions but cached here. */
  bestCommit: string;
  bestMetric: number | null;
  bestExperimentId: number | null;
  noiseSigma: number | null;
  state: "running" | "stopped" | "paused";
  stopReason: string | null;
  /** Set when the session opens (each run); shown in every view when it is not the plain sandbox. */
  isolation: IsolationLabel | null;
}

export interface ExperimentRecord {
  id: number;
  tag: string;
  kind: "baseline" | "candidate" | "confirmation";
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
  logPath: string;
  timings: PhaseTimings;
  memoryGb: number | null;
  usage: { inputTokens: number; outputTokens: number; costUsd: number | null } | null;
  startedAt: string;
  finishedAt: string | null;
}
