// After an experiment: gather (harness self-check, review flags) -> decide (the pure reducer,
// loop/reducer.ts) -> apply: one ledger transaction, then the git ref, then the events, each
// carrying the row as committed. The ledger is the source of truth: if the harness dies between the
// commit and the ref, resume re-points the branch at the ledger's best (see session.ts reconcile).
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { EngineEvent } from "../events/types.ts";
import type { CommittedDecision } from "../ledger/sqlite.ts";
import type { ExperimentRecord, ReviewFlag } from "../core/experiment.ts";
import { ResultsTsvFile } from "../ledger/results-tsv.ts";
import { baselineRunsFor, remeasurePlanFor, type AcceptancePolicy } from "./decide.ts";
import { SelfReportedScanner } from "../job/metrics.ts";
import { reviewFlags } from "./review-flags.ts";
import { pruneOutputs } from "./outputs.ts";
import { checkHarnessState, moveBranch } from "./self-check.ts";
import type { ExperimentOutcome, Job } from "./experiment.ts";
import { decide, stateFromLedger, type BestState, type Decided, type DecisionEvent, type DecisionPolicy } from "./reducer.ts";
import { isoAt, type SessionContext } from "./context.ts";
import { applySharedOutcome } from "./share.ts";
import { decideCascade, isCascadeOutcome } from "./cascade-decide.ts";

export type { BestState } from "./reducer.ts";

/** The session's decision state as its ledger holds it (a new session's, or a resumed one's). */
export function gatherState(ctx: SessionContext): BestState {
  return stateFromLedger(ctx.ledger.getSession(ctx.tag)!, ctx.ledger.listExperiments({ tag: ctx.tag, order: "asc" }));
}

/** The reducer's policy for this session: the acceptance policy, the metric's name and direction, the baseline's size. */
export function decisionPolicy(ctx: SessionContext, acceptance: AcceptancePolicy): DecisionPolicy {
  return {
    acceptance, direction: ctx.config.metric.direction, metricName: ctx.config.metric.name,
    baselineRuns: baselineRunsFor(ctx.config.acceptance), remeasure: remeasurePlanFor(ctx.config.acceptance),
  };
}

/** Applies one experiment's decision; `state` is updated in place (the proposal queue reads it). Returns what to run next. */
export async function applyOutcome(
  ctx: SessionContext,
  policy: DecisionPolicy,
  state: BestState,
  outcome: ExperimentOutcome,
): Promise<{ followUps: Job[] }> {
  // A shared study (#11): the study's database records and judges first (loop/share.ts).
  if (ctx.share) return applySharedOutcome(ctx, policy, state, outcome, sharedHooks(ctx));
  await checkHarnessState(ctx, state.commit);
  // A smoke metric is never held against full-budget numbers, not even for a review flag.
  const flags = outcome.status === "ok" && outcome.metric !== null && outcome.job.kind !== "smoke" ? flagsFor(ctx, state, outcome) : [];
  const input = { outcome, flags, at: isoAt(ctx.clock) };
  // The cascade's smoke runs and screened candidates are decided beside the reducer (cascade-decide.ts), as purely.
  const decided = isCascadeOutcome(input) ? decideCascade(state, input) : decide(state, input, policy);
  const committed = ctx.ledger.commitDecision(decided.ledger);
  Object.assign(state, decided.state);
  await publish(ctx, decided, committed);
  refreshResultsTsv(ctx, { durable: false, changed: [committed.finished, committed.amended] });
  pruneOutputs(ctx);
  return { followUps: decided.followUps };
}

function sharedHooks(ctx: SessionContext) {
  return {
    flags: (state: BestState, outcome: ExperimentOutcome) => flagsFor(ctx, state, outcome),
    publish: (decided: Decided, committed: CommittedDecision) => publish(ctx, decided, committed),
    settle: (committed: CommittedDecision) => {
      refreshResultsTsv(ctx, { durable: false, changed: [committed.finished, committed.amended] });
      pruneOutputs(ctx);
    },
  };
}

const published = new WeakMap<SessionContext, Promise<void>>();

/**
 * The ref, then the events, one decision after another in commit order: experiments of several
 * slots finish concurrently, and a later decision must not be announced before an earlier keep.
 */
function publish(ctx: SessionContext, decided: Decided, committed: CommittedDecision): Promise<void> {
  const step = async () => {
    if (decided.ref !== null) {
      const { commit } = decided.ref;
      await moveBranch(ctx, commit).catch((error: unknown) => {
        ctx.bus.emit({ type: "warning", at: isoAt(ctx.clock), message: `could not move ${ctx.branch} to ${commit}: ${(error as Error).message} (the next run re-points it)` });
      });
    }
    for (const event of decided.events) ctx.bus.emit(withCommittedRow(event, committed));
  };
  const next = (published.get(ctx) ?? Promise.resolve()).then(step);
  published.set(ctx, next.catch(() => undefined));
  return next;
}

// results.tsv per session, kept in step after each decision (ledger/results-tsv.ts): a decision formats only
// the rows it committed and, in the usual case, appends them, instead of rewriting every row of a long session.
const resultsFiles = new WeakMap<SessionContext, ResultsTsvFile>();

/**
 * Writes results.tsv: whole from every row of the ledger, or after a decision from the rows it `changed`
 * (`durable: false` there: the ledger is what must survive a power loss; the stop's rewrite is flushed).
 */
export function refreshResultsTsv(ctx: SessionContext, { durable = true, changed }: { durable?: boolean; changed?: readonly (ExperimentRecord | null)[] } = {}): void {
  let file = resultsFiles.get(ctx);
  if (file && changed) return file.update(changed);
  file ??= new ResultsTsvFile(ctx.paths.resultsTsv, { metricName: ctx.config.metric.name, heldOutName: ctx.config.metric.heldOut });
  resultsFiles.set(ctx, file);
  file.reset(ctx.ledger.listExperiments({ tag: ctx.tag, order: "asc" }), { durable });
}

function withCommittedRow(event: DecisionEvent, committed: CommittedDecision): EngineEvent {
  if (event.type !== "experiment_finished" && event.type !== "decision") return event;
  const row = [committed.finished, committed.amended].find((each) => each !== null && each.id === event.id);
  return row ? { ...event, row } : event;
}

/** The review flags of an ok result (rules in review-flags.ts), against the session's baseline runs and best so far. */
function flagsFor(ctx: SessionContext, state: BestState, outcome: ExperimentOutcome): ReviewFlag[] {
  const baselines = ctx.ledger.listExperiments({ tag: ctx.tag, status: ["ok"], kind: ["baseline"] }).filter((row) => row.id !== outcome.id);
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
    // A chunk no larger than the log (most are a few kB): a fresh megabyte per experiment costs more than the scan.
    const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(1 << 20, fstatSync(fd).size)));
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
