// Where a phase of an experiment runs. Local slots now; cluster schedulers later, behind the same interface.
import type { Marker } from "../runner/kill.ts";
import type { RunOutcome, RunSpec } from "../runner/process.ts";

/** A phase is a process run (see RunSpec) plus where it belongs; the marker is required here. */
export interface PhaseSpec extends Omit<RunSpec, "signal" | "marker"> {
  phase: "prepare" | "train" | "evaluate" | "serve";
  device: string;
  /** Env var that marks every process of this phase, so escaped ones can be found and killed. */
  marker: Marker;
}

export type PhaseResult = RunOutcome;

/** An evaluation split into a trusted scorer and untrusted model servers (see runner/served.ts). */
export interface ServedPhaseSpec {
  scorer: PhaseSpec;
  servers: PhaseSpec[];
}

export interface Executor {
  readonly name: string;
  runPhase(spec: PhaseSpec, signal: AbortSignal): Promise<PhaseResult>;
  /** Runs the scorer with its model servers; the result is the scorer's (a server's end is not the evaluation's). */
  runServedPhase(spec: ServedPhaseSpec, signal: AbortSignal): Promise<PhaseResult>;
}
