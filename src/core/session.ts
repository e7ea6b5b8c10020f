// What a session is, defined once: the record the ledger keeps per tag.

/**
 * How the phases that run mutable code were isolated: "sandbox" (no network), "sandbox+network"
 * (config sandbox.network), "unsandboxed" (run --unsandboxed); null for sessions from before it was recorded.
 */
export type IsolationLabel = "sandbox" | "sandbox+network" | "unsandboxed";

export type SessionState = "running" | "stopped" | "paused";

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
  state: SessionState;
  stopReason: string | null;
  /** Set when the session opens (each run); shown in every view when it is not the plain sandbox. */
  isolation: IsolationLabel | null;
}
