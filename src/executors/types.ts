// Where a phase of an experiment runs. Local slots now; cluster schedulers later, behind the same interface.
export interface PhaseSpec {
  phase: "prepare" | "train" | "evaluate";
  command: string;
  cwd: string;
  /** Complete, already scrubbed environment (contract variables included). */
  env: Record<string, string>;
  logPath: string;
  timeoutMs: number;
  killGraceMs: number;
  device: string;
  /** Env var that marks every process of this phase, so escaped ones can be found and killed. */
  marker: { name: string; value: string };
  onLine?: (line: string) => void;
}

export interface PhaseResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  wallMs: number;
}

export interface Executor {
  readonly name: string;
  runPhase(spec: PhaseSpec, signal: AbortSignal): Promise<PhaseResult>;
}
