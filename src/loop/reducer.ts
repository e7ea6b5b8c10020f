// The decision after an experiment, as a pure reducer: decide(state, outcome, policy) says what the
// session's state becomes, what the ledger must record (one transaction), where the branch moves,
// which events follow and what runs next. No I/O and no clock (the time comes in as `at`):
// apply.ts gathers the inputs, commits the patch, moves the ref, then emits. Unit-tested with plain values.
import type { EventOf } from "../events/types.ts";
import type { ExperimentPatch, FinishPatch, LedgerExperiment, SessionPatch } from "../ledger/sqlite.ts";
import type { MeasurementKind, ReviewFlag } from "../core/experiment.ts";
import type { SessionRecord } from "../core/session.ts";
import { studentTQuantile } from "../stats/distributions.ts";
import { formatNumber, type AcceptancePolicy, type RemeasurePlan } from "./decide.ts";
import type { ExperimentOutcome } from "./experiment.ts";
import { confirmationJob, type Job } from "./jobs.ts";
import { estimateNoise, type NoiseEstimate } from "./noise.ts";

/** A candidate that needs more runs before it is decided: what its next run is judged with. */
export interface AwaitingConfirmation {
  id: number;
  /** Its metric so far: the first run's, or the mean of its runs. */
  metric: number;
  /** Every run so far, the candidate's own first. */
  runs: number[];
  commit: string;
  description: string;
}

export interface BestState {
  /** The best's commit (the session's base until something is kept). */
  commit: string;
  /** The best metric: the mean of `bestRuns` when there are any, else the kept candidate's own; null until the baseline is complete. */
  metric: number | null;
  experimentId: number | null;
  noiseSigma: number | null;
  /** Fresh runs of the best's code that decided nothing about it: the baseline runs, or a kept candidate's re-measures. */
  bestRuns: number[];
  /** How many runs the kept candidate's own value is the mean of, while it has no re-measures yet. */
  keptRuns: number;
  /** Closed groups of repeated measurements of one code (a former best's runs, a decided candidate's runs), for the noise estimate. */
  noiseGroups: number[][];
  /** Candidates waiting for another run, oldest first. */
  awaiting: AwaitingConfirmation[];
  /** Failed experiments in a row (crash, timeout, no_metric, invalid, rejected); an ok result resets it, an interrupted one leaves it. */
  consecutiveFailures: number;
  /** Candidates decided since the best was last re-measured (the periodic re-measure counts them). */
  sinceRemeasure: number;
}

export interface DecisionPolicy {
  acceptance: AcceptancePolicy;
  direction: "min" | "max";
  metricName: string;
  /** How many runs of the unchanged code make the baseline (1 for greedy). */
  baselineRuns: number;
  /** Fresh runs of the best (sequential); all zero for the other policies, whose best is the winning runs' mean. */
  remeasure?: RemeasurePlan;
}

/** What the experiment produced, plus what the gathering step found out about it. */
export interface DecisionInput {
  outcome: ExperimentOutcome;
  /** Review flags of an ok result (loop/review-flags.ts); they change no decision. */
  flags: ReviewFlag[];
  /** ISO time of the decision: the rows' finishedAt and every event's `at`. */
  at: string;
}

/** The events a decision produces; apply.ts adds the committed row to experiment_finished and decision. */
export type DecisionEvent =
  | Omit<EventOf<"experiment_finished">, "row">
  | Omit<EventOf<"decision">, "row">
  | EventOf<"best_updated">
  | EventOf<"best_remeasured">
  | EventOf<"noise_estimated">
  | EventOf<"warning">;

export interface LedgerPatch {
  /** The experiment's finish fields: running → its status, in the same transaction as the rest. */
  finish: { id: number; patch: FinishPatch };
  /** The original of a confirmation, amended with the decision the confirmation made; null otherwise. */
  amend: { id: number; patch: ExperimentPatch } | null;
  /** The session's new best and noise; null when neither changes. */
  session: SessionPatch | null;
}

export interface Decided {
  state: BestState;
  ledger: LedgerPatch;
  /** Where the session's branch moves (after the ledger committed); null when the best did not change. */
  ref: { commit: string } | null;
  events: DecisionEvent[];
  /** What to run next because of this result, before any new candidate: another run of a candidate, re-measures of the best. */
  followUps: Job[];
}

/** What every finished experiment records and announces, whatever is decided about it. */
export function finishOf(input: DecisionInput): { finish: FinishPatch; finished: DecisionEvent } {
  const { outcome, at } = input;
  return {
    finish: {
      status: outcome.status, metric: outcome.metric, heldOutMetric: outcome.heldOutMetric, selfReported: outcome.selfReported,
      flags: input.flags, reason: outcome.reason, timings: outcome.timings, finishedAt: at,
    },
    finished: {
      type: "experiment_finished", at, id: outcome.id, status: outcome.status, metric: outcome.metric, heldOutMetric: outcome.heldOutMetric,
      selfReported: outcome.selfReported, wallMs: outcome.timings.totalMs ?? 0, reason: outcome.reason ?? undefined,
      ...(input.flags.length > 0 ? { flags: input.flags } : {}),
    },
  };
}

export function decide(state: BestState, input: DecisionInput, policy: DecisionPolicy): Decided {
  const { outcome, at } = input;
  const { id, job } = outcome;
  const { finish, finished } = finishOf(input);
  const none = { ref: null, followUps: [] };

  // A measurement (finalize's re-scores and ablations, a re-measure that failed) is recorded and decides
  // nothing; a failed one is not the proposers' failure, so it leaves the count of failures in a row alone.
  if (job.kind === "rescore" || job.kind === "ablation" || (job.kind === "remeasure" && outcome.status !== "ok")) {
    return { ...none, state, ledger: { finish: { id, patch: finish }, amend: null, session: null }, events: [finished] };
  }
  const counted = { ...state, consecutiveFailures: countFailures(state.consecutiveFailures, outcome.status) };
  if (outcome.status !== "ok") {
    if (job.kind !== "confirmation") return { ...none, state: counted, ledger: { finish: { id, patch: finish }, amend: null, session: null }, events: [finished] };
    const original = awaitedOriginal(state, job.confirms);
    const rationale = `confirmation run ${id} ended ${outcome.status}: not kept`;
    return {
      ...none,
      state: { ...counted, awaiting: counted.awaiting.filter((each) => each.id !== job.confirms), noiseGroups: closeGroup(counted.noiseGroups, original.runs) },
      ledger: { finish: { id, patch: finish }, amend: { id: job.confirms, patch: { decision: "discard", rationale } }, session: null },
      events: [finished, decisionEvent(at, job.confirms, "discard", null, state.metric, rationale)],
    };
  }
  const metric = outcome.metric!;
  if (job.kind === "baseline") return baselineRun(counted, input, policy, finish, finished, metric);
  if (job.kind === "remeasure") return remeasureRun(counted, input, policy, finish, finished, metric);

  const original = job.kind === "confirmation" ? awaitedOriginal(state, job.confirms) : null;
  const runs = original === null ? [metric] : [...original.runs, metric];
  const before = noiseOf(state);
  // Sequential judges with every repeated measurement so far, this candidate's runs included; the
  // one-bar policies keep their rule: the σ known before the candidate.
  const sequential = policy.acceptance.name === "sequential";
  const judgedNoise = sequential ? estimateNoise([...state.noiseGroups, state.bestRuns, runs]) : before;
  const judged = policy.acceptance.decide({
    direction: policy.direction, best: state.metric, noiseSigma: judgedNoise.sigma, runs,
    metricName: policy.metricName, noiseSamples: judgedNoise.samples, noiseDegreesOfFreedom: judgedNoise.degreesOfFreedom,
    bestRuns: bestRunCount(state),
  });
  const bestBefore = state.metric;
  const delta = bestBefore === null ? null : judged.metric - bestBefore;
  const commit = original === null ? outcome.candidateCommit! : original.commit;
  const decidedId = original === null ? id : original.id;
  const others = counted.awaiting.filter((each) => each.id !== decidedId);

  if (judged.decision === "confirm") {
    const waiting: AwaitingConfirmation = { id: decidedId, metric: judged.metric, runs, commit, description: original?.description ?? job.description };
    return {
      state: { ...counted, awaiting: [...others, waiting] },
      ledger: {
        finish: { id, patch: { ...finish, decision: null, rationale: judged.rationale, bestBefore, delta } },
        amend: original === null ? null : { id: original.id, patch: { rationale: judged.rationale } },
        session: null,
      },
      ref: null,
      events: [finished, decisionEvent(at, id, "confirm", judged.metric, bestBefore, judged.rationale)],
      followUps: [confirmationJob(decidedId, commit, waiting.description)],
    };
  }
  const decision = judged.decision;
  const closedGroups = closeGroup(state.noiseGroups, runs);
  const settled: BestState = { ...counted, awaiting: others, noiseGroups: closedGroups, sinceRemeasure: counted.sinceRemeasure + 1 };
  const ledger: LedgerPatch = {
    finish: { id, patch: { ...finish, decision, rationale: judged.rationale, bestBefore, delta } },
    amend: original === null ? null : { id: original.id, patch: { decision, rationale: judged.rationale } },
    session: null,
  };
  const events: DecisionEvent[] = [finished, decisionEvent(at, decidedId, decision, judged.metric, bestBefore, judged.rationale)];
  const plan = policy.remeasure ?? { afterKeep: 0, every: 0, upTo: 0 };
  if (decision !== "keep") {
    const noiseSigma = noiseOf(settled).sigma;
    ledger.session = { noiseSigma };
    const periodic = plan.every > 0 && settled.sinceRemeasure >= plan.every && state.bestRuns.length < plan.upTo && state.metric !== null;
    return {
      ...none, ledger, events,
      state: { ...settled, noiseSigma, sinceRemeasure: periodic ? 0 : settled.sinceRemeasure },
      followUps: periodic ? [remeasureJob(state)] : [],
    };
  }
  // The former best's fresh runs become a closed group; the new best starts with none of its own.
  const kept: BestState = {
    ...settled, commit, metric: judged.metric, experimentId: decidedId, bestRuns: [], keptRuns: runs.length, sinceRemeasure: 0,
    noiseGroups: closeGroup(closedGroups, state.bestRuns),
  };
  const noiseSigma = noiseOf(kept).sigma;
  ledger.session = { bestCommit: commit, bestMetric: judged.metric, bestExperimentId: decidedId, noiseSigma };
  events.push({ type: "best_updated", at, id: decidedId, commit, metric: judged.metric, previous: bestBefore });
  return {
    state: { ...kept, noiseSigma },
    ledger, ref: { commit }, events,
    followUps: Array.from({ length: plan.afterKeep }, () => remeasureJob(kept)),
  };
}

/** The state a session resumes with, from its ledger rows (oldest first) and its record. */
export function stateFromLedger(session: Pick<SessionRecord, "bestCommit" | "bestMetric" | "bestExperimentId" | "noiseSigma">, rows: readonly LedgerExperiment[]): BestState {
  const ok = rows.filter((row) => row.status === "ok" && row.metric !== null);
  // Indexed once: a night of short experiments leaves tens of thousands of rows, and each candidate asks for its runs.
  const okById = new Map(ok.map((row) => [row.id, row]));
  const confirmationsOf = new Map<number, number[]>();
  for (const row of ok) {
    if (row.kind !== "confirmation" || row.confirms === null) continue;
    const runs = confirmationsOf.get(row.confirms);
    if (runs) runs.push(row.metric!);
    else confirmationsOf.set(row.confirms, [row.metric!]);
  }
  const runsOf = (id: number) => {
    const original = okById.get(id);
    return original === undefined ? [] : [original.metric!, ...confirmationsOf.get(id) ?? []];
  };
  // Fresh runs of each code that decided nothing about it: the base's baselines (and its re-measures), each kept candidate's re-measures.
  const freshRuns = new Map<number | null, number[]>([[null, ok.filter((row) => row.kind === "baseline").map((row) => row.metric!)]]);
  for (const row of ok.filter((each) => each.kind === "remeasure")) freshRuns.set(row.confirms, [...freshRuns.get(row.confirms) ?? [], row.metric!]);
  const bestRuns = freshRuns.get(session.bestExperimentId) ?? [];
  const noiseGroups: number[][] = [];
  for (const [of, runs] of freshRuns) if (of !== session.bestExperimentId && runs.length >= 2) noiseGroups.push(runs);
  const candidates = ok.filter((row) => row.kind === "candidate" && row.candidateCommit !== null);
  for (const row of candidates) if (row.decision !== null) noiseGroups.push(runsOf(row.id));
  const awaiting = candidates
    .filter((row) => row.decision === null)
    .map((row) => {
      const runs = runsOf(row.id);
      return { id: row.id, metric: mean(runs), runs, commit: row.candidateCommit!, description: row.description };
    });
  const keptRuns = session.bestExperimentId === null ? 0 : runsOf(session.bestExperimentId).length;
  return {
    commit: session.bestCommit, metric: session.bestMetric, experimentId: session.bestExperimentId, noiseSigma: session.noiseSigma,
    bestRuns, keptRuns, noiseGroups: noiseGroups.filter((group) => group.length >= 2), awaiting, consecutiveFailures: 0, sinceRemeasure: 0,
  };
}

/** On resume: the runs that did not happen before the harness stopped: candidates' next runs, the new best's missing re-measures. */
export function pendingFollowUps(state: BestState, policy: Pick<DecisionPolicy, "remeasure">): Job[] {
  const confirmations = state.awaiting.map((each) => confirmationJob(each.id, each.commit, each.description));
  const missing = state.experimentId === null ? 0 : Math.max(0, (policy.remeasure?.afterKeep ?? 0) - state.bestRuns.length);
  return [...confirmations, ...Array.from({ length: missing }, () => remeasureJob(state))];
}

/** The noise estimate from every repeated measurement the state holds. */
export function noiseOf(state: Pick<BestState, "noiseGroups" | "bestRuns">): NoiseEstimate {
  return estimateNoise([...state.noiseGroups, state.bestRuns]);
}

/** How many runs the best's value is the mean of. */
export function bestRunCount(state: Pick<BestState, "bestRuns" | "keptRuns">): number {
  return state.bestRuns.length > 0 ? state.bestRuns.length : Math.max(1, state.keptRuns);
}

function baselineRun(state: BestState, input: DecisionInput, policy: DecisionPolicy, finish: FinishPatch, finished: DecisionEvent, metric: number): Decided {
  const { at, outcome } = input;
  const baselines = [...state.bestRuns, metric];
  const rationale = `baseline run ${baselines.length} of ${policy.baselineRuns}`;
  const none = { ref: null, followUps: [] };
  if (baselines.length < policy.baselineRuns) {
    return { ...none, state: { ...state, bestRuns: baselines }, ledger: { finish: { id: outcome.id, patch: { ...finish, rationale } }, amend: null, session: null }, events: [finished] };
  }
  const average = mean(baselines);
  const next: BestState = { ...state, bestRuns: baselines, metric: average };
  const noise = noiseOf(next);
  const events: DecisionEvent[] = [finished];
  if (noise.sigma !== null) events.push({ type: "noise_estimated", at, sigma: noise.sigma, samples: noise.samples, baseline: average, degreesOfFreedom: noise.degreesOfFreedom });
  events.push({ type: "best_updated", at, id: outcome.id, commit: state.commit, metric: average, previous: null });
  return {
    ...none,
    state: { ...next, noiseSigma: noise.sigma },
    ledger: {
      finish: { id: outcome.id, patch: { ...finish, rationale: `${rationale}; baseline = mean ${average}` } },
      amend: null,
      session: { bestMetric: average, noiseSigma: noise.sigma, bestExperimentId: null },
    },
    events,
  };
}

/**
 * A fresh run of the best's code: the best's value becomes the mean of its fresh runs. A run far from
 * the earlier ones (beyond the 99% t bound) says the machine drifted (load, throttling): the session warns.
 */
function remeasureRun(state: BestState, input: DecisionInput, policy: DecisionPolicy, finish: FinishPatch, finished: DecisionEvent, metric: number): Decided {
  const { at, outcome } = input;
  const job = outcome.job as Extract<Job, { kind: MeasurementKind }>;
  const none = { ref: null, followUps: [] };
  // A re-measure of a best that was replaced meanwhile measures a former best: it only adds to the noise estimate.
  if (job.of !== state.experimentId || job.commit !== state.commit) {
    const rationale = `re-measure of ${job.of === null ? "the baseline" : `#${job.of}`}, no longer the best: recorded for the noise estimate`;
    return { ...none, state, ledger: { finish: { id: outcome.id, patch: { ...finish, rationale } }, amend: null, session: null }, events: [finished] };
  }
  const previous = state.bestRuns;
  const bestRuns = [...previous, metric];
  const average = mean(bestRuns);
  const next: BestState = { ...state, bestRuns, metric: average };
  const noise = noiseOf(next);
  const events: DecisionEvent[] = [finished];
  let rationale = `re-measure ${bestRuns.length} of the best: its value is now the mean of ${bestRuns.length} fresh run${bestRuns.length === 1 ? "" : "s"}, ${formatNumber(average)}`;
  // Judged with the noise known before this run: an outlier must not widen its own yardstick.
  const prior = noiseOf(state);
  if (previous.length >= 3 && prior.sigma !== null && prior.sigma > 0 && prior.degreesOfFreedom > 0) {
    const t = (metric - mean(previous)) / (prior.sigma * Math.sqrt(1 + 1 / previous.length));
    const bound = studentTQuantile(0.995, prior.degreesOfFreedom);
    if (Math.abs(t) > bound) {
      const drift = `the best's re-run ${formatNumber(metric)} is ${Math.abs(t).toFixed(1)} standard errors from its ${previous.length} earlier runs (mean ${formatNumber(mean(previous))}; bound ${bound.toFixed(1)}): the machine may be drifting (load, throttling, other jobs); decisions compare against the mean of all its runs`;
      rationale += `; ${drift}`;
      events.push({ type: "warning", at, message: drift });
    }
  }
  events.push({ type: "best_remeasured", at, id: outcome.id, of: job.of, commit: state.commit, metric: average, runs: bestRuns.length, previous: state.metric, sigma: noise.sigma, degreesOfFreedom: noise.degreesOfFreedom });
  return {
    ...none,
    state: { ...next, noiseSigma: noise.sigma },
    ledger: { finish: { id: outcome.id, patch: { ...finish, rationale } }, amend: null, session: { bestMetric: average, noiseSigma: noise.sigma } },
    events,
  };
}

function remeasureJob(state: Pick<BestState, "commit" | "experimentId">): Job {
  const what = state.experimentId === null ? "the baseline" : `best #${state.experimentId}`;
  return { kind: "remeasure", commit: state.commit, of: state.experimentId, description: `re-measure ${what}`, meta: null };
}

function closeGroup(groups: number[][], runs: readonly number[]): number[][] {
  return runs.length >= 2 ? [...groups, [...runs]] : groups;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function awaitedOriginal(state: BestState, id: number): AwaitingConfirmation {
  const original = state.awaiting.find((each) => each.id === id);
  if (original === undefined) throw new Error(`a confirmation of experiment ${id} finished, but ${id} is not awaiting one`);
  return original;
}

function countFailures(before: number, status: ExperimentOutcome["status"]): number {
  if (status === "ok") return 0;
  return status === "interrupted" ? before : before + 1;
}

function decisionEvent(at: string, id: number, decision: "keep" | "discard" | "confirm", metric: number | null, best: number | null, rationale: string): DecisionEvent {
  const delta = metric !== null && best !== null ? metric - best : null;
  return { type: "decision", at, id, decision, metric, best, delta, rationale };
}
