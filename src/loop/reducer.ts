// The decision after an experiment, as a pure reducer: decide(state, outcome, policy) says what the
// session's state becomes, what the ledger must record (one transaction), where the branch moves,
// which events follow and what runs next. No I/O and no clock (the time comes in as `at`):
// apply.ts gathers the inputs, commits the patch, moves the ref, then emits. Unit-tested with plain values.
import type { EventOf } from "../events/types.ts";
import type { ExperimentPatch, FinishPatch, LedgerExperiment, SessionPatch } from "../ledger/sqlite.ts";
import type { ReviewFlag } from "../core/experiment.ts";
import type { SessionRecord } from "../core/session.ts";
import type { AcceptancePolicy } from "./decide.ts";
import { confirmationJob, type ExperimentOutcome, type Job } from "./experiment.ts";
import { estimateNoise } from "./noise.ts";

/** A would-be keep waiting for its confirmation run: what the confirmation is judged with. */
export interface AwaitingConfirmation {
  id: number;
  metric: number;
  commit: string;
  description: string;
}

export interface BestState {
  /** The best's commit (the session's base until something is kept). */
  commit: string;
  /** The best metric (the baseline's mean until something is kept); null until the baseline is complete. */
  metric: number | null;
  experimentId: number | null;
  noiseSigma: number | null;
  /** Repeated measurements of the same code, for the noise estimate: [0] the baseline runs, then each confirmation pair. */
  noiseGroups: number[][];
  /** Would-be keeps whose confirmation has not been decided, oldest first. */
  awaiting: AwaitingConfirmation[];
  /** Failed experiments in a row (crash, timeout, no_metric, invalid, rejected); an ok result resets it, an interrupted one leaves it. */
  consecutiveFailures: number;
}

export interface DecisionPolicy {
  acceptance: AcceptancePolicy;
  direction: "min" | "max";
  metricName: string;
  /** How many runs of the unchanged code make the baseline (1 for greedy). */
  baselineRuns: number;
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
  | EventOf<"noise_estimated">;

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
  /** What to run next because of this result: the confirmation of a would-be keep; null when nothing. */
  followUp: Job | null;
}

export function decide(state: BestState, input: DecisionInput, policy: DecisionPolicy): Decided {
  const { outcome, at } = input;
  const { id, job } = outcome;
  const finish: FinishPatch = {
    status: outcome.status, metric: outcome.metric, heldOutMetric: outcome.heldOutMetric, selfReported: outcome.selfReported,
    flags: input.flags, reason: outcome.reason, timings: outcome.timings, finishedAt: at,
  };
  const finished: DecisionEvent = {
    type: "experiment_finished", at, id, status: outcome.status, metric: outcome.metric, heldOutMetric: outcome.heldOutMetric,
    selfReported: outcome.selfReported, wallMs: outcome.timings.totalMs ?? 0, reason: outcome.reason ?? undefined,
    ...(input.flags.length > 0 ? { flags: input.flags } : {}),
  };
  const counted = { ...state, consecutiveFailures: countFailures(state.consecutiveFailures, outcome.status) };
  const none = { ref: null, followUp: null };

  // A measurement (finalize's re-scores and ablations) is recorded and decides nothing; a failed one is
  // not the proposers' failure, so it leaves the count of failures in a row alone.
  if (job.kind === "rescore" || job.kind === "ablation") {
    return { ...none, state, ledger: { finish: { id, patch: finish }, amend: null, session: null }, events: [finished] };
  }
  if (outcome.status !== "ok") {
    if (job.kind !== "confirmation") return { ...none, state: counted, ledger: { finish: { id, patch: finish }, amend: null, session: null }, events: [finished] };
    const rationale = `confirmation run ${id} ended ${outcome.status}: not kept`;
    return {
      ...none,
      state: { ...counted, awaiting: counted.awaiting.filter((each) => each.id !== job.confirms) },
      ledger: { finish: { id, patch: finish }, amend: { id: job.confirms, patch: { decision: "discard", rationale } }, session: null },
      events: [finished, decisionEvent(at, job.confirms, "discard", null, state.metric, rationale)],
    };
  }
  const metric = outcome.metric!;
  if (job.kind === "baseline") return baselineRun(counted, input, policy, finish, finished, metric);

  const original = job.kind === "confirmation" ? awaitedOriginal(state, job.confirms) : null;
  const runs = original === null ? [metric] : [original.metric, metric];
  const noiseGroups = original === null ? state.noiseGroups : [...state.noiseGroups, runs];
  const noiseSigma = original === null ? state.noiseSigma : estimateNoise(noiseGroups).sigma;
  const judged = policy.acceptance.decide({
    direction: policy.direction, best: state.metric, noiseSigma: state.noiseSigma, runs,
    metricName: policy.metricName, noiseSamples: estimateNoise(state.noiseGroups).samples,
  });
  const bestBefore = state.metric;
  const delta = bestBefore === null ? null : judged.metric - bestBefore;
  const commit = outcome.candidateCommit!;

  if (judged.decision === "confirm") {
    return {
      state: { ...counted, awaiting: [...counted.awaiting, { id, metric, commit, description: job.description }] },
      ledger: { finish: { id, patch: { ...finish, decision: null, rationale: judged.rationale, bestBefore, delta } }, amend: null, session: null },
      ref: null,
      events: [finished, decisionEvent(at, id, "confirm", metric, bestBefore, judged.rationale)],
      followUp: confirmationJob(id, commit, job.description),
    };
  }
  const decision = judged.decision;
  const decidedId = original === null ? id : original.id;
  const settled: BestState = {
    ...counted, noiseGroups, noiseSigma,
    awaiting: original === null ? counted.awaiting : counted.awaiting.filter((each) => each.id !== original.id),
  };
  const ledger: LedgerPatch = {
    finish: { id, patch: { ...finish, decision, rationale: judged.rationale, bestBefore, delta } },
    amend: original === null ? null : { id: original.id, patch: { decision, rationale: judged.rationale } },
    session: decision === "keep"
      ? { bestCommit: commit, bestMetric: judged.metric, bestExperimentId: decidedId, noiseSigma }
      : { noiseSigma },
  };
  const events: DecisionEvent[] = [finished, decisionEvent(at, decidedId, decision, judged.metric, bestBefore, judged.rationale)];
  if (decision !== "keep") return { ...none, state: settled, ledger, events };
  events.push({ type: "best_updated", at, id: decidedId, commit, metric: judged.metric, previous: bestBefore });
  return {
    state: { ...settled, commit, metric: judged.metric, experimentId: decidedId },
    ledger, ref: { commit }, events, followUp: null,
  };
}

/** The state a session resumes with, from its ledger rows (oldest first) and its record. */
export function stateFromLedger(session: Pick<SessionRecord, "bestCommit" | "bestMetric" | "bestExperimentId" | "noiseSigma">, rows: readonly LedgerExperiment[]): BestState {
  const ok = rows.filter((row) => row.status === "ok");
  const noiseGroups: number[][] = [ok.filter((row) => row.kind === "baseline").map((row) => row.metric!)];
  for (const row of ok) {
    if (row.kind !== "confirmation" || row.confirms === null) continue;
    const original = ok.find((other) => other.id === row.confirms);
    if (original?.metric != null) noiseGroups.push([original.metric, row.metric!]);
  }
  const awaiting = ok
    .filter((row) => row.kind === "candidate" && row.decision === null && row.candidateCommit !== null && row.metric !== null)
    .map((row) => ({ id: row.id, metric: row.metric!, commit: row.candidateCommit!, description: row.description }));
  return {
    commit: session.bestCommit, metric: session.bestMetric, experimentId: session.bestExperimentId, noiseSigma: session.noiseSigma,
    noiseGroups, awaiting, consecutiveFailures: 0,
  };
}

/** On resume: the confirmation runs that did not happen before the harness stopped, oldest first. */
export function pendingConfirmations(state: BestState): Job[] {
  return state.awaiting.map((each) => confirmationJob(each.id, each.commit, each.description));
}

function baselineRun(state: BestState, input: DecisionInput, policy: DecisionPolicy, finish: FinishPatch, finished: DecisionEvent, metric: number): Decided {
  const { at, outcome } = input;
  const baselines = [...state.noiseGroups[0] ?? [], metric];
  const noiseGroups = [baselines, ...state.noiseGroups.slice(1)];
  const rationale = `baseline run ${baselines.length} of ${policy.baselineRuns}`;
  const none = { ref: null, followUp: null };
  if (baselines.length < policy.baselineRuns) {
    return { ...none, state: { ...state, noiseGroups }, ledger: { finish: { id: outcome.id, patch: { ...finish, rationale } }, amend: null, session: null }, events: [finished] };
  }
  const mean = baselines.reduce((sum, value) => sum + value, 0) / baselines.length;
  const noiseSigma = estimateNoise(noiseGroups).sigma;
  const events: DecisionEvent[] = [finished];
  if (noiseSigma !== null) events.push({ type: "noise_estimated", at, sigma: noiseSigma, samples: baselines.length, baseline: mean });
  events.push({ type: "best_updated", at, id: outcome.id, commit: state.commit, metric: mean, previous: null });
  return {
    ...none,
    state: { ...state, noiseGroups, noiseSigma, metric: mean },
    ledger: {
      finish: { id: outcome.id, patch: { ...finish, rationale: `${rationale}; baseline = mean ${mean}` } },
      amend: null,
      session: { bestMetric: mean, noiseSigma, bestExperimentId: null },
    },
    events,
  };
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
