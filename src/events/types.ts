// The one typed event stream out of the engine. The terminal view, the --json
// JSONL printer and (later) the dashboard are all subscribers.
import type { Decision, ExperimentKind, ExperimentStatus, ReviewFlag } from "../core/experiment.ts";
import type { ExperimentCounts } from "../core/summary.ts";
import type { LedgerExperiment } from "../ledger/rows.ts";

/** What a train phase on one device kind gets (config/load.ts budgetFor). */
export interface TrainLimitsByKind {
  kind: "cpu" | "cuda";
  budgetSeconds: number;
  startupSeconds: number;
  timeoutSeconds: number;
}

export type EngineEvent =
  | { type: "session_started"; at: string; tag: string; branch: string; baseCommit: string; resumed: boolean; slots: number; devices: string[]; metric: string; direction: "min" | "max"; policy: string; projectDir: string; /** "sandbox", "sandbox+network" or "unsandboxed". */ isolation: string; /** Per device kind in use: the budget, the start-up allowance and the hard limit of a train phase. */ trainLimits?: TrainLimitsByKind[]; /** A measure-only study: its measure command and that command's configured hard limit. */ measure?: { command: string; timeoutSeconds: number }; /** A resumed session's story so far (the live footer starts from it). */ soFar?: SessionSoFar }
  | { type: "prepare_started"; at: string; command: string; /** Why the data is prepared again (absent the first time). */ reason?: string }
  | { type: "prepare_finished"; at: string; ok: boolean; files: number; wallMs: number; reused: boolean; error?: string }
  | { type: "proposal_requested"; at: string; proposer: string }
  | { type: "proposal_ready"; at: string; proposer: string; description: string; latencyMs: number }
  | { type: "proposal_skipped"; at: string; proposer: string; reason: string }
  | { type: "experiment_started"; at: string; id: number; kind: ExperimentKind; slot: number; device: string; parentCommit: string; candidateCommit: string; description: string; /** Seconds the timed phase has: the train budget, or a measure-only study's measure limit (then `timed` is "measure"). */ budgetSeconds: number; timed?: "train" | "measure" }
  | { type: "experiment_phase"; at: string; id: number; phase: "train" | "evaluate" | "measure" }
  | { type: "experiment_log"; at: string; id: number; line: string }
  | { type: "experiment_finished"; at: string; id: number; status: ExperimentStatus; metric: number | null; heldOutMetric: number | null; selfReported: boolean; wallMs: number; reason?: string; /** Why the result deserves a person's look (loop/review-flags.ts). */ flags?: ReviewFlag[]; /** The experiment's row as committed (the engine emits only after the commit); --json leaves it out. */ row?: LedgerExperiment }
  | { type: "decision"; at: string; id: number; decision: Decision | "confirm"; metric: number | null; best: number | null; delta: number | null; rationale: string; /** Row `id` as committed with this decision; --json leaves it out. */ row?: LedgerExperiment }
  | { type: "best_updated"; at: string; id: number; commit: string; metric: number; previous: number | null }
  | { type: "noise_estimated"; at: string; sigma: number; samples: number; baseline: number; /** Of the pooled estimate (samples minus groups). */ degreesOfFreedom?: number }
  /** A fresh run of the best's code (sequential): its value is now the mean of `runs` fresh runs. */
  | { type: "best_remeasured"; at: string; id: number; of: number | null; commit: string; metric: number; runs: number; previous: number | null; sigma: number | null; degreesOfFreedom: number }
  /** A shared study's worker heard of another worker's new best (its class's); it builds on it from its next start. */
  | { type: "study_best"; at: string; version: number; worker: string; localId: number | null; commit: string; metric: number }
  | { type: "warning"; at: string; message: string }
  | { type: "session_paused"; at: string; reason: string }
  | { type: "session_stopped"; at: string; reason: string; summary: SessionSummary };

/** Where a resumed session stood when this run opened it: the counts of core/summary.ts and the ledger's best. */
export interface SessionSoFar {
  experiments: number;
  kept: number;
  best: number | null;
  bestExperimentId: number | null;
}

/** What session_stopped carries (loop/summary.ts): the counts (core/summary.ts) and the session's best. */
export interface SessionSummary extends Omit<ExperimentCounts, "running"> {
  tag: string;
  best: number | null;
  bestCommit: string | null;
  noiseSigma: number | null;
  elapsedSeconds: number;
  experimentsPerHour: number;
}

export type EventType = EngineEvent["type"];
export type EventOf<T extends EventType> = Extract<EngineEvent, { type: T }>;

export interface EventSubscriber {
  (event: EngineEvent): void;
}

/** A tiny synchronous fan-out; subscribers must not throw (a throwing one is reported and dropped). */
export class EventBus {
  #subscribers = new Set<EventSubscriber>();

  subscribe(subscriber: EventSubscriber): () => void {
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  emit(event: EngineEvent): void {
    for (const subscriber of this.#subscribers) {
      try {
        subscriber(event);
      } catch (error) {
        this.#subscribers.delete(subscriber);
        process.stderr.write(`an event subscriber failed and was removed: ${String(error)}\n`);
      }
    }
  }
}
