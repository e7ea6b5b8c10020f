// The progress chart's data: which mark each experiment gets and the running best as a
// step line. Pure, shared by the live chart (browser) and progress.svg/png (Node).
import { isFailed } from "../core/experiment.ts";
import type { PointTuple } from "./api.ts";

export type PointCategory = "baseline" | "kept" | "discarded" | "confirmation" | "remeasure" | "failed";

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
  /** The pooled run-to-run σ known after each experiment (every repeated measurement so far); null until two runs of one code. */
  noise: (number | null)[];
  /** How many runs the last σ rests on. */
  noiseSamples: number;
  counts: Record<PointCategory, number>;
}

export const CATEGORY_LABELS: Record<PointCategory, string> = {
  baseline: "baseline run",
  kept: "kept",
  discarded: "discarded",
  confirmation: "confirmation run",
  remeasure: "re-run of the best",
  failed: "crashed / rejected",
};

/** One colour per kind of mark, the same in the live chart, progress.svg and progress.png. */
export const CATEGORY_COLOURS: Record<PointCategory, string> = {
  baseline: "#2563eb",
  kept: "#16a34a",
  discarded: "#94a3b8",
  confirmation: "#9333ea",
  remeasure: "#0891b2",
  failed: "#dc2626",
};
export const BEST_LINE_COLOUR = "#166534";
/** The ±2σ̂ band around the running best: a change inside it is within the noise. */
export const NOISE_BAND_COLOUR = "rgba(22, 101, 52, 0.12)";
export const NOISE_BAND_LABEL = "±2σ̂ noise band";
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
  if (point.kind === "smoke") return null; // the cascade's smoke runs: another budget, another scale
  if (point.kind === "baseline") return "baseline";
  if (point.kind === "confirmation") return "confirmation";
  if (point.kind === "remeasure") return "remeasure";
  return point.decision === "keep" ? "kept" : "discarded";
}

/**
 * The marks, the running best and the noise, rebuilt from the rows as the engine's reducer keeps them
 * (loop/reducer.ts): the first best is the baseline runs' mean; a keep moves it to the mean of the
 * candidate's runs (its confirmations included), and its fresh re-runs then replace that value with
 * their mean; σ pools every group of runs of one code. `unconfirmedKeeps`: kept experiments a finalize
 * ablation did not confirm (finalize/report.ts unconfirmedKeeps).
 */
export function progressSeries(points: readonly PointInput[], unconfirmedKeeps: readonly number[] = []): ProgressSeries {
  const sorted = [...points].sort((a, b) => a.id - b.id);
  const series: ProgressSeries = {
    ids: [], category: [], metric: [], heldOut: [], unconfirmed: [], best: [], noise: [], noiseSamples: 0,
    counts: { baseline: 0, kept: 0, discarded: 0, confirmation: 0, remeasure: 0, failed: 0 },
  };
  // Runs of one code: the base's (baselines, its re-runs), each candidate's own (with its confirmations), each kept best's re-runs.
  const groups = new Map<string, number[]>();
  const add = (key: string, value: number) => groups.set(key, [...groups.get(key) ?? [], value]);
  let bestKey = "fresh:base";
  let best: number | null = null;
  let keptYet = false;
  for (const point of sorted) {
    const category = categorize(point);
    if (category === null) continue;
    const value = point.metric;
    if (category === "baseline") {
      add("fresh:base", value!);
      if (!keptYet) best = mean(groups.get("fresh:base")!);
    } else if (category === "remeasure") {
      const key = `fresh:${point.confirms ?? "base"}`;
      add(key, value!);
      if (key === bestKey) best = mean(groups.get(key)!);
    } else if (category === "kept" || category === "discarded") {
      add(`candidate:${point.id}`, value!);
    } else if (category === "confirmation") {
      add(`candidate:${point.confirms}`, value!);
    }
    // The decision is on the original and, when confirmations decided it, on the last confirmation too.
    const decidedKeep = (category === "kept" && !sorted.some((other) => other.kind === "confirmation" && other.confirms === point.id && other.id > point.id && other.status === "ok"))
      || (category === "confirmation" && point.decision === "keep");
    if (decidedKeep) {
      const original = category === "kept" ? point.id : point.confirms!;
      best = mean(groups.get(`candidate:${original}`)!);
      bestKey = `fresh:${original}`;
      keptYet = true;
    }
    const noise = pooledSigma(groups);
    series.ids.push(point.id);
    series.category.push(category);
    series.metric.push(category === "failed" ? null : value);
    series.heldOut.push(category === "failed" ? null : point.heldOutMetric);
    series.unconfirmed.push(category === "kept" && unconfirmedKeeps.includes(point.id));
    series.best.push(best);
    series.noise.push(noise.sigma);
    series.noiseSamples = noise.samples;
    series.counts[category] += 1;
  }
  // The first best is the mean of all the baseline runs: the line starts at the last of them.
  const leadingBaselines = series.category.findIndex((category) => category !== "baseline");
  for (let i = 0; i < (leadingBaselines === -1 ? series.ids.length : leadingBaselines) - 1; i++) series.best[i] = null;
  return series;
}

/** The band's edges: best ± 2σ̂ where both are known. */
export function noiseBand(series: ProgressSeries): { low: (number | null)[]; high: (number | null)[] } {
  const edge = (sign: number) => series.best.map((best, i) => {
    const sigma = series.noise[i];
    return best === null || sigma === null || sigma === undefined ? null : best + sign * 2 * sigma;
  });
  return { low: edge(-1), high: edge(1) };
}

function pooledSigma(groups: Map<string, number[]>): { sigma: number | null; samples: number } {
  let squares = 0;
  let degrees = 0;
  let samples = 0;
  for (const values of groups.values()) {
    if (values.length < 2) continue;
    const centre = mean(values);
    for (const value of values) squares += (value - centre) ** 2;
    degrees += values.length - 1;
    samples += values.length;
  }
  return degrees === 0 ? { sigma: null, samples: 0 } : { sigma: Math.sqrt(squares / degrees), samples };
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
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
