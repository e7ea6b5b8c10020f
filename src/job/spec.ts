// An experiment as a job: everything needed to run one candidate where the GPU is, as plain JSON,
// and what comes back. The harness builds the spec (loop/experiment.ts), an executor runs it
// (in-process on this machine, or `autoresearch job <spec.json>` on another), and the job's
// integrity checks travel with it: it refuses to run a checkout whose protected files or data
// differ from the session's.
import { z } from "zod";
import type { DirectorySnapshot } from "../guard/checksums.ts";
import type { ExperimentStatus, RanOn } from "../core/experiment.ts";
import type { MetricNames } from "./metrics.ts";

export const JOB_SPEC_VERSION = 1;

const marker = z.strictObject({ name: z.string().min(1), value: z.string().min(1) });

export const jobSpecSchema = z.strictObject({
  version: z.literal(JOB_SPEC_VERSION),
  experimentId: z.number().int().positive(),
  /** The git repository that holds the commit: a path on this machine (or on a shared filesystem). */
  repository: z.string().min(1),
  /** The candidate commit (also under refs/autoresearch/<tag>/<id> in the repository). */
  commit: z.string().regex(/^[0-9a-f]{40,64}$/, "must be a full commit id"),
  /**
   * Fetch the commit from this git remote's `ref` (where the harness pushed it) instead of reading `repository`:
   * for a machine that does not share the project's filesystem (Slurm's executor.gitRemote). Absent: use `repository`.
   */
  gitRemote: z.strictObject({ url: z.string().min(1), ref: z.string().regex(/^refs\//, "must be a full ref (refs/...)") }).optional(),
  /** A checkout to reuse (a slot's, reset to the commit), or null: the job checks out into a scratch directory and removes it. */
  workdir: z.string().min(1).nullable(),
  protectedGlobs: z.array(z.string().min(1)),
  /** sha256 of every protected file as the session has it: the checkout must match exactly before anything runs. */
  protectedChecksums: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
  data: z.strictObject({
    dir: z.string().min(1),
    /** What the prepared data must be (null: the project has no prepare step). */
    snapshot: z.strictObject({
      files: z.record(z.string(), z.strictObject({ sha256: z.string(), bytes: z.number() })),
      totalBytes: z.number(),
    }).nullable(),
    /** Absolute paths of prepared files the train phase must not see. */
    hidden: z.array(z.string().min(1)),
  }),
  /** null: a measure-only study (the measure command is the only phase). */
  train: z.strictObject({ command: z.string().min(1), budgetSeconds: z.number().positive(), timeoutSeconds: z.number().positive() }).nullable(),
  /**
   * A measure-only study's scoring phase: protected code that runs the mutable code, sandboxed like train, writing
   * the metric to AUTORESEARCH_METRICS_FILE or printing `name: value`. Never together with `evaluate`.
   */
  measure: z.strictObject({ command: z.string().min(1), timeoutSeconds: z.number().positive() }).nullable().default(null),
  evaluate: z.strictObject({
    command: z.string().min(1),
    timeoutSeconds: z.number().positive(),
    serve: z.string().min(1).nullable(),
    replicas: z.number().int().min(1).max(3),
  }).nullable(),
  killGraceSeconds: z.number().min(0),
  /** "cpu" or "cuda:N". */
  device: z.string().regex(/^(cpu|cuda:\d+)$/),
  /**
   * The environment of every phase (already through the allow-list); the job sets the contract's
   * variables that come from other fields (output and data directories, budget, device, experiment id, phase).
   */
  env: z.record(z.string(), z.string()),
  /** null: run unsandboxed (the session's explicit choice); the held-out files are then covered by a mount namespace where possible. */
  sandbox: z.strictObject({
    network: z.boolean(),
    readOnly: z.array(z.string().min(1)),
    limits: z.strictObject({ tmpMb: z.number().positive(), maxFileMb: z.number().positive(), maxProcesses: z.number().int().positive(), memoryMb: z.number().positive().optional() }),
  }).nullable(),
  metric: z.strictObject({ name: z.string().min(1), heldOut: z.string().min(1).optional(), secondary: z.array(z.string()) }),
  /** The experiment's directory: the output directory (`out/`) and the scorer's metrics directories go inside it. */
  runDir: z.string().min(1),
  outputDir: z.string().min(1),
  logPath: z.string().min(1),
  resultPath: z.string().min(1),
  /** Marks every process of the job, so leftovers can be found and killed. */
  marker,
});

export type JobSpec = z.output<typeof jobSpecSchema>;

/** What a job reports; the harness trusts it only from the job's own result (never from a scheduler's state). */
export interface JobResult {
  version: typeof JOB_SPEC_VERSION;
  experimentId: number;
  status: Exclude<ExperimentStatus, "running">;
  reason: string | null;
  metric: number | null;
  heldOut: number | null;
  secondary: Record<string, number>;
  memoryGb: number | null;
  selfReported: boolean;
  /** The prepared data did not match its checksums: the session must pause until it is prepared again. */
  dataTampered: boolean;
  /** The job's own machinery failed (git, disk), not the workload: the reason is the error. */
  harnessError: boolean;
  /** evaluateMs: the scoring phase, evaluate or measure. */
  timings: { checkoutMs: number; trainMs?: number; evaluateMs?: number; totalMs: number };
  /** What the job actually ran on: the requested device and its model name where it can be read. */
  device: { requested: string; name: string | null };
  /**
   * Where a job run by `autoresearch job` ran (the node, the GPUs its scheduler made visible, when it started and
   * ended there) and, on Slurm, which job it was, on Kubernetes, which pod; absent for a job run in the harness's own process.
   */
  host?: { name: string | null; visibleDevices: string | null; startedAt: string | null; finishedAt: string | null; slurmJobId?: string | null; pod?: string | null };
  logPath: string;
}

/**
 * Where the job ran, as the ledger keeps it: the node and its device's model from a job run by `autoresearch
 * job` (with the Slurm job or pod), else `localHost` — a job run in the harness's own process ran here.
 */
export function ranOnOf(result: JobResult, localHost: string): RanOn {
  const host = result.host;
  return {
    host: host ? host.name : localHost,
    deviceName: result.device.name,
    ...(host?.slurmJobId ? { slurmJobId: host.slurmJobId } : {}),
    ...(host?.pod ? { pod: host.pod } : {}),
  };
}

export type { DirectorySnapshot, MetricNames };
