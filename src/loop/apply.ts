// After an experiment: decide (pure policy) and apply — one ledger transaction, then the git ref.
// The ledger is the source of truth: if the harness dies between the two, resume re-points the
// branch at the ledger's best (see session.ts reconcile).
import { closeSync, openSync, readSync } from "node:fs";
import type { FinishPatch } from "../ledger/sqlite.ts";
import type { ReviewFlag } from "../ledger/types.ts";
import { writeResultsTsv } from "../ledger/results-tsv.ts";
import type { AcceptancePolicy } from "./decide.ts";
import { SelfReportedScanner } from "../job/metrics.ts";
import { estimateNoise } from "./noise.ts";
import { reviewFlags } from "./review-flags.ts";
import { pruneOutputs } from "./outputs.ts";
import { checkHarnessState, moveBranch } from "./self-check.ts";
import { confirmationJob, type ExperimentOutcome, type Job } from "./experiment.ts";
import { isoAt, type SessionContext } from "./context.ts";

export interface BestState {
  commit: string;
  metric: number | null;
  experimentId: number | null;
  noiseSigma: number | null;
  /** Repeated measurements of the same code, for the noise estimate. */
  noiseGroups: number[][];
}

export async function applyOutcome(
  ctx: SessionContext,
  policy: AcceptancePolicy,
  state: BestState,
  outcome: ExperimentOutcome,
  baselineRuns: number,
): Promise<{ confirmation: Job | null }> {
  const { id, job } = outcome;
  await checkHarnessState(ctx, state.commit);
  const flags = outcome.status === "ok" ? flagsFor(ctx, state, outcome) : [];
  const base: FinishPatch = {
    status: outcome.status,
    metric: outcome.metric,
    heldOutMetric: outcome.heldOutMetric,
    selfReported: outcome.selfReported,
    flags,
    reason: outcome.reason,
    timings: outcome.timings,
    finishedAt: isoAt(ctx.clock),
  };
  emitFinished(ctx, outcome, flags);
  let confirmation: Job | null = null;

  if (outcome.status !== "ok") {
    ctx.ledger.finishExperiment(id, base);
    if (job.kind === "confirmation") {
      const rationale = `confirmation run ${id} ended ${outcome.status}: not kept`;
      ctx.ledger.updateExperiment(job.confirms, { decision: "discard", rationale });
      emitDecision(ctx, job.confirms, "discard", null, state.metric, rationale);
    }
  } else if (job.kind === "baseline") {
    const baselines = [...state.noiseGroups[0] ?? [], outcome.metric!];
    state.noiseGroups[0] = baselines;
    const rationale = `baseline run ${baselines.length} of ${baselineRuns}`;
    if (baselines.length >= baselineRuns) {
      const mean = baselines.reduce((sum, value) => sum + value, 0) / baselines.length;
      state.metric = mean;
      state.noiseSigma = estimateNoise(state.noiseGroups).sigma;
      ctx.ledger.finishExperiment(id, { ...base, rationale: `${rationale}; baseline = mean ${mean}` }, { bestMetric: mean, noiseSigma: state.noiseSigma, bestExperimentId: null });
      if (state.noiseSigma !== null) ctx.bus.emit({ type: "noise_estimated", at: isoAt(ctx.clock), sigma: state.noiseSigma, samples: baselines.length, baseline: mean });
      ctx.bus.emit({ type: "best_updated", at: isoAt(ctx.clock), id, commit: state.commit, metric: mean, previous: null });
    } else {
      ctx.ledger.finishExperiment(id, { ...base, rationale });
    }
  } else {
    const runs = job.kind === "confirmation" ? [ctx.ledger.getExperiment(job.confirms)!.metric!, outcome.metric!] : [outcome.metric!];
    const decided = policy.decide({
      direction: ctx.config.metric.direction, best: state.metric, noiseSigma: state.noiseSigma, runs,
      metricName: ctx.config.metric.name, noiseSamples: estimateNoise(state.noiseGroups).samples,
    });
    const bestBefore = state.metric;
    const delta = bestBefore === null ? null : decided.metric - bestBefore;
    if (job.kind === "confirmation") {
      state.noiseGroups.push(runs);
      state.noiseSigma = estimateNoise(state.noiseGroups).sigma;
    }
    if (decided.decision === "confirm") {
      ctx.ledger.finishExperiment(id, { ...base, decision: null, rationale: decided.rationale, bestBefore, delta });
      emitDecision(ctx, id, "confirm", outcome.metric, bestBefore, decided.rationale);
      confirmation = confirmationJob(id, outcome.candidateCommit!, job.description);
    } else {
      const decision = decided.decision;
      const keptId = job.kind === "confirmation" ? job.confirms : id;
      const commit = outcome.candidateCommit!;
      const sessionPatch = decision === "keep"
        ? { bestCommit: commit, bestMetric: decided.metric, bestExperimentId: keptId, noiseSigma: state.noiseSigma }
        : { noiseSigma: state.noiseSigma };
      // The new best lands in the same transaction as the decision; the original of a confirmation follows.
      ctx.ledger.finishExperiment(id, { ...base, decision, rationale: decided.rationale, bestBefore, delta }, sessionPatch);
      if (job.kind === "confirmation") ctx.ledger.updateExperiment(job.confirms, { decision, rationale: decided.rationale });
      emitDecision(ctx, keptId, decision, decided.metric, bestBefore, decided.rationale);
      if (decision === "keep") {
        const previous = state.metric;
        Object.assign(state, { commit, metric: decided.metric, experimentId: keptId });
        await moveBranch(ctx, commit).catch((error: unknown) => {
          ctx.bus.emit({ type: "warning", at: isoAt(ctx.clock), message: `could not move ${ctx.branch} to ${commit}: ${(error as Error).message} (the next run re-points it)` });
        });
        ctx.bus.emit({ type: "best_updated", at: isoAt(ctx.clock), id: keptId, commit, metric: decided.metric, previous });
      }
    }
  }
  refreshResultsTsv(ctx);
  pruneOutputs(ctx);
  return { confirmation };
}

export function refreshResultsTsv(ctx: SessionContext): void {
  const rows = ctx.ledger.listExperiments({ tag: ctx.tag, order: "asc" });
  writeResultsTsv(ctx.paths.resultsTsv, rows, { metricName: ctx.config.metric.name, heldOutName: ctx.config.metric.heldOut });
}

function emitFinished(ctx: SessionContext, outcome: ExperimentOutcome, flags: ReviewFlag[]): void {
  ctx.bus.emit({
    type: "experiment_finished", at: isoAt(ctx.clock), id: outcome.id, status: outcome.status, metric: outcome.metric,
    heldOutMetric: outcome.heldOutMetric, selfReported: outcome.selfReported, wallMs: outcome.timings.totalMs ?? 0,
    reason: outcome.reason ?? undefined, ...(flags.length > 0 ? { flags } : {}),
  });
}

/** The review flags of an ok result (rules in review-flags.ts), against the session's baseline runs and best so far. */
function flagsFor(ctx: SessionContext, state: BestState, outcome: ExperimentOutcome): ReviewFlag[] {
  const baselines = ctx.ledger.listExperiments({ tag: ctx.tag, status: ["ok"] }).filter((row) => row.kind === "baseline" && row.id !== outcome.id);
  const metrics = baselines.map((row) => row.metric).filter((value): value is number => value !== null);
  const evaluateTimes = baselines.map((row) => row.timings.evaluateMs).filter((value): value is number => typeof value === "number");
  const name = ctx.config.metric.name;
  const reported = ctx.ledger.getExperiment(outcome.id)?.secondary[`self_reported.${name}`];
  const logPath = ctx.ledger.getExperiment(outcome.id)?.logPath;
  const printed = reported ?? (ctx.config.evaluate && logPath ? printedInTrainLog(logPath, name) : null);
  return reviewFlags({
    metricName: name, direction: ctx.config.metric.direction, metric: outcome.metric!,
    baseline: metrics.length > 0 ? mean(metrics) : null, best: state.metric, noiseSigma: state.noiseSigma,
    evaluateMs: outcome.timings.evaluateMs ?? null, baselineEvaluateMs: evaluateTimes.length > 0 ? mean(evaluateTimes) : null,
    printedMetric: printed, selfReported: outcome.selfReported,
  });
}

/** The last `name: value` line the train phase printed (the log up to "--- evaluate:"), read in chunks; null if none. */
function printedInTrainLog(logPath: string, name: string): number | null {
  const scanner = new SelfReportedScanner();
  let fd: number;
  try {
    fd = openSync(logPath, "r");
  } catch {
    return null;
  }
  try {
    const buffer = Buffer.alloc(1 << 20);
    let partial = "";
    for (let position = 0; ;) {
      const bytes = readSync(fd, buffer, 0, buffer.length, position);
      if (bytes === 0) break;
      position += bytes;
      const lines = (partial + buffer.subarray(0, bytes).toString("latin1")).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith("--- evaluate: ")) return readingOf(scanner, name);
        scanner.push(line);
      }
    }
    scanner.push(partial);
  } finally {
    closeSync(fd);
  }
  return readingOf(scanner, name);
}

function readingOf(scanner: SelfReportedScanner, name: string): number | null {
  const reading = scanner.reading({ name, secondary: [] });
  return reading.kind === "ok" ? reading.metric : null;
}

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function emitDecision(ctx: SessionContext, id: number, decision: "keep" | "discard" | "confirm", metric: number | null, best: number | null, rationale: string): void {
  const delta = metric !== null && best !== null ? metric - best : null;
  ctx.bus.emit({ type: "decision", at: isoAt(ctx.clock), id, decision, metric, best, delta, rationale });
}
