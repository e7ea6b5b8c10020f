// Where a phase of an experiment runs. Local slots now; cluster schedulers later, behind the same interface.
import type { Marker } from "../runner/kill.ts";
import type { RunOutcome, RunSpec } from "../runner/process.ts";

/** A phase is a process run (see RunSpec) plus where it belongs; the marker is required here. */
export interface PhaseSpec extends Omit<RunSpec, "signal" | "marker"> {
  phase: "prepare" | "train" | "evaluate";
  device: string;
  /** Env var that marks every process of this phase, so escaped ones can be found and killed. */
  marker: Marker;
}

export type PhaseResult = RunOutcome;

export interface Executor {
  readonly name: string;
  runPhase(spec: PhaseSpec, signal: AbortSignal): Promise<PhaseResult>;
}
