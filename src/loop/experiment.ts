// One experiment on the harness's side: build the candidate commit, guard its scope, record it,
// turn it into a job (job/spec.ts) and hand that to the executor, which runs it where it runs and
// checks its integrity there (job/run.ts). It makes no keep/discard decision (see apply.ts).
import { appendFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { budgetFor, DEFAULT_MEASURE_TIMEOUT_SECONDS, limitsAtBudget } from "../config/load.ts";
import { deviceKind } from "../config/device-kind.ts";
import type { SlotDevice } from "../executors/devices.ts";
import * as git from "../git/index.ts";
import { checkScope } from "../guard/scope.ts";
import { JOB_SPEC_VERSION, ranOnOf, type JobResult, type JobSpec } from "../job/spec.ts";
import type { ExperimentStatus, PhaseTimings } from "../core/experiment.ts";
import { ENV_EXPERIMENT_ID, ENV_OUTPUT_DIR, ENV_PHASE } from "../project/contract.ts";
import { candidateRef, experimentLogPath, experimentOutputDir } from "../project/paths.ts";
import { killMarkedProcesses } from "../runner/process.ts";
import { readLogTail } from "../text/log-tail.ts";
import { isoAt, type SessionContext } from "./context.ts";
import { phaseEnvironment, runMarker } from "./environment.ts";
import { evaluationLimitSeconds } from "./evaluation-limit.ts";
import { confirmationJob, isMeasurementJob, type Job } from "./jobs.ts";
import { smokeBudgetSeconds, smokeMetricKey, type SmokeStage } from "./cascade.ts";
import { runSmokeStage } from "./smoke-stage.ts";

export { confirmationJob, isMeasurementJob, type Job };

export interface ExperimentOutcome {
  id: number;
  job: Job;
  status: Exclude<ExperimentStatus, "running">;
  candidateCommit: string | null;
  metric: number | null;
  heldOutMetric: number | null;
  selfReported: boolean;
  reason: string | null;
  /** Set when the prepared data was found modified: the whole session must pause. */
  dataTampered: boolean;
  /** The harness failed (git, disk), not the workload: the scheduler decides whether the session can go on. */
  harnessError?: boolean;
  timings: PhaseTimings;
  /** A candidate's smoke stage, when the cascade ran one (loop/cascade.ts); its metric is never the outcome's. */
  smoke?: SmokeStage;
}

export async function runExperiment(ctx: SessionContext, job: Job, slot: SlotDevice, signal: AbortSignal, waitedMs = 0): Promise<ExperimentOutcome> {
  const startedMs = ctx.clock.now();
  const timings: PhaseTimings = { proposeMs: job.kind === "candidate" ? job.proposeMs : undefined, ...(waitedMs > 0 ? { waitMs: waitedMs } : {}) };
  let id = -1;
  const parentCommit = job.kind === "candidate" ? job.parentCommit : job.commit;
  let candidateCommit = parentCommit;
  const finish = (status: Exclude<ExperimentStatus, "running">, reason: string | null, extra: Partial<ExperimentOutcome> = {}): ExperimentOutcome => {
    timings.totalMs = ctx.clock.now() - startedMs;
    return { id, job, status, candidateCommit, metric: null, heldOutMetric: null, selfReported: false, reason, dataTampered: false, timings, ...extra };
  };
  try {
    let candidateTree: string | null = null;
    let diff = "";
    let rejection: string | null = null;
    if (job.kind === "candidate") {
      const built = await commitCandidate(ctx, parentCommit, job);
      candidateCommit = built.commit;
      candidateTree = built.tree;
      diff = built.diff;
      rejection = built.rejection;
    }
    id = ctx.ledger.startExperiment({
      tag: ctx.tag,
      kind: job.kind,
      confirms: job.kind === "confirmation" ? job.confirms : isMeasurementJob(job) ? job.of : null,
      parentCommit,
      candidateCommit,
      candidateTree: candidateTree ?? (await git.treeOf(ctx.paths.projectDir, candidateCommit)),
      proposer: job.kind === "candidate" ? job.proposer : "harness",
      description: job.description,
      hypothesis: job.kind === "candidate" ? job.hypothesis : "",
      meta: job.kind === "candidate" || isMeasurementJob(job) ? job.meta : null,
      diff,
      device: slot.device,
      slot: slot.slot,
      logPath: "",
      usage: job.kind === "candidate" ? job.usage : null,
      startedAt: isoAt(ctx.clock),
    }, (newId) => ({ logPath: experimentLogPath(ctx.paths, newId) }));
    const logPath = experimentLogPath(ctx.paths, id);
    mkdirSync(ctx.paths.logsDir, { recursive: true });
    // The candidate's ref (which keeps its commit reachable) is written while the job starts; it is in
    // place before the experiment's outcome goes anywhere.
    const refWritten = job.kind === "candidate" ? git.writeLooseRef(ctx.paths.projectDir, candidateRef(ctx.tag, id), candidateCommit) : Promise.resolve();
    refWritten.catch(() => undefined); // awaited below: no unhandled rejection meanwhile
    const spec = experimentJobSpec(ctx, slot, id, candidateCommit, trainBudgetOf(ctx, job, slot));
    ctx.bus.emit({
      type: "experiment_started", at: isoAt(ctx.clock), id, kind: job.kind, slot: slot.slot, device: slot.device,
      parentCommit, candidateCommit, description: job.description,
      ...(spec.train ? { budgetSeconds: spec.train.budgetSeconds } : { budgetSeconds: spec.measure?.timeoutSeconds ?? 0, timed: "measure" as const }),
    });
    if (rejection) {
      appendFileSync(logPath, `--- rejected before training: ${rejection}\n`);
      await refWritten;
      timings.setupMs = ctx.clock.now() - startedMs;
      return finish("rejected", rejection);
    }
    // A fresh run directory holding the job's spec (`autoresearch job <it>` reruns the experiment by hand).
    rmSync(spec.runDir, { recursive: true, force: true });
    mkdirSync(spec.runDir, { recursive: true });
    writeFileSync(join(spec.runDir, JOB_SPEC_FILE), `${JSON.stringify(spec, null, 2)}\n`);
    const submit = (submitted: JobSpec): Promise<JobResult> => {
      const handle = ctx.executor.submit(submitted, {
        onPhase: (phase) => ctx.bus.emit({ type: "experiment_phase", at: isoAt(ctx.clock), id, phase }),
        onLine: (line) => ctx.bus.emit({ type: "experiment_log", at: isoAt(ctx.clock), id, line }),
      });
      const cancel = () => handle.cancel();
      refWritten.catch(cancel); // without its ref the result could not be kept: stop rather than finish the run
      signal.addEventListener("abort", cancel, { once: true });
      if (signal.aborted) cancel();
      return handle.wait().finally(() => signal.removeEventListener("abort", cancel));
    };
    // The cascade's smoke stage: a crash, a missing metric or a clearly bad smoke metric ends the candidate here.
    const smokeStartedMs = ctx.clock.now();
    const smoke = job.kind === "candidate" ? await runSmokeStage(ctx, spec, slot, submit) : null;
    if (smoke !== null) {
      timings.smokeMs = smoke.stage.wallMs;
      if (smoke.stage.metric !== null) ctx.ledger.updateExperiment(id, { secondary: { [smokeMetricKey(ctx.config.metric.name)]: smoke.stage.metric } });
      if (smoke.stage.verdict === "failed" || smoke.stage.verdict === "screened") {
        ctx.ledger.updateExperiment(id, { ranOn: ranOnOf(smoke.result, hostname()) });
        await refWritten;
        timings.setupMs = smokeStartedMs - startedMs;
        const failed = smoke.stage.verdict === "failed";
        return finish(failed ? smoke.result.status : "ok", failed ? smoke.stage.rationale : `smoke stage: clearly worse than the unchanged code's smoke runs`, {
          smoke: smoke.stage, dataTampered: smoke.result.dataTampered, harnessError: smoke.result.harnessError,
        });
      }
    }
    const result = await submit(spec);
    await refWritten;
    timings.setupMs = smokeStartedMs - startedMs + result.timings.checkoutMs;
    timings.trainMs = result.timings.trainMs;
    timings.evaluateMs = result.timings.evaluateMs;
    if (result.status === "ok") {
      const smokeMetric = smoke?.stage.metric ?? null;
      const secondary = smokeMetric === null ? result.secondary : { ...result.secondary, [smokeMetricKey(ctx.config.metric.name)]: smokeMetric };
      ctx.ledger.updateExperiment(id, { secondary, memoryGb: result.memoryGb, ranOn: ranOnOf(result, hostname()) });
    } else {
      ctx.ledger.updateExperiment(id, { ranOn: ranOnOf(result, hostname()) });
    }
    return finish(result.status, result.reason, {
      metric: result.metric, heldOutMetric: result.heldOut, selfReported: result.selfReported, dataTampered: result.dataTampered,
      harnessError: result.harnessError, ...(smoke !== null ? { smoke: smoke.stage } : {}),
    });
  } catch (error) {
    // A failure of the harness itself (git, disk): recorded against the experiment, never left "running".
    if (id < 0) throw error;
    return finish(signal.aborted ? "interrupted" : "crash", `harness error: ${(error as Error).message}`, { candidateCommit: null, harnessError: true });
  } finally {
    if (id >= 0 && signal.aborted) await killMarkedProcesses(runMarker(ctx, id));
  }
}

/** The name of the job's spec in its run directory (.autoresearch/runs/<id>/job.json). */
export const JOB_SPEC_FILE = "job.json";

/** A slot's persistent checkout: reset to each of its experiments' commits, removed when the session ends. */
export function slotWorkdir(ctx: Pick<SessionContext, "paths">, slot: Pick<SlotDevice, "slot">): string {
  return join(ctx.paths.worktreesDir, `slot-${slot.slot}`);
}

/** The train budget of a job that does not run the config's: a smoke run's, or a measurement's own (`promote`). */
function trainBudgetOf(ctx: SessionContext, job: Job, slot: SlotDevice): number | undefined {
  if (!ctx.config.train) return undefined;
  if (job.kind === "smoke" && ctx.config.cascade) return smokeBudgetSeconds(ctx.config.cascade, budgetFor(ctx.config, slot.device).budgetSeconds);
  return isMeasurementJob(job) ? job.budgetSeconds : undefined;
}

/** Everything one experiment needs to run wherever the executor puts it, as plain JSON; `budgetSeconds` replaces the config's train budget. */
export function experimentJobSpec(ctx: SessionContext, slot: SlotDevice, id: number, commit: string, budgetSeconds?: number): JobSpec {
  const limits = !ctx.config.train ? null : budgetSeconds === undefined ? budgetFor(ctx.config, slot.device) : limitsAtBudget(ctx.config, slot.device, budgetSeconds);
  const outputDir = experimentOutputDir(ctx.paths, id);
  const runDir = dirname(outputDir);
  const { [ENV_PHASE]: _phase, ...env } = phaseEnvironment(ctx, slot, "train", { [ENV_EXPERIMENT_ID]: String(id), [ENV_OUTPUT_DIR]: outputDir }, id);
  const { evaluate, measure } = ctx.config;
  // The scoring phase's limit (evaluate or measure) tightens to the unchanged code's times on this kind of device.
  const baselineEvaluations = evaluate || measure
    ? ctx.ledger.listExperiments({ tag: ctx.tag, status: ["ok"], kind: ["baseline"] })
        .filter((row) => row.kind === "baseline" && deviceKind(row.device) === deviceKind(slot.device))
        .map((row) => row.timings.evaluateMs ?? 0)
    : [];
  const { sandbox } = ctx.config;
  return {
    version: JOB_SPEC_VERSION,
    experimentId: id,
    repository: ctx.paths.projectDir,
    commit,
    workdir: slotWorkdir(ctx, slot),
    protectedGlobs: ctx.protectedGlobs,
    protectedChecksums: ctx.protectedChecksums,
    data: { dir: ctx.paths.dataDir, snapshot: ctx.dataSnapshot, hidden: ctx.hiddenFromTrain },
    train: ctx.config.train && limits ? { command: ctx.config.train.command, budgetSeconds: limits.budgetSeconds, timeoutSeconds: limits.timeoutSeconds } : null,
    measure: measure
      ? { command: measure.command, timeoutSeconds: evaluationLimitSeconds(measure.timeoutSeconds ?? DEFAULT_MEASURE_TIMEOUT_SECONDS, baselineEvaluations) }
      : null,
    evaluate: evaluate
      ? {
          command: evaluate.command,
          timeoutSeconds: evaluationLimitSeconds(evaluate.timeoutSeconds ?? 600, baselineEvaluations),
          serve: evaluate.serve ?? null,
          replicas: evaluate.replicas ?? 2,
        }
      : null,
    killGraceSeconds: ctx.config.killGraceSeconds,
    device: slot.device,
    env,
    sandbox: ctx.isolation.sandboxed
      ? {
          network: ctx.isolation.network,
          readOnly: ctx.isolation.readOnly,
          limits: { tmpMb: sandbox.tmpMb, maxFileMb: sandbox.maxFileMb, maxProcesses: sandbox.maxProcesses, ...(sandbox.memoryMb ? { memoryMb: sandbox.memoryMb } : {}) },
        }
      : null,
    metric: { name: ctx.config.metric.name, ...(ctx.config.metric.heldOut ? { heldOut: ctx.config.metric.heldOut } : {}), secondary: ctx.config.metric.secondary },
    runDir,
    outputDir,
    logPath: experimentLogPath(ctx.paths, id),
    resultPath: join(runDir, "result.json"),
    marker: runMarker(ctx, id),
  };
}

/** Removes the slots' checkouts when the session ends (a leftover of a killed harness goes on resume). */
export async function releaseSlots(ctx: Pick<SessionContext, "paths" | "slots">): Promise<void> {
  for (const slot of ctx.slots) {
    const dir = slotWorkdir(ctx, slot);
    if (existsSync(dir)) await git.removeWorktree(ctx.paths.projectDir, dir).catch(() => undefined);
  }
}

/** Commits the candidate's files on its parent (no worktree needed), diffs it, and guards scope and duplicates. */
async function commitCandidate(ctx: SessionContext, parentCommit: string, job: Extract<Job, { kind: "candidate" }>) {
  const message = `${job.description}\n\n${job.hypothesis}\n\nautoresearch: tag ${ctx.tag}, proposer ${job.proposer}`;
  const { commit, tree } = await git.commitFiles(ctx.paths.projectDir, parentCommit, job.files, message);
  const { patch: diff, changes } = await git.candidateDiff(ctx.paths.projectDir, parentCommit, commit, job.files);
  if (changes.length === 0) return { commit: parentCommit, tree: null, diff: "", rejection: "the proposal changes nothing" };
  const scope = checkScope(changes, { mutable: ctx.config.mutable, protected: ctx.config.protected, alwaysProtected: alwaysProtected(ctx) });
  if (!scope.ok) return { commit, tree, diff, rejection: scope.reason };
  const earlier = ctx.ledger.findByTree(ctx.tag, tree);
  if (earlier && earlier.status !== "interrupted") return { commit, tree, diff, rejection: `duplicate: the same code as experiment ${earlier.id} (${earlier.description})` };
  return { commit, tree, diff, rejection: null };
}

export function alwaysProtected(ctx: SessionContext): string[] {
  return ["autoresearch.config.json", ctx.config.program];
}

export function logTail(logPath: string): string {
  return existsSync(logPath) ? readLogTail(logPath, { maxLines: 40, maxBytes: 8192 }) : "";
}


