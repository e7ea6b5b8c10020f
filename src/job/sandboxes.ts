// What each phase of a job may see and write when the job is sandboxed:
//   train   the candidate (read-only), the training data (held-out files absent), its output dir (writable)
//   serve   the candidate and the trained output (both read-only); no data at all
//   scorer  the candidate, the output (read-only) and all prepared data; writes only its metrics dir
//   measure (a measure-only study) what train sees, and writes its metrics dir too
// Each also gets the interpreters and the private /tmp and HOME of the sandbox (sandbox/bwrap.ts).
import { gpuDeviceNodes, type SandboxSpec } from "../sandbox/index.ts";
import type { JobSpec } from "./spec.ts";

function base(job: JobSpec, checkout: string): SandboxSpec | undefined {
  if (!job.sandbox) return undefined;
  return {
    cwd: checkout,
    readOnly: [...job.sandbox.readOnly, checkout],
    writable: [],
    network: job.sandbox.network,
    devices: gpuDeviceNodes(job.device),
    limits: job.sandbox.limits,
  };
}

export function trainSandbox(job: JobSpec, checkout: string): SandboxSpec | undefined {
  const spec = base(job, checkout);
  return spec && { ...spec, writable: [job.outputDir], data: { dir: job.data.dir, hidden: job.data.hidden } };
}

export function serveSandbox(job: JobSpec, checkout: string): SandboxSpec | undefined {
  const spec = base(job, checkout);
  return spec && { ...spec, readOnly: [...spec.readOnly, job.outputDir] };
}

/**
 * A measure-only study's measure command is protected but runs the mutable code in its own process, so it gets
 * what train gets (held-out files absent) and may write its metrics dir besides the output dir.
 */
export function measureSandbox(job: JobSpec, checkout: string, metricsDir: string): SandboxSpec | undefined {
  const spec = trainSandbox(job, checkout);
  return spec && { ...spec, writable: [...spec.writable, metricsDir] };
}

/** The scorer runs protected code, but in a sandbox too: it can write nothing but its metrics, and reach nothing. */
export function scorerSandbox(job: JobSpec, checkout: string, metricsDir: string): SandboxSpec | undefined {
  const spec = base(job, checkout);
  return spec && { ...spec, readOnly: [...spec.readOnly, job.outputDir], writable: [metricsDir], data: { dir: job.data.dir, hidden: [] } };
}
