// Runs jobs on this machine, in this process: each job's phases are local process groups (sandboxed
// where the session is), through the same runJob that `autoresearch job` runs elsewhere.
import { runJob } from "../job/run.ts";
import type { Executor, JobHandle } from "./types.ts";

export function createLocalExecutor(devices: string[] = ["cpu"]): Executor {
  return {
    name: "local",
    capacity: () => ({ jobs: devices.length, devices: [...devices], sharedMachine: true }),
    submit(job, listener = {}): JobHandle {
      const controller = new AbortController();
      const result = runJob(job, { signal: controller.signal, onPhase: listener.onPhase, onLine: listener.onLine });
      return { wait: () => result, cancel: () => controller.abort() };
    },
  };
}
