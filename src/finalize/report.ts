// What survived a session, computed from its ledger rows alone: the latest finalize's re-scores
// (baseline vs final best, on the decision and the held-out metric) and ablations (the best without
// each kept change), as differences with their t intervals. `finalize` prints it; `status`, `show`,
// the dashboard and the report show the same numbers. Pure.
import type { ExperimentRecord } from "../core/experiment.ts";
import type { SessionRecord } from "../core/session.ts";
import { differenceInterval, meanInterval, type DifferenceInterval, type MeanSummary } from "../stats/intervals.ts";
import { finalizeMetaOf, keptChain, type AblationMethod, type FinalizeMeta } from "./plan.ts";

export const FINALIZE_CONFIDENCE = 0.95;

/**
 * helps                      the interval of its contribution lies above 0
 * no measurable contribution the interval covers 0
 * hurts                      the interval lies below 0: the best is better without it
 * not separable              neither re-applying the other changes without it nor reverting it from the best worked
 * not measured               no ablation asked (--no-ablation), or its runs failed or were interrupted
 */
export type ChangeVerdict = "helps" | "no measurable contribution" | "hurts" | "not separable" | "not measured";

export interface ChangeResult {
  id: number;
  description: string;
  verdict: ChangeVerdict;
  /** How "the best without it" was built; "baseline" when that is the base's code (the only keep). */
  method: AblationMethod | "baseline" | null;
  /** (best without it) − best, signed so that positive means the change helps. */
  contribution: DifferenceInterval | null;
  without: MeanSummary | null;
  /** The ablation runs behind it (ok ones). */
  runIds: number[];
}

export interface MetricComparison {
  baseline: MeanSummary | null;
  best: MeanSummary | null;
  /** Signed so that positive is better: baseline − best for "min", best − baseline for "max". */
  gain: DifferenceInterval | null;
}

export interface FinalizeReport {
  tag: string;
  round: number;
  metricName: string;
  heldOutName: string | null;
  direction: "min" | "max";
  confidence: number;
  runsAsked: number;
  bestExperimentId: number | null;
  metric: MetricComparison;
  heldOut: MetricComparison | null;
  /** The session's own claim, signed like the gain: the ledger's baseline mean against its recorded best. */
  claimed: number | null;
  /** gain / claimed; null without both. */
  survived: number | null;
  ablation: boolean;
  changes: ChangeResult[];
  /** Keeps that are not part of the final best (a later winner was built on an older best). */
  superseded: Array<{ id: number; description: string }>;
  keeps: number;
  /** Keeps whose contribution's interval excludes 0 on the helpful side; null without an ablation. */
  keepsSurvived: number | null;
  /** The session's best moved after this finalize ran: its numbers are about an earlier best. */
  stale: boolean;
  runs: { ok: number; failed: number; interrupted: number; running: number };
}

export type FinalizeRow = Pick<ExperimentRecord, "id" | "kind" | "status" | "metric" | "heldOutMetric" | "meta" | "decision" | "parentCommit" | "candidateCommit" | "description">;

export interface ReportSettings {
  metricName: string;
  heldOutName: string | null;
  direction: "min" | "max";
}

/** The metric settings of a session's committed config (its record keeps it as JSON). */
export function reportSettingsOf(config: unknown): ReportSettings {
  const metric = (config as { metric?: { name?: unknown; heldOut?: unknown; direction?: unknown } } | null)?.metric;
  return {
    metricName: typeof metric?.name === "string" ? metric.name : "metric",
    heldOutName: typeof metric?.heldOut === "string" ? metric.heldOut : null,
    direction: metric?.direction === "max" ? "max" : "min",
  };
}

/** The latest finalize round of a session from its record and rows, or null when finalize never ran on it. */
export function sessionFinalizeReport(session: Pick<SessionRecord, "tag" | "baseCommit" | "bestExperimentId" | "bestMetric" | "config">, rows: readonly FinalizeRow[]): FinalizeReport | null {
  return finalizeReport(session, rows, reportSettingsOf(session.config));
}

/** The latest finalize round of the session, or null when finalize never ran on it. */
export function finalizeReport(
  session: Pick<SessionRecord, "tag" | "baseCommit" | "bestExperimentId" | "bestMetric">,
  rows: readonly FinalizeRow[],
  settings: ReportSettings,
): FinalizeReport | null {
  const measured = rows
    .filter((row) => row.kind === "rescore" || row.kind === "ablation")
    .map((row) => ({ row, meta: finalizeMetaOf(row.meta) }))
    .filter((each): each is { row: FinalizeRow; meta: FinalizeMeta } => each.meta !== null);
  if (measured.length === 0) return null;
  const round = Math.max(...measured.map((each) => each.meta.round));
  const ofRound = measured.filter((each) => each.meta.round === round);
  const first = ofRound[0]!.meta;
  const ok = ofRound.filter((each) => each.row.status === "ok" && each.row.metric !== null);
  const values = (role: FinalizeMeta["role"], without?: number, pick: (row: FinalizeRow) => number | null = (row) => row.metric) =>
    ok.filter((each) => each.meta.role === role && (without === undefined || each.meta.without === without))
      .map((each) => pick(each.row))
      .filter((value): value is number => value !== null && Number.isFinite(value));
  const sign = settings.direction === "min" ? 1 : -1;
  // The best is the base's code when nothing was kept: its runs are the baseline's.
  const noKeeps = first.best === null;
  const compare = (pick: (row: FinalizeRow) => number | null): MetricComparison => {
    const baseline = values("baseline", undefined, pick);
    const best = noKeeps ? baseline : values("best", undefined, pick);
    return {
      baseline: summaryOf(baseline),
      best: summaryOf(best),
      gain: noKeeps ? null : signedDifference(baseline, best, sign),
    };
  };

  const baselineRows = rows.filter((row) => row.kind === "baseline" && row.status === "ok" && row.metric !== null);
  const ledgerBaseline = baselineRows.length > 0 ? baselineRows.reduce((sum, row) => sum + row.metric!, 0) / baselineRows.length : null;
  const claimed = noKeeps ? 0 : ledgerBaseline !== null && session.bestMetric !== null ? sign * (ledgerBaseline - session.bestMetric) : null;
  const metric = compare((row) => row.metric);
  const heldOut = settings.heldOutName === null ? null : compare((row) => row.heldOutMetric);

  const { chain, superseded } = keptChain({ baseCommit: session.baseCommit, bestExperimentId: first.best }, rows);
  const baselineValues = values("baseline");
  const bestValues = values("best");
  const changes: ChangeResult[] = chain.map((change) => {
    const base = { id: change.id, description: change.description };
    if (!first.ablation) return { ...base, verdict: "not measured", method: null, contribution: null, without: null, runIds: [] };
    if (first.notSeparable.includes(change.id)) return { ...base, verdict: "not separable", method: null, contribution: null, without: null, runIds: [] };
    const asBaseline = first.asBaseline.includes(change.id);
    const withoutValues = asBaseline ? baselineValues : values("without", change.id);
    const runIds = asBaseline ? [] : ok.filter((each) => each.meta.role === "without" && each.meta.without === change.id).map((each) => each.row.id);
    const method = asBaseline ? "baseline" : ofRound.find((each) => each.meta.without === change.id)?.meta.method ?? null;
    const contribution = signedDifference(withoutValues, bestValues, sign);
    return { ...base, verdict: verdictOf(contribution), method, contribution, without: summaryOf(withoutValues), runIds };
  });

  return {
    tag: session.tag,
    round,
    metricName: settings.metricName,
    heldOutName: settings.heldOutName,
    direction: settings.direction,
    confidence: FINALIZE_CONFIDENCE,
    runsAsked: first.runs,
    bestExperimentId: first.best,
    metric,
    heldOut,
    claimed,
    survived: metric.gain !== null && claimed !== null && claimed !== 0 ? metric.gain.estimate / claimed : null,
    ablation: first.ablation,
    changes,
    superseded: superseded.map(({ id, description }) => ({ id, description })),
    keeps: chain.length,
    keepsSurvived: first.ablation ? changes.filter((change) => change.verdict === "helps").length : null,
    stale: first.best !== session.bestExperimentId,
    runs: {
      ok: ok.length,
      failed: ofRound.filter((each) => !["ok", "running", "interrupted"].includes(each.row.status)).length,
      interrupted: ofRound.filter((each) => each.row.status === "interrupted").length,
      running: ofRound.filter((each) => each.row.status === "running").length,
    },
  };
}

/** The kept experiments a finished ablation did not confirm (no measurable contribution, or harmful): the chart marks them. */
export function unconfirmedKeeps(report: FinalizeReport | null): number[] {
  if (report === null || report.stale) return [];
  return report.changes.filter((change) => change.verdict === "no measurable contribution" || change.verdict === "hurts").map((change) => change.id);
}

function verdictOf(contribution: DifferenceInterval | null): ChangeVerdict {
  if (contribution === null) return "not measured";
  if (contribution.low > 0) return "helps";
  if (contribution.high < 0) return "hurts";
  return "no measurable contribution";
}

function summaryOf(values: readonly number[]): MeanSummary | null {
  return values.length === 0 ? null : meanInterval(values, FINALIZE_CONFIDENCE);
}

/** How much better `measured` is than `reference`, as an interval: reference − measured for "min", the reverse for "max". */
function signedDifference(reference: readonly number[], measured: readonly number[], sign: 1 | -1): DifferenceInterval | null {
  if (reference.length === 0 || measured.length === 0) return null;
  return sign === 1
    ? differenceInterval(reference, measured, { confidence: FINALIZE_CONFIDENCE })
    : differenceInterval(measured, reference, { confidence: FINALIZE_CONFIDENCE });
}
