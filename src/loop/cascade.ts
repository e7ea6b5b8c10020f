// The cascade's judgment, pure: how long a smoke stage runs, what it is compared with (the smoke runs of
// the unchanged code on the same kind of device), and whether a candidate's smoke metric is clearly bad.
// A smoke metric is only ever compared with other smoke metrics: never with the best, never with σ of
// full-budget runs. Unit-tested with plain values (test/cascade.test.ts).
import type { z } from "zod";
import type { cascadeSchema } from "../config/schema.ts";
import { deviceKind } from "../config/device-kind.ts";
import { isFailed, type ExperimentRecord } from "../core/experiment.ts";
import { studentTQuantile } from "../stats/distributions.ts";
import { mean, sampleSd } from "../stats/intervals.ts";
import { formatNumber } from "./decide.ts";

export type CascadeConfig = z.output<typeof cascadeSchema>;

/**
 * pass      the smoke stage ran and was not clearly worse: the candidate runs its full budget, decided as usual
 * screened  clearly worse than the unchanged code's smoke runs: discarded without a full run (metric stays empty)
 * failed    the smoke stage crashed, timed out or gave no finite metric: recorded as that failure
 * unjudged  ran, but the smoke runs of the unchanged code cannot say what is clearly worse (one run, or no spread)
 */
export type SmokeVerdict = "pass" | "screened" | "failed" | "unjudged";

/** What a candidate's smoke stage found: kept on its outcome, its metric in the row's secondary as smoke.<metric>. */
export interface SmokeStage {
  budgetSeconds: number;
  metric: number | null;
  verdict: SmokeVerdict;
  rationale: string;
  wallMs: number;
}

/** The smoke stage's train budget on a device whose full budget is `fullBudgetSeconds` (at least 0.1 s). */
export function smokeBudgetSeconds(cascade: Pick<CascadeConfig, "budgetSeconds" | "budgetFraction">, fullBudgetSeconds: number): number {
  const seconds = cascade.budgetSeconds ?? fullBudgetSeconds * (cascade.budgetFraction ?? 1);
  return Math.max(0.1, Math.round(seconds * 10) / 10);
}

/** The key under which a candidate's smoke metric is kept in its row's secondary numbers. */
export function smokeMetricKey(metricName: string): string {
  return `smoke.${metricName}`;
}

/**
 * on       candidates get a smoke stage, judged against `values` (the unchanged code's smoke metrics on this device kind)
 * pending  the unchanged code's smoke runs have not all finished
 * off      no smoke stage: not configured, never run (a single MCP experiment), or the unchanged code itself failed
 *          one (then every candidate would look broken): `reason` says which
 */
export type SmokeReference =
  | { state: "on"; values: number[] }
  | { state: "pending" }
  | { state: "off"; reason: string };

export type SmokeRow = Pick<ExperimentRecord, "id" | "kind" | "status" | "metric" | "device" | "confirms">;

/** The unchanged code's smoke runs as the yardstick for a candidate on `device`. */
export function smokeReference(rows: readonly SmokeRow[], device: string): SmokeReference {
  const smoke = rows.filter((row) => row.kind === "smoke" && row.confirms === null && row.status !== "interrupted");
  if (smoke.length === 0) return { state: "off", reason: "the unchanged code has no smoke runs in this session" };
  const failed = smoke.find((row) => isFailed(row.status));
  if (failed !== undefined) {
    return { state: "off", reason: `the unchanged code's smoke run #${failed.id} ended ${failed.status}, so a smoke stage cannot tell a broken candidate from a short budget; every candidate runs its full budget (lengthen cascade.budgetSeconds or budgetFraction)` };
  }
  if (smoke.some((row) => row.status === "running")) return { state: "pending" };
  const kind = deviceKind(device);
  const values = smoke.filter((row) => deviceKind(row.device) === kind && row.metric !== null).map((row) => row.metric!);
  return { state: "on", values };
}

export interface SmokeJudgment {
  verdict: "pass" | "screened" | "unjudged";
  /** How much worse than the unchanged code's smoke mean (positive = worse); null when nothing to compare with. */
  worseBy: number | null;
  /** Beyond this, clearly bad; null when unjudged. */
  bound: number | null;
  rationale: string;
}

/**
 * Clearly bad: worse than the mean of the unchanged code's m smoke runs by more than
 * max(minMargin, t(1 − alpha, m − 1) · s · √(1 + 1/m)), s their standard deviation: the one-sided
 * prediction bound a further smoke run of the unchanged code exceeds with probability alpha. So a
 * candidate that changes nothing is screened out with probability alpha, whatever the noise.
 */
export function judgeSmoke(
  metric: number,
  reference: readonly number[],
  options: Pick<CascadeConfig, "alpha" | "minMargin"> & { direction: "min" | "max"; metricName: string; budgetSeconds: number },
): SmokeJudgment {
  const stage = `smoke stage (${formatNumber(options.budgetSeconds)} s): ${options.metricName} ${formatNumber(metric)}`;
  if (reference.length === 0) {
    return { verdict: "unjudged", worseBy: null, bound: null, rationale: `${stage}; no smoke runs of the unchanged code on this kind of device to compare with: full run` };
  }
  const centre = mean(reference);
  const worseBy = options.direction === "min" ? metric - centre : centre - metric;
  const spread = sampleSd(reference);
  const against = `the unchanged code's ${reference.length} smoke run${reference.length === 1 ? "" : "s"} (mean ${formatNumber(centre)}${spread === null ? "" : `, sd ${formatNumber(spread)}`})`;
  if (spread === null || (spread === 0 && options.minMargin === 0)) {
    const why = spread === null ? "one run has no spread" : "they do not vary; set cascade.minMargin to screen";
    return { verdict: "unjudged", worseBy, bound: null, rationale: `${stage} vs ${against}: ${why}: full run` };
  }
  const m = reference.length;
  const t = studentTQuantile(1 - options.alpha, m - 1);
  const noiseBound = t * spread * Math.sqrt(1 + 1 / m);
  const bound = Math.max(options.minMargin, noiseBound);
  const bar = `bound ${formatNumber(bound)} (${options.minMargin > noiseBound ? "minMargin" : `t(${m - 1} df, alpha ${options.alpha}) ${t.toFixed(2)} × sd × √(1 + 1/${m})`})`;
  if (worseBy > bound) {
    return { verdict: "screened", worseBy, bound, rationale: `${stage} is worse than ${against} by ${formatNumber(worseBy)} > ${bar}: clearly bad, discarded without a full run` };
  }
  const relation = worseBy > 0 ? `worse by ${formatNumber(worseBy)}, within ${bar}` : `not worse (by ${formatNumber(-worseBy)} better)`;
  return { verdict: "pass", worseBy, bound, rationale: `${stage} vs ${against}: ${relation}: full run` };
}

export interface CascadeCounts {
  /** Candidates that ran a smoke stage. */
  smokeStages: number;
  /** Their smoke stages' wall time, all together. */
  smokeMs: number;
  /** Ended by a failed smoke stage (crash, timeout, no_metric, invalid). */
  failed: number;
  /** Discarded as clearly bad without a full run. */
  screened: number;
  /** Passed, then ran their full budget. */
  passed: number;
}

/** What the cascade did in a session, from its rows (status); null when no candidate ran a smoke stage. */
export function cascadeCounts(rows: readonly Pick<ExperimentRecord, "kind" | "status" | "metric" | "decision" | "timings">[]): CascadeCounts | null {
  const staged = rows.filter((row) => row.kind === "candidate" && typeof row.timings.smokeMs === "number");
  if (staged.length === 0) return null;
  const failed = staged.filter((row) => isFailed(row.status)).length;
  const screened = staged.filter((row) => row.status === "ok" && row.metric === null && row.decision === "discard").length;
  return {
    smokeStages: staged.length,
    smokeMs: staged.reduce((sum, row) => sum + (row.timings.smokeMs ?? 0), 0),
    failed, screened, passed: staged.filter((row) => row.status === "ok" && row.metric !== null).length,
  };
}
