// Jobs an earlier harness left running on a cluster (it was killed): found again through the executor on
// resume and either adopted — their result is decided like any other, in a slot of this run — or cancelled.
// Nothing is run twice: an adopted job stands in for its experiment's row, which stays "running" until then.
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import type { JobHandle } from "../executors/types.ts";
import { jobSpecSchema, ranOnOf } from "../job/spec.ts";
import type { LedgerExperiment } from "../ledger/sqlite.ts";
import { isMeasurement } from "../core/experiment.ts";
import { experimentOutputDir } from "../project/paths.ts";
import { isoAt, type SessionContext } from "./context.ts";
import { JOB_SPEC_FILE, type ExperimentOutcome, type Job } from "./experiment.ts";

export interface AdoptedJob {
  row: LedgerExperiment;
  handle: JobHandle;
}

/** The running rows whose jobs the executor still finds (queued, running, or ended with a result file). */
export async function findLeftoverJobs(ctx: SessionContext): Promise<AdoptedJob[]> {
  const adopt = ctx.executor.adopt?.bind(ctx.executor);
  if (!adopt) return [];
  const found: AdoptedJob[] = [];
  for (const row of ctx.ledger.listExperiments({ tag: ctx.tag, status: ["running"], order: "asc" })) {
    const specPath = join(dirname(experimentOutputDir(ctx.paths, row.id)), JOB_SPEC_FILE);
    if (!existsSync(specPath)) continue;
    const spec = jobSpecSchema.safeParse(JSON.parse(readFileSync(specPath, "utf8")));
    if (!spec.success) continue;
    const handle = await adopt(spec.data).catch(() => null);
    if (handle) found.push({ row, handle });
  }
  return found;
}

/** Cancels leftover jobs and waits until each has ended (a caller that does not run the loop adopts none). */
export async function cancelLeftoverJobs(ctx: SessionContext, jobs: readonly AdoptedJob[]): Promise<void> {
  for (const job of jobs) job.handle.cancel();
  await Promise.all(jobs.map((job) => job.handle.wait().catch(() => undefined)));
  if (jobs.length > 0) {
    ctx.bus.emit({ type: "warning", at: isoAt(ctx.clock), message: `cancelled the job(s) of experiment(s) ${jobs.map((job) => job.row.id).join(", ")}, left running by an earlier run` });
  }
}

/** The loop's job an experiment's row stands for (what the reducer reads of it: kind, what it confirms or measures). */
export function jobFromRow(row: LedgerExperiment): Job {
  const commit = row.candidateCommit ?? row.parentCommit;
  if (row.kind === "candidate") {
    return {
      kind: "candidate", parentCommit: row.parentCommit, proposer: row.proposer, description: row.description, hypothesis: row.hypothesis,
      meta: row.meta, files: {}, proposeMs: 0, usage: row.usage,
    };
  }
  if (row.kind === "confirmation") return { kind: "confirmation", confirms: row.confirms!, commit, description: row.description };
  if (isMeasurement(row.kind)) return { kind: row.kind, commit, of: row.confirms, description: row.description, meta: row.meta };
  return { kind: "baseline", commit, description: row.description };
}

/** Waits for an adopted job and turns its result into the experiment's outcome, as runExperiment does for its own. */
export async function finishAdopted(ctx: SessionContext, adopted: AdoptedJob, signal: AbortSignal): Promise<ExperimentOutcome> {
  const { row, handle } = adopted;
  const cancel = () => handle.cancel();
  signal.addEventListener("abort", cancel, { once: true });
  if (signal.aborted) cancel();
  const result = await handle.wait().finally(() => signal.removeEventListener("abort", cancel));
  const ranOn = ranOnOf(result, hostname());
  ctx.ledger.updateExperiment(row.id, result.status === "ok" ? { secondary: result.secondary, memoryGb: result.memoryGb, ranOn } : { ranOn });
  return {
    id: row.id, job: jobFromRow(row), status: result.status, candidateCommit: row.candidateCommit, metric: result.metric, heldOutMetric: result.heldOut,
    selfReported: result.selfReported, reason: result.reason, dataTampered: result.dataTampered, harnessError: result.harnessError,
    timings: { ...row.timings, setupMs: result.timings.checkoutMs, trainMs: result.timings.trainMs, evaluateMs: result.timings.evaluateMs, totalMs: result.timings.totalMs },
  };
}
