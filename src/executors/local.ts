// Runs phases as local processes through the one process runner.
import { runCommand } from "../runner/process.ts";
import type { Executor, PhaseResult, PhaseSpec } from "./types.ts";

export function createLocalExecutor(): Executor {
  return {
    name: "local",
    async runPhase(spec: PhaseSpec, signal: AbortSignal): Promise<PhaseResult> {
      return runCommand({
        command: spec.command,
        cwd: spec.cwd,
        env: spec.env,
        logPath: spec.logPath,
        timeoutMs: spec.timeoutMs,
        killGraceMs: spec.killGraceMs,
        signal,
        marker: spec.marker,
        onLine: spec.onLine,
      });
    },
  };
}
