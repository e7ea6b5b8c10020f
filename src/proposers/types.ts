// The Proposer interface: the only way changes enter the loop.
import type { z } from "zod";
import type { proposerSchema } from "../config/schema.ts";
import type { ExperimentKind } from "../core/experiment.ts";

/** The config's `proposer` section, as parsed (each proposer reads its own fields). */
export type ProposerConfig = z.input<typeof proposerSchema> & { name: string };

/** One edit to a mutable file: either replace a unique search string, or write the whole file. */
export type Edit =
  | { path: string; search: string; replace: string }
  | { path: string; content: string };

export interface HistoryEntry {
  id: number;
  kind: ExperimentKind;
  parentCommit: string;
  candidateCommit: string | null;
  proposer: string;
  description: string;
  hypothesis: string;
  status: string;            // see ExperimentStatus in core/experiment.ts
  decision: string | null;   // keep | discard | null
  metric: number | null;     // the decision metric (validation); never the held-out one
  delta: number | null;      // metric - best at decision time, signed (negative is better for "min")
  meta: unknown;             // whatever the proposer attached to its proposal (e.g. the knob it moved)
  /** A shared study's other worker that ran it or runs it now (absent for this worker's own experiments). */
  worker?: string;
  /** Why it failed or was rejected (crash exit code, guard rejection, evaluator's "invalid" reason). */
  reason?: string | null;
  /** For crash/timeout/no_metric/invalid: the clean, bounded end of its log. It is the workload's output: untrusted. */
  logTail?: string;
}

export interface ProposalContext {
  /** program.md: the human's instructions. */
  program: string;
  /** Current best versions of the mutable files, path (relative to project root, posix) -> content. */
  files: Record<string, string>;
  /** The commit those files come from, and its metric (null before the baseline finished). */
  best: { commit: string; metric: number | null };
  metric: { name: string; direction: "min" | "max" };
  /** Bounded, newest last. Held-out metrics are never included. */
  history: HistoryEntry[];
  /** Run-to-run noise estimate (standard deviation of the metric), when known. */
  noiseSigma: number | null;
  /** The session's tag and its state directory (.autoresearch/sessions/<tag>), e.g. for the notebook. */
  tag?: string;
  sessionDir?: string;
  /** The config's globs: files proposers may change (new files included), and read-only context files. */
  mutableGlobs?: string[];
  contextGlobs?: string[];
  /** Files that must never change: the config's protected globs plus the config file and program.md. */
  protectedGlobs?: string[];
  /** A measure-only study: a protected command measures the code as it is (no training, no budget). */
  measureOnly?: boolean;
  /** A shared study's notebook: people's notes and the other workers' latest notes.md (untrusted text). */
  studyNotes?: Array<{ from: string; text: string }>;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
}

export type ProposalResult =
  | { kind: "proposal"; description: string; hypothesis: string; edits: Edit[]; meta?: unknown; usage?: Usage }
  | { kind: "skip"; reason: string; usage?: Usage };

export interface Proposer {
  readonly name: string;
  /**
   * When the best moves before a proposal made for the old best runs, ask again instead of
   * re-applying its edits to the new best. For proposers whose calls cost nothing (search): a
   * re-applied edit can land on code that already ran, and a fresh proposal sees the newest history.
   */
  readonly reproposeWhenBestMoves?: boolean;
  propose(context: ProposalContext, signal: AbortSignal): Promise<ProposalResult>;
}
