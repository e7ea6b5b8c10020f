// Results that deserve a human's look before anyone trusts them. A flag changes no decision (the
// policy still keeps or discards); it is stored on the experiment and shown in every view. Pure.
//
// The rules, with the session's baseline B (mean of the baseline runs), the best so far b (before
// this result), the noise σ (0 while unknown), and the gain g of this result over b (positive = better):
//
//   implausible_score     g > ½·|b − B| + 10·σ + ⅒·|B|
//                         an improvement more than half again the whole way the session has come,
//                         far beyond the noise, and more than a tenth of the baseline in one step.
//   slow_evaluation       evaluate took > 3× the baseline's (mean over its runs) and > 5 s more:
//                         the scored code may be doing something besides answering.
//   self_report_mismatch  the workload printed (or reported in self_reported) the decision metric
//                         itself, and it differs from the scored value by > max(10·σ, 10% of it).

import type { ReviewFlag } from "../core/experiment.ts";

export const REVIEW_RULES = {
  /** implausible_score: share of the baseline→best distance a single step may add... */
  progressShare: 0.5,
  /** ...plus this many σ... */
  sigmas: 10,
  /** ...plus this share of the baseline's magnitude. */
  baselineShare: 0.1,
  /** slow_evaluation: times the baseline's evaluation time... */
  evaluateRatio: 3,
  /** ...and at least this much slower, so a 0.1 s evaluation taking 0.4 s is no news. */
  evaluateMarginMs: 5000,
  /** self_report_mismatch: relative tolerance (or `sigmas` σ, whichever is larger). */
  selfReportTolerance: 0.1,
} as const;

export interface ReviewInput {
  metricName: string;
  direction: "min" | "max";
  /** The scored decision metric of this run. */
  metric: number;
  /** Mean of the baseline runs; null before the baseline is known (then no score flag). */
  baseline: number | null;
  /** The best before this result. */
  best: number | null;
  noiseSigma: number | null;
  evaluateMs: number | null;
  /** Mean evaluate time of the baseline runs; null without an evaluator or a baseline. */
  baselineEvaluateMs: number | null;
  /** The decision metric as the workload itself printed or reported it; null when it did not. */
  printedMetric: number | null;
  /** True when the metric itself came from the train output (then there is nothing to compare). */
  selfReported: boolean;
}

export function reviewFlags(input: ReviewInput): ReviewFlag[] {
  const flags: ReviewFlag[] = [];
  const sigma = input.noiseSigma !== null && Number.isFinite(input.noiseSigma) ? input.noiseSigma : 0;
  if (input.baseline !== null && input.best !== null && Number.isFinite(input.metric)) {
    const sign = input.direction === "min" ? -1 : 1;
    const gain = sign * (input.metric - input.best);
    const allowed = REVIEW_RULES.progressShare * Math.abs(input.best - input.baseline) + REVIEW_RULES.sigmas * sigma + REVIEW_RULES.baselineShare * Math.abs(input.baseline);
    if (gain > allowed) {
      flags.push({
        kind: "implausible_score",
        detail: `${input.metricName} ${num(input.metric)} improves on the best ${num(input.best)} by ${num(gain)}, more than the ${num(allowed)} this session makes plausible (baseline ${num(input.baseline)}, σ ${num(sigma)})`,
      });
    }
  }
  if (input.evaluateMs !== null && input.baselineEvaluateMs !== null && input.baselineEvaluateMs > 0) {
    const ratio = input.evaluateMs / input.baselineEvaluateMs;
    if (ratio > REVIEW_RULES.evaluateRatio && input.evaluateMs - input.baselineEvaluateMs > REVIEW_RULES.evaluateMarginMs) {
      flags.push({
        kind: "slow_evaluation",
        detail: `evaluation took ${seconds(input.evaluateMs)}, ${ratio.toFixed(1)}× the baseline's ${seconds(input.baselineEvaluateMs)}`,
      });
    }
  }
  if (!input.selfReported && input.printedMetric !== null && Number.isFinite(input.printedMetric)) {
    const tolerance = Math.max(REVIEW_RULES.sigmas * sigma, REVIEW_RULES.selfReportTolerance * Math.abs(input.metric));
    const difference = Math.abs(input.printedMetric - input.metric);
    if (difference > tolerance) {
      flags.push({
        kind: "self_report_mismatch",
        detail: `the workload reported ${input.metricName} ${num(input.printedMetric)} but the evaluator scored ${num(input.metric)}`,
      });
    }
  }
  return flags;
}

function num(value: number): string {
  return String(Number(value.toPrecision(4)));
}

function seconds(milliseconds: number): string {
  return `${(milliseconds / 1000).toFixed(1)}s`;
}
