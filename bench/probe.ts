// What the benchmark plugs into the engine: a proposer with a fixed latency, and probes that
// timestamp events and phase processes on one monotonic clock (performance.now()).
import type { ChildProcess } from "node:child_process";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import type { EngineEvent, EventBus } from "../src/events/types.ts";
import type { Executor } from "../src/executors/types.ts";
import { ENV_EXPERIMENT_ID } from "../src/project/contract.ts";
import type { ProposalContext, ProposalResult, Proposer } from "../src/proposers/types.ts";
import { KNOB_FILE } from "./project.ts";

/** Waits `latencyMs`, then proposes a knob value never proposed before. */
export class FixedLatencyProposer implements Proposer {
  readonly name = "fixed-latency";
  #latencyMs: number;
  #count = 0;

  constructor(latencyMs: number) {
    this.#latencyMs = latencyMs;
  }

  async propose(_context: ProposalContext, signal: AbortSignal): Promise<ProposalResult> {
    if (this.#latencyMs > 0) await delay(this.#latencyMs, undefined, { signal });
    this.#count += 1;
    // A permutation of 1..10006 (10007 is prime): distinct values, some better than the best, most not.
    const score = 1 + ((this.#count * 7919) % 10007) / 10007;
    return {
      kind: "proposal",
      description: `score ${score.toFixed(4)}`,
      hypothesis: "benchmark proposal",
      edits: [{ path: KNOB_FILE, content: `${JSON.stringify({ score })}\n` }],
    };
  }
}

export interface PhaseSpan {
  /** When the executor was asked to run the phase, and when it returned (ms, performance.now()). */
  calledAt: number;
  returnedAt: number;
  /** The process's own wall time as the runner measured it. */
  processWallMs: number;
}

export interface ExperimentProbe {
  id: number;
  kind: string;
  slot: number;
  status: string | null;
  startedAt: number;
  finishedAt: number | null;
  train: PhaseSpan | null;
  evaluate: PhaseSpan | null;
}

export interface SessionProbe {
  experiments: Map<number, ExperimentProbe>;
  warnings: string[];
  proposalLatenciesMs: number[];
  stop: () => void;
}

/** Records every experiment's start, finish and slot from the event stream. */
export function probeEvents(bus: EventBus): SessionProbe {
  const experiments = new Map<number, ExperimentProbe>();
  const warnings: string[] = [];
  const proposalLatenciesMs: number[] = [];
  const stop = bus.subscribe((event: EngineEvent) => {
    const now = performance.now(); // the bus is synchronous: this is the moment of emission
    if (event.type === "experiment_started") {
      experiments.set(event.id, { id: event.id, kind: event.kind, slot: event.slot, status: null, startedAt: now, finishedAt: null, train: null, evaluate: null });
    } else if (event.type === "experiment_finished") {
      const probe = experiments.get(event.id);
      if (probe) Object.assign(probe, { finishedAt: now, status: event.status });
    } else if (event.type === "proposal_ready") {
      proposalLatenciesMs.push(event.latencyMs);
    } else if (event.type === "warning") {
      warnings.push(event.message);
    }
  });
  return { experiments, warnings, proposalLatenciesMs, stop };
}

/**
 * Wraps an executor so each job's phases land on its experiment: when each phase started (the job's
 * phase callbacks) and how long it took (the job's own timings, which include the runner's work).
 */
export function probeExecutor(inner: Executor, probe: SessionProbe): Executor {
  return {
    name: `${inner.name} (probed)`,
    capacity: () => inner.capacity(),
    submit(job, listener = {}) {
      const phaseStarts: Partial<Record<"train" | "evaluate" | "measure", number>> = {};
      const handle = inner.submit(job, {
        ...listener,
        onPhase: (phase) => {
          phaseStarts[phase] = performance.now();
          listener.onPhase?.(phase);
        },
      });
      return {
        cancel: () => handle.cancel(),
        wait: async () => {
          const result = await handle.wait();
          const experiment = probe.experiments.get(Number(job.env[ENV_EXPERIMENT_ID]));
          for (const phase of ["train", "evaluate"] as const) {
            const calledAt = phaseStarts[phase];
            const wallMs = result.timings[phase === "train" ? "trainMs" : "evaluateMs"];
            if (experiment && calledAt !== undefined && wallMs !== undefined) experiment[phase] = { calledAt, returnedAt: calledAt + wallMs, processWallMs: wallMs };
          }
          return result;
        },
      };
    },
  };
}

/**
 * CPU time (ms) used so far by this process (self) and by the children it has waited for (git, the
 * workload's shells): the harness's cost in work rather than in wall time, which a busy machine inflates.
 */
export function cpuMsSoFar(): { self: number; children: number } {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // utime, stime, cutime, cstime are fields 14-17 of stat(5), in clock ticks (USER_HZ, 100 on Linux).
    const [utime, stime, cutime, cstime] = stat.slice(stat.lastIndexOf(")") + 2).split(" ").slice(11, 15).map(Number);
    return { self: (utime! + stime!) * 10, children: (cutime! + cstime!) * 10 };
  } catch {
    const usage = process.cpuUsage(); // no procfs: this process only
    return { self: (usage.user + usage.system) / 1000, children: Number.NaN };
  }
}

/** Counts the processes this process starts, by what they are ("git commit", "sh"), until stopped. */
export function countSpawns(): { stop: () => Map<string, number> } {
  const counts = new Map<string, number>();
  const onSpawn = (message: unknown) => {
    const child = (message as { process: ChildProcess }).process;
    // spawnargs are filled in after the channel fires, within the same spawn call.
    queueMicrotask(() => {
      const label = spawnLabel(child.spawnargs);
      counts.set(label, (counts.get(label) ?? 0) + 1);
    });
  };
  subscribe("child_process", onSpawn);
  return {
    stop: () => {
      unsubscribe("child_process", onSpawn);
      return counts;
    },
  };
}

function spawnLabel(args: string[]): string {
  const [file, ...rest] = args;
  if (file === undefined) return "unknown";
  if (!file.endsWith("git")) return basename(file);
  // The subcommand is the first argument that is neither an option nor the value of -c / -C.
  for (let index = 0; index < rest.length; index += 1) {
    if (rest[index] === "-c" || rest[index] === "-C") index += 1;
    else if (!rest[index]!.startsWith("-")) return `git ${rest[index]}`;
  }
  return "git";
}
