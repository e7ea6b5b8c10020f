// Runs phases as local processes through the one process runner.
import { runCommand } from "../runner/process.ts";
import type { Executor, PhaseResult, PhaseSpec } from "./types.ts";

export function createLocalExecutor(): Executor {
  return {
    name: "local",
    async runPhase(spec: PhaseSpec, signal: AbortSignal): Promise<PhaseResult> {
      const { phase: _phase, device: _device, ...run } = spec;
      return runCommand({ ...run, signal });
    },
  };
}
