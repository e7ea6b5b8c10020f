// Pure arithmetic over one session's probes: throughput against the ideal, and where the
// harness's time goes between the end of one experiment's processes and the next one's.
import type { ExperimentProbe, PhaseSpan } from "./probe.ts";

export interface ExperimentTrace extends ExperimentProbe {
  /** From the ledger (engine clock): worktree, commit, guard, ledger row, before experiment_started. */
  setupMs: number;
  /** From the ledger: the experiment's own wall time as the engine records it. */
  totalMs: number;
}

export interface Stats {
  mean: number;
  p95: number;
  count: number;
}

/** Where the time between two experiments on one slot goes (means, ms). */
export interface Breakdown {
  trainRunner: number;
  betweenPhases: number;
  evaluateRunner: number;
  afterEvaluate: number;
  handoff: number;
  setup: number;
  beforeTrain: number;
}

export interface ScenarioFigures {
  idealMs: number;
  slots: number;
  finished: number;
  /** All experiments (baseline included) / (last experiment_finished - first experiment_started), over slots x ideal rate. */
  sessionRatio: number;
  sessionWindowMs: number;
  /**
   * slots / the rate of training starts, measured from the first candidate's start over a whole
   * number of rounds (slots x j starts): the time each slot effectively spends per experiment.
   */
  effectiveCycleMs: number;
  /** ideal / effective cycle: the sustained rate once the loop runs (no baseline, no drain at the end). */
  steadyRatio: number;
  /** Per experiment: ledger totalMs minus the train and evaluate processes' wall time. */
  overheadMs: Stats;
  /** Per slot cycle minus the first experiment's train and evaluate processes' wall time. */
  cycleOverheadMs: Stats;
  trainWallMs: Stats;
  evaluateWallMs: Stats;
  breakdown: Breakdown;
}

export function stats(values: number[]): Stats {
  if (values.length === 0) return { mean: Number.NaN, p95: Number.NaN, count: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil(0.95 * sorted.length) - 1; // nearest-rank percentile
  return { mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length, p95: sorted[rank]!, count: sorted.length };
}

type Complete = ExperimentTrace & { train: PhaseSpan; evaluate: PhaseSpan; finishedAt: number };

function complete(trace: ExperimentTrace): trace is Complete {
  return trace.status === "ok" && trace.train !== null && trace.evaluate !== null && trace.finishedAt !== null;
}

const runnerMs = (span: PhaseSpan) => span.returnedAt - span.calledAt - span.processWallMs;

export function analyse(traces: ExperimentTrace[], slots: number, idealMs: number): ScenarioFigures {
  const finishedTraces = traces.filter((trace) => trace.finishedAt !== null);
  const firstStart = Math.min(...traces.map((trace) => trace.startedAt));
  const lastFinish = Math.max(...finishedTraces.map((trace) => trace.finishedAt!));
  const sessionWindowMs = lastFinish - firstStart;
  const sessionRatio = finishedTraces.length / sessionWindowMs / (slots / idealMs);

  const ok = traces.filter(complete);
  const overheads = ok.map((trace) => trace.totalMs - trace.train.processWallMs - trace.evaluate.processWallMs);

  // Back-to-back pairs on one slot. The pair after the baseline is left out: the first proposal
  // can only be made once the baseline's metric is known, so nothing could have been prepared.
  const pairs: Array<[Complete, Complete]> = [];
  for (let slot = 0; slot < slots; slot += 1) {
    const onSlot = traces.filter((trace) => trace.slot === slot).sort((a, b) => a.startedAt - b.startedAt);
    for (let index = 0; index + 1 < onSlot.length; index += 1) {
      const [first, next] = [onSlot[index]!, onSlot[index + 1]!];
      if (first.kind !== "baseline" && complete(first) && complete(next)) pairs.push([first, next]);
    }
  }
  const cycles = pairs.map(([first, next]) => next.train.calledAt - first.train.calledAt);
  const cycleOverheads = pairs.map(([first], index) => cycles[index]! - first.train.processWallMs - first.evaluate.processWallMs);
  const mean = (pick: (pair: [Complete, Complete]) => number) => stats(pairs.map(pick)).mean;
  const effectiveCycleMs = effectiveCycle(traces, slots);

  return {
    idealMs,
    slots,
    finished: finishedTraces.length,
    sessionRatio,
    sessionWindowMs,
    effectiveCycleMs,
    steadyRatio: idealMs / effectiveCycleMs,
    overheadMs: stats(overheads),
    cycleOverheadMs: stats(cycleOverheads),
    trainWallMs: stats(ok.map((trace) => trace.train.processWallMs)),
    evaluateWallMs: stats(ok.map((trace) => trace.evaluate.processWallMs)),
    breakdown: {
      trainRunner: mean(([first]) => runnerMs(first.train)),
      betweenPhases: mean(([first]) => first.evaluate.calledAt - first.train.returnedAt),
      evaluateRunner: mean(([first]) => runnerMs(first.evaluate)),
      afterEvaluate: mean(([first]) => first.finishedAt - first.evaluate.returnedAt),
      handoff: mean(([first, next]) => next.startedAt - next.setupMs - first.finishedAt),
      setup: mean(([, next]) => next.setupMs),
      beforeTrain: mean(([, next]) => next.train.calledAt - next.startedAt),
    },
  };
}

// Each slot's own rate of training starts, from its first candidate's to its last's, summed over the
// slots: the rate the whole pool runs at. An idle stretch on a slot lengthens its span, and a slot that
// ran fewer than two candidates adds nothing, so both show up. (Starts of the whole pool taken in rounds
// of `slots` measured only the fastest slot's cycle once the slots drifted apart: 4.65 s where the
// slots' mean was 4.85 s, at 16 slots.)
function effectiveCycle(traces: ExperimentTrace[], slots: number): number {
  return poolCycle(traces.filter((trace) => trace.kind !== "baseline" && trace.train !== null).map((trace) => ({ slot: trace.slot, at: trace.train!.calledAt })), slots);
}

/** Slots / the summed per-slot rate of the given starts (ms): one slot's effective cycle in steady state. */
export function poolCycle(starts: ReadonlyArray<{ slot: number; at: number }>, slots: number): number {
  const startsBySlot = new Map<number, number[]>();
  for (const { slot, at } of starts) startsBySlot.set(slot, [...(startsBySlot.get(slot) ?? []), at]);
  let rate = 0;
  for (const times of startsBySlot.values()) {
    if (times.length < 2) continue;
    const span = Math.max(...times) - Math.min(...times);
    if (span > 0) rate += (times.length - 1) / span;
  }
  return rate > 0 ? slots / rate : Number.NaN;
}

/** The best ratio a serial proposer allows: one proposal per `latencyMs`, `slots` experiments per ideal cycle. */
export function proposerBound(slots: number, latencyMs: number, idealMs: number): number {
  return latencyMs === 0 ? 1 : Math.min(1, idealMs / (slots * latencyMs));
}
