// Where an experiment job runs. The harness builds a job spec (job/spec.ts) and submits it; nothing
// above the executor knows whether it runs in this process, on a cluster node or in a pod.
import type { JobResult, JobSpec } from "../job/spec.ts";

/** What the harness hears from a running job besides its result (in-process only; a remote job has its log). */
export interface JobListener {
  onPhase?: (phase: "train" | "evaluate" | "measure") => void;
  onLine?: (line: string) => void;
}

export interface JobHandle {
  /** The job's result; resolves once the job has ended and its processes are gone, whatever its status. */
  wait(): Promise<JobResult>;
  /** Stops the job (its result is then `interrupted`). */
  cancel(): void;
}

export interface Executor {
  readonly name: string;
  /**
   * How many jobs it runs at once, and on which devices ("cpu", "cuda:0", ...); `sharedMachine` when those
   * jobs share one machine's processors (the local executor), so that jobs started together wait for each other.
   */
  capacity(): { jobs: number; devices: string[]; sharedMachine?: boolean };
  submit(job: JobSpec, listener?: JobListener): JobHandle;
  /**
   * A job an earlier harness submitted and never saw end (it was killed): a handle on it if the executor can
   * still find it (a cluster's queue, the job's result file), else null. The local executor has none: its
   * jobs die with the harness.
   */
  adopt?(job: JobSpec): Promise<JobHandle | null>;
}
