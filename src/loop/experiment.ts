// One experiment, start to finish: build the candidate in its own worktree, guard it,
// train under the budget, check nothing protected moved, evaluate, read the metrics.
// It records the run in the ledger but makes no keep/discard decision (see scheduler.ts).
import { randomUUID } from "node:crypto";
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { budgetFor } from "../config/load.ts";
import * as git from "../git/index.ts";
import { checkScope } from "../guard/scope.ts";
import { ALWAYS_EXCLUDED_DIRS, diffHashes, hashTree, protectedFiles, verifySnapshot } from "../guard/checksums.ts";
import type { ExperimentStatus, PhaseTimings } from "../ledger/types.ts";
import { ENV_DATA_DIR, ENV_EXPERIMENT_ID, ENV_METRICS_FILE, ENV_REPLICA, ENV_OUTPUT_DIR, ENV_PHASE } from "../project/contract.ts";
import { candidateRef, experimentLogPath, experimentOutputDir } from "../project/paths.ts";
import { killMarkedProcesses, readLogTail } from "../runner/process.ts";
import type { SlotDevice } from "../executors/devices.ts";
import type { PhaseResult, PhaseSpec } from "../executors/types.ts";
import { isoAt, type SessionContext } from "./context.ts";
import { readMetricsJson, SelfReportedScanner, type MetricsReading } from "./metrics.ts";
import { phaseEnvironment, runMarker } from "./environment.ts";
import { scorerSandbox, serveSandbox, trainSandbox } from "./sandboxes.ts";
import { evaluationLimitSeconds } from "./evaluation-limit.ts";
import { deviceKind } from "../config/device-kind.ts";

export type Job =
  | { kind: "baseline"; commit: string; description: string }
  | { kind: "candidate"; parentCommit: string; proposer: string; description: string; hypothesis: string; meta: unknown; files: Record<string, string>; proposeMs: number; usage: { inputTokens: number; outputTokens: number; costUsd: number | null } | null }
  | { kind: "confirmation"; confirms: number; commit: string; description: string };

/** The re-run that confirms (or not) the would-be keep `id`. */
export function confirmationJob(id: number, commit: string, description: string): Extract<Job, { kind: "confirmation" }> {
  return { kind: "confirmation", confirms: id, commit, description: `confirm #${id}: ${description}` };
}

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
  timings: PhaseTimings;
}

export async function runExperiment(ctx: SessionContext, job: Job, slot: SlotDevice, signal: AbortSignal): Promise<ExperimentOutcome> {
  const startedMs = ctx.clock.now();
  const timings: PhaseTimings = { proposeMs: job.kind === "candidate" ? job.proposeMs : undefined };
  const worktree = join(ctx.paths.worktreesDir, randomUUID().slice(0, 8));
  let id = -1;
  try {
    const parentCommit = job.kind === "candidate" ? job.parentCommit : job.commit;
    let candidateCommit = parentCommit;
    let candidateTree: string | null = null;
    let diff = "";
    let rejection: string | null = null;
    await git.addWorktree(ctx.paths.projectDir, worktree, parentCommit);
    if (job.kind === "candidate") {
      for (const [path, content] of Object.entries(job.files)) {
        mkdirSync(dirname(join(worktree, path)), { recursive: true });
        writeFileSync(join(worktree, path), content);
      }
      const built = await commitCandidate(ctx, worktree, parentCommit, job);
      candidateCommit = built.commit;
      candidateTree = built.tree;
      diff = built.diff;
      rejection = built.rejection;
    }
    id = ctx.ledger.startExperiment({
      tag: ctx.tag,
      kind: job.kind,
      confirms: job.kind === "confirmation" ? job.confirms : null,
      parentCommit,
      candidateCommit,
      candidateTree: candidateTree ?? (await git.treeOf(ctx.paths.projectDir, candidateCommit)),
      proposer: job.kind === "candidate" ? job.proposer : "harness",
      description: job.description,
      hypothesis: job.kind === "candidate" ? job.hypothesis : "",
      meta: job.kind === "candidate" ? job.meta : null,
      diff,
      device: slot.device,
      slot: slot.slot,
      logPath: "",
      usage: job.kind === "candidate" ? job.usage : null,
      startedAt: isoAt(ctx.clock),
    });
    const logPath = experimentLogPath(ctx.paths, id);
    mkdirSync(ctx.paths.logsDir, { recursive: true });
    ctx.ledger.updateExperiment(id, { logPath });
    if (job.kind === "candidate") await git.updateRef(ctx.paths.projectDir, candidateRef(ctx.tag, id), candidateCommit);
    timings.setupMs = ctx.clock.now() - startedMs;
    const limits = budgetFor(ctx.config, slot.device);
    ctx.bus.emit({
      type: "experiment_started", at: isoAt(ctx.clock), id, kind: job.kind, slot: slot.slot, device: slot.device,
      parentCommit, candidateCommit, description: job.description, budgetSeconds: limits.budgetSeconds,
    });
    const finish = (status: Exclude<ExperimentStatus, "running">, reason: string | null, extra: Partial<ExperimentOutcome> = {}): ExperimentOutcome => {
      timings.totalMs = ctx.clock.now() - startedMs;
      return { id, job, status, candidateCommit, metric: null, heldOutMetric: null, selfReported: false, reason, dataTampered: false, timings, ...extra };
    };
    if (rejection) {
      appendFileSync(logPath, `--- rejected before training: ${rejection}\n`);
      return finish("rejected", rejection);
    }

    const dataProblems = await checkData(ctx);
    if (dataProblems) return finish("rejected", dataProblems, { dataTampered: true });
    const codeBefore = await hashCode(ctx, worktree, candidateCommit);
    const outputDir = experimentOutputDir(ctx.paths, id);
    const runDir = dirname(outputDir);
    rmSync(runDir, { recursive: true, force: true });
    mkdirSync(outputDir, { recursive: true });

    const phaseEnv = (phase: "train" | "evaluate" | "serve", extra: Record<string, string>) =>
      phaseEnvironment(ctx, slot, phase, { [ENV_EXPERIMENT_ID]: String(id), [ENV_OUTPUT_DIR]: outputDir, [ENV_PHASE]: phase, ...extra }, id);

    appendFileSync(logPath, `--- train: ${ctx.config.train.command}\n`);
    const selfReportedScan = new SelfReportedScanner();
    ctx.bus.emit({ type: "experiment_phase", at: isoAt(ctx.clock), id, phase: "train" });
    const trainStarted = ctx.clock.now();
    const train = await ctx.executor.runPhase({
      phase: "train", command: ctx.config.train.command, cwd: worktree, env: phaseEnv("train", {}), logPath,
      timeoutMs: limits.timeoutSeconds * 1000, killGraceMs: ctx.config.killGraceSeconds * 1000, device: slot.device,
      marker: runMarker(ctx, id),
      onLine: (line) => {
        selfReportedScan.push(line); // scanned as written: the capped log may have cut the line out
        ctx.bus.emit({ type: "experiment_log", at: isoAt(ctx.clock), id, line });
      },
      hide: ctx.hiddenFromTrain,
      sandbox: trainSandbox(ctx, slot, { worktree, outputDir }),
    }, signal);
    timings.trainMs = ctx.clock.now() - trainStarted;
    const trainFailure = phaseFailure("train", train, limits.timeoutSeconds);
    if (trainFailure) return finish(trainFailure.status, trainFailure.reason);

    const tamperedCode = diffHashes(codeBefore, await hashCode(ctx, worktree, candidateCommit)).join(", ");
    if (tamperedCode) return finish("rejected", `files of the candidate changed during training (the scored code must be the committed code): ${tamperedCode}`);
    const dataAfterTrain = await checkData(ctx);
    if (dataAfterTrain) return finish("rejected", `${dataAfterTrain} (during training)`, { dataTampered: true });

    let reading: MetricsReading;
    let selfReported = false;
    if (ctx.config.evaluate) {
      const evalDir = join(runDir, `eval-${randomUUID().slice(0, 8)}`);
      mkdirSync(evalDir, { recursive: true });
      const metricsPath = join(evalDir, "metrics.json");
      appendFileSync(logPath, `--- evaluate: ${ctx.config.evaluate.command}\n`);
      ctx.bus.emit({ type: "experiment_phase", at: isoAt(ctx.clock), id, phase: "evaluate" });
      const evaluateStarted = ctx.clock.now();
      const baselineEvaluations = ctx.ledger.listExperiments({ tag: ctx.tag, status: ["ok"] })
        .filter((row) => row.kind === "baseline" && deviceKind(row.device) === deviceKind(slot.device))
        .map((row) => row.timings.evaluateMs ?? 0);
      const evaluateTimeout = evaluationLimitSeconds(ctx.config.evaluate.timeoutSeconds ?? 600, baselineEvaluations);
      const scorer: PhaseSpec = {
        phase: "evaluate", command: ctx.config.evaluate.command, cwd: worktree,
        env: phaseEnv("evaluate", { [ENV_METRICS_FILE]: metricsPath }), logPath,
        timeoutMs: evaluateTimeout * 1000, killGraceMs: ctx.config.killGraceSeconds * 1000, device: slot.device,
        marker: runMarker(ctx, id), sandbox: scorerSandbox(ctx, slot, { worktree, outputDir, metricsDir: evalDir }),
      };
      const serve = ctx.config.evaluate.serve;
      const evaluation = serve
        ? await ctx.executor.runServedPhase({
            scorer,
            servers: Array.from({ length: ctx.config.evaluate.replicas ?? 2 }, (_, replica) => ({
              ...scorer, phase: "serve" as const, command: serve, sandbox: serveSandbox(ctx, slot, { worktree, outputDir }),
              env: serverEnvironment(phaseEnv("serve", { [ENV_REPLICA]: String(replica) })),
            })),
          }, signal)
        : await ctx.executor.runPhase(scorer, signal);
      timings.evaluateMs = ctx.clock.now() - evaluateStarted;
      const evaluateFailure = phaseFailure("evaluate", evaluation, evaluateTimeout);
      if (evaluateFailure) return finish(evaluateFailure.status, evaluateFailure.reason);
      reading = existsSync(metricsPath)
        ? readMetricsJson(readFileSync(metricsPath, "utf8"), ctx.config.metric)
        : { kind: "no_metric", reason: "the evaluator exited 0 but wrote no metrics file" };
    } else {
      selfReported = true;
      reading = selfReportedScan.reading(ctx.config.metric);
    }
    if (reading.kind !== "ok") return finish(reading.kind, reading.reason, { selfReported });
    if (ctx.config.evaluate) {
      const tamperedInEvaluation = diffHashes(codeBefore, await hashCode(ctx, worktree, candidateCommit)).join(", ");
      if (tamperedInEvaluation) return finish("rejected", `files of the candidate changed during evaluation: ${tamperedInEvaluation}`);
      const dataAfterEvaluation = await checkData(ctx);
      if (dataAfterEvaluation) return finish("rejected", `${dataAfterEvaluation} (during evaluation)`, { dataTampered: true });
    }
    timings.totalMs = ctx.clock.now() - startedMs;
    ctx.ledger.updateExperiment(id, { secondary: reading.secondary, memoryGb: reading.memoryGb });
    return {
      id, job, status: "ok", candidateCommit, metric: reading.metric, heldOutMetric: reading.heldOut,
      selfReported, reason: null, dataTampered: false, timings,
    };
  } catch (error) {
    // A failure of the harness itself (git, disk): recorded against the experiment, never left "running".
    if (id < 0) throw error;
    timings.totalMs = ctx.clock.now() - startedMs;
    const status: Exclude<ExperimentStatus, "running"> = signal.aborted ? "interrupted" : "crash";
    return { id, job, status, candidateCommit: null, metric: null, heldOutMetric: null, selfReported: false, reason: `harness error: ${(error as Error).message}`, dataTampered: false, timings };
  } finally {
    if (id >= 0 && signal.aborted) await killLeftovers(ctx, id);
    // The slot is free once the processes are gone; the worktree goes in the background (a leftover is removed on resume).
    const removal: Promise<void> = git.removeWorktree(ctx.paths.projectDir, worktree)
      .catch(() => undefined)
      .finally(() => ctx.cleanups.delete(removal));
    ctx.cleanups.add(removal);
  }
}

/** Waits for the background work of finished experiments (worktree removals). */
export async function settleCleanups(ctx: Pick<SessionContext, "cleanups">): Promise<void> {
  while (ctx.cleanups.size > 0) await Promise.all([...ctx.cleanups]);
}

/** Commits the candidate's files (the worktree's HEAD stays at the parent), diffs it, and guards scope and duplicates. */
async function commitCandidate(ctx: SessionContext, worktree: string, parentCommit: string, job: Extract<Job, { kind: "candidate" }>) {
  const message = `${job.description}\n\n${job.hypothesis}\n\nautoresearch: tag ${ctx.tag}, proposer ${job.proposer}`;
  const { commit, tree } = await git.commitWorktree(worktree, message, parentCommit);
  const { patch: diff, changes } = await git.diffWithChanges(ctx.paths.projectDir, parentCommit, commit);
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

/**
 * Hashes of the protected files and of every file the candidate commit tracks, as they are in its
 * worktree: unsandboxed, a phase could rewrite the evaluator or its own committed code (so that what is
 * scored is not what was committed); in the sandbox they are read-only, and this confirms it.
 */
async function hashCode(ctx: SessionContext, worktree: string, commit: string): Promise<Record<string, string>> {
  const files = new Set([...(await protectedFiles(worktree, ctx.protectedGlobs, ALWAYS_EXCLUDED_DIRS)), ...(await git.listFilesAt(worktree, commit))]);
  return hashTree(worktree, [...files]);
}

async function checkData(ctx: SessionContext): Promise<string | null> {
  if (!ctx.dataSnapshot) return null;
  const problems = await verifySnapshot(ctx.paths.dataDir, ctx.dataSnapshot);
  return problems.length > 0 ? `prepared data does not match its checksums: ${problems.slice(0, 5).join("; ")}` : null;
}

/** A model server learns nothing of the data: no data directory, no metrics path. */
function serverEnvironment(env: Record<string, string>): Record<string, string> {
  const { [ENV_DATA_DIR]: _data, [ENV_METRICS_FILE]: _metrics, ...rest } = env;
  return rest;
}

function phaseFailure(phase: string, result: PhaseResult, timeoutSeconds: number): { status: Exclude<ExperimentStatus, "running">; reason: string } | null {
  if (result.aborted) return { status: "interrupted", reason: `${phase} was interrupted (the harness was stopped)` };
  if (result.timedOut) return { status: "timeout", reason: `${phase} ran past its hard limit of ${timeoutSeconds}s and was killed` };
  if (result.exitCode !== 0) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
    return { status: "crash", reason: `${phase} ${how}` };
  }
  return null;
}

async function killLeftovers(ctx: SessionContext, id: number): Promise<void> {
  await killMarkedProcesses(runMarker(ctx, id));
}

export function logTail(logPath: string): string {
  return existsSync(logPath) ? readLogTail(logPath, { maxLines: 40, maxBytes: 8192 }) : "";
}


