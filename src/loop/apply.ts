// After an experiment: decide (pure policy) and apply — one ledger transaction, then the git ref.
// The ledger is the source of truth: if the harness dies between the two, resume re-points the
// branch at the ledger's best (see session.ts reconcile).
import type { FinishPatch } from "../ledger/sqlite.ts";
import { writeResultsTsv } from "../ledger/results-tsv.ts";
import type { AcceptancePolicy } from "./decide.ts";
import { estimateNoise } from "./noise.ts";
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
  const base: FinishPatch = {
    status: outcome.status,
    metric: outcome.metric,
    heldOutMetric: outcome.heldOutMetric,
    selfReported: outcome.selfReported,
    reason: outcome.reason,
    timings: outcome.timings,
    finishedAt: isoAt(ctx.clock),
  };
  emitFinished(ctx, outcome);
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

function emitFinished(ctx: SessionContext, outcome: ExperimentOutcome): void {
  ctx.bus.emit({
    type: "experiment_finished", at: isoAt(ctx.clock), id: outcome.id, status: outcome.status, metric: outcome.metric,
    heldOutMetric: outcome.heldOutMetric, selfReported: outcome.selfReported, wallMs: outcome.timings.totalMs ?? 0,
    reason: outcome.reason ?? undefined,
  });
}

function emitDecision(ctx: SessionContext, id: number, decision: "keep" | "discard" | "confirm", metric: number | null, best: number | null, rationale: string): void {
  const delta = metric !== null && best !== null ? metric - best : null;
  ctx.bus.emit({ type: "decision", at: isoAt(ctx.clock), id, decision, metric, best, delta, rationale });
}
