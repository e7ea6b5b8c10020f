// The progress chart's data: which mark each experiment gets and the running best as a
// step line. Pure, shared by the live chart (browser) and progress.svg/png (Node).
import { isFailed } from "../core/experiment.ts";
import type { PointTuple } from "./api.ts";

export type PointCategory = "baseline" | "kept" | "discarded" | "confirmation" | "failed";

export interface PointInput {
  id: number;
  kind: PointTuple[1];
  status: PointTuple[2];
  decision: PointTuple[3];
  metric: number | null;
  heldOutMetric: number | null;
  confirms: number | null;
}

export interface ProgressSeries {
  /** Experiment ids on the x axis, ascending: every finished experiment but interrupted ones. */
  ids: number[];
  category: PointCategory[];
  metric: (number | null)[];
  heldOut: (number | null)[];
  /** Keeps that the latest finalize did not confirm (no measurable contribution, or harmful): marked with a ring. */
  unconfirmed: boolean[];
  /** The best after each experiment (the value a keep rule compared against next). */
  best: (number | null)[];
  counts: Record<PointCategory, number>;
}

export const CATEGORY_LABELS: Record<PointCategory, string> = {
  baseline: "baseline run",
  kept: "kept",
  discarded: "discarded",
  confirmation: "confirmation run",
  failed: "crashed / rejected",
};

/** One colour per kind of mark, the same in the live chart, progress.svg and progress.png. */
export const CATEGORY_COLOURS: Record<PointCategory, string> = {
  baseline: "#2563eb",
  kept: "#16a34a",
  discarded: "#94a3b8",
  confirmation: "#9333ea",
  failed: "#dc2626",
};
export const BEST_LINE_COLOUR = "#166534";
/** The ring around a keep that finalize did not confirm. */
export const UNCONFIRMED_COLOUR = "#dc2626";
export const UNCONFIRMED_LABEL = "kept, not confirmed by finalize";

export function fromTuple([id, kind, status, decision, metric, heldOutMetric, confirms]: PointTuple): PointInput {
  return { id, kind, status, decision, metric, heldOutMetric, confirms };
}

export function categorize(point: PointInput): PointCategory | null {
  if (isFailed(point.status)) return "failed";
  if (point.status !== "ok" || point.metric === null) return null; // running or interrupted: nothing to plot
  if (point.kind === "rescore" || point.kind === "ablation") return null; // finalize's measurements: its report shows them
  if (point.kind === "baseline") return "baseline";
  if (point.kind === "confirmation") return "confirmation";
  return point.decision === "keep" ? "kept" : "discarded";
}

/** `unconfirmedKeeps`: kept experiments a finalize ablation did not confirm (finalize/report.ts unconfirmedKeeps). */
export function progressSeries(points: readonly PointInput[], unconfirmedKeeps: readonly number[] = []): ProgressSeries {
  const sorted = [...points].sort((a, b) => a.id - b.id);
  const byId = new Map(sorted.map((point) => [point.id, point]));
  // A keep judged on a confirmation run moves the best at the confirmation, to the mean of both runs.
  const confirmedKeeps = new Set(sorted.filter((point) => point.kind === "confirmation" && point.decision === "keep" && point.status === "ok").map((point) => point.confirms));
  const series: ProgressSeries = { ids: [], category: [], metric: [], heldOut: [], unconfirmed: [], best: [], counts: { baseline: 0, kept: 0, discarded: 0, confirmation: 0, failed: 0 } };
  const baselines: number[] = [];
  let best: number | null = null;
  let keptYet = false;
  for (const point of sorted) {
    const category = categorize(point);
    if (category === null) continue;
    if (category === "baseline") {
      // The engine's first best is the mean of the baseline runs.
      baselines.push(point.metric!);
      if (!keptYet) best = baselines.reduce((sum, value) => sum + value, 0) / baselines.length;
    } else if (category === "kept" && !confirmedKeeps.has(point.id)) {
      best = point.metric;
      keptYet = true;
    } else if (category === "confirmation" && point.decision === "keep") {
      const original = byId.get(point.confirms ?? -1)?.metric;
      best = original === null || original === undefined ? point.metric : (original + point.metric!) / 2;
      keptYet = true;
    }
    series.ids.push(point.id);
    series.category.push(category);
    series.metric.push(category === "failed" ? null : point.metric);
    series.heldOut.push(category === "failed" ? null : point.heldOutMetric);
    series.unconfirmed.push(category === "kept" && unconfirmedKeeps.includes(point.id));
    series.best.push(best);
    series.counts[category] += 1;
  }
  // The first best is the mean of all the baseline runs: the line starts at the last of them.
  const leadingBaselines = series.category.findIndex((category) => category !== "baseline");
  for (let i = 0; i < (leadingBaselines === -1 ? series.ids.length : leadingBaselines) - 1; i++) series.best[i] = null;
  return series;
}

/**
 * The y range to show: every value, except that far outliers on the bad side (a diverged
 * run) are cut off so they do not flatten the interesting part; they are drawn at the edge.
 */
export function valueRange(values: readonly (number | null)[], direction: "min" | "max"): [number, number] | null {
  const finite = values.filter((value): value is number => value !== null && Number.isFinite(value)).sort((a, b) => a - b);
  if (finite.length === 0) return null;
  let low = finite[0];
  let high = finite[finite.length - 1];
  if (finite.length >= 10) {
    if (direction === "min") {
      const typical = finite[Math.floor(0.9 * (finite.length - 1))];
      high = Math.min(high, typical + (typical - low));
    } else {
      const typical = finite[Math.ceil(0.1 * (finite.length - 1))];
      low = Math.max(low, typical - (high - typical));
    }
  }
  const span = high - low;
  const pad = span > 0 ? span * 0.06 : Math.abs(low) * 0.01 || 1;
  return [low - pad, high + pad];
}

export function clampTo(value: number | null, range: [number, number] | null): number | null {
  if (value === null || range === null) return value;
  return Math.min(range[1], Math.max(range[0], value));
}
