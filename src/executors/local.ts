// Runs phases as local processes through the one process runner.
import { runCommand } from "../runner/process.ts";
import { runServed } from "../runner/served.ts";
import type { Executor, PhaseResult, PhaseSpec, ServedPhaseSpec } from "./types.ts";

export function createLocalExecutor(): Executor {
  return {
    name: "local",
    async runPhase(spec: PhaseSpec, signal: AbortSignal): Promise<PhaseResult> {
      const { phase: _phase, device: _device, ...run } = spec;
      return runCommand({ ...run, signal });
    },
    async runServedPhase(spec: ServedPhaseSpec, signal: AbortSignal): Promise<PhaseResult> {
      const strip = ({ phase: _phase, device: _device, ...run }: PhaseSpec) => run;
      const { servers: _servers, ...scorer } = await runServed({ scorer: { ...strip(spec.scorer), signal }, servers: spec.servers.map(strip) });
      return scorer;
    },
  };
}
