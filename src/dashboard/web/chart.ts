// The progress chart (uPlot): the metric per experiment with keeps highlighted, the running best
// as a step line, failures marked along the bottom, and the held-out metric side by side.
// Drag to zoom into a range of experiments (both charts follow), double-click or "reset" to undo.
import uPlot from "uplot";
import type { SessionSummaryView } from "../api.ts";
import { BEST_LINE_COLOUR, CATEGORY_COLOURS, CATEGORY_LABELS, clampTo, NOISE_BAND_COLOUR, NOISE_BAND_LABEL, noiseBand, progressSeries, UNCONFIRMED_COLOUR, valueRange } from "../progress.ts";
import type { PointCategory, PointInput, ProgressSeries } from "../progress.ts";
import { formatMetric } from "../../views/format.ts";
import { h, replaceChildren } from "./dom.ts";

/** Drawn in this order, so keeps end up on top. */
const MARKS: PointCategory[] = ["discarded", "confirmation", "remeasure", "baseline", "kept"];
const MARK_SIZE: Record<PointCategory, number> = { discarded: 6, confirmation: 6, remeasure: 6, baseline: 7, kept: 9, failed: 8 };
const HEIGHT = 300;

export class ProgressCharts {
  readonly element: HTMLElement;
  #plots: HTMLElement;
  #hover: HTMLElement;
  #charts: uPlot[] = [];
  #series: ProgressSeries = progressSeries([]);
  #layout = "";
  #zoom: { min: number; max: number } | null = null;
  #syncing = false;
  #onPick: (id: number) => void;

  constructor(onPick: (id: number) => void) {
    this.#onPick = onPick;
    this.#hover = h("span", { class: "chart-hover" });
    const reset = h("button", { type: "button", class: "small", onclick: () => this.resetZoom() }, "reset zoom");
    this.#plots = h("div", { class: "chart-plots" });
    this.element = h("section", { class: "panel charts" },
      h("div", { class: "panel-head" }, h("h2", {}, "Progress"), legend(), this.#hover, reset),
      this.#plots,
    );
    new ResizeObserver(() => this.#resize()).observe(this.#plots);
  }

  update(points: readonly PointInput[], summary: SessionSummaryView): void {
    this.#series = progressSeries(points, summary.finalized?.unconfirmedKeeps);
    const series = this.#series;
    Object.assign(this.element.dataset, { points: String(series.ids.length), ...Object.fromEntries(Object.entries(series.counts).map(([key, count]) => [key, String(count)])) });
    const showHeldOut = summary.heldOutName !== null && series.heldOut.some((value) => value !== null);
    const layout = `${summary.tag}|${summary.metricName}|${showHeldOut}`;
    if (layout !== this.#layout || this.#charts.length === 0) this.#build(summary, showHeldOut, layout);
    const metricRange = valueRange(series.metric, summary.direction);
    const band = noiseBand(series);
    const validation: uPlot.AlignedData = [
      series.ids,
      band.high.map((value) => clampTo(value, metricRange)),
      band.low.map((value) => clampTo(value, metricRange)),
      series.best.map((value) => clampTo(value, metricRange)),
      ...MARKS.map((category) => series.metric.map((value, i) => (series.category[i] === category ? clampTo(value, metricRange) : null))),
    ];
    this.#setData(this.#charts[0], validation);
    if (this.#charts[1]) {
      const heldOutRange = valueRange(series.heldOut, summary.direction);
      this.#setData(this.#charts[1], [series.ids, ...MARKS.map((category) => series.heldOut.map((value, i) => (series.category[i] === category ? clampTo(value, heldOutRange) : null)))]);
    }
    if (series.ids.length === 0) this.#hover.textContent = "no finished experiment yet";
  }

  resetZoom(): void {
    this.#zoom = null;
    const ids = this.#series.ids;
    if (ids.length > 0) for (const chart of this.#charts) chart.setScale("x", fullRange(ids));
  }

  #setData(chart: uPlot, data: uPlot.AlignedData): void {
    chart.setData(data, this.#zoom === null);
    if (this.#zoom !== null) chart.setScale("x", this.#zoom);
  }

  #build(summary: SessionSummaryView, showHeldOut: boolean, layout: string): void {
    for (const chart of this.#charts) chart.destroy();
    this.#charts = [];
    this.#zoom = null;
    this.#layout = layout;
    replaceChildren(this.#plots);
    const width = this.#chartWidth(showHeldOut);
    const empty = (options: uPlot.Options) => options.series.map(() => [] as number[]) as uPlot.AlignedData;
    const validation = this.#options(`${summary.metricName} (${summary.measureOnly ? "measured" : "validation"}, decides)`, summary.metricName, width, true);
    this.#charts.push(new uPlot(validation, empty(validation), this.#plots));
    if (showHeldOut) {
      const heldOut = this.#options(`${summary.heldOutName} (held out, never shown to proposers)`, summary.heldOutName!, width, false);
      this.#charts.push(new uPlot(heldOut, empty(heldOut), this.#plots));
    }
    for (const chart of this.#charts) this.#listenForPicks(chart);
  }

  #options(title: string, metricName: string, width: number, withBest: boolean): uPlot.Options {
    const marks: uPlot.Series[] = MARKS.map((category) => ({
      label: CATEGORY_LABELS[category],
      stroke: CATEGORY_COLOURS[category],
      paths: () => null,
      points: { show: true, size: MARK_SIZE[category], width: 0, fill: CATEGORY_COLOURS[category], stroke: CATEGORY_COLOURS[category] },
    }));
    const best: uPlot.Series = { label: "running best", stroke: BEST_LINE_COLOUR, width: 2, paths: uPlot.paths.stepped!({ align: 1 }), points: { show: false }, spanGaps: true };
    // The band's two edges are drawn as nothing but the fill between them (series 1 and 2).
    const edge = (label: string): uPlot.Series => ({ label, stroke: "transparent", width: 0, paths: uPlot.paths.stepped!({ align: 1 }), points: { show: false }, spanGaps: true });
    return {
      title,
      width,
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: true }, sync: { key: "autoresearch-progress", setSeries: false }, points: { show: false } },
      scales: { x: { time: false } },
      axes: [{ label: "experiment #", stroke: "#475569" }, { label: metricName, stroke: "#475569", size: 70 }],
      series: withBest ? [{}, edge(`${NOISE_BAND_LABEL} (upper)`), edge(`${NOISE_BAND_LABEL} (lower)`), best, ...marks] : [{}, ...marks],
      bands: withBest ? [{ series: [1, 2], fill: NOISE_BAND_COLOUR }] : [],
      hooks: {
        draw: [(chart) => this.#drawFailures(chart), (chart) => this.#drawUnconfirmed(chart)],
        setScale: [(chart, key) => this.#onScale(chart, key)],
        setCursor: [(chart) => this.#onCursor(chart)],
      },
    };
  }

  /** Keeps that finalize did not confirm: a red ring around each (on the validation chart). */
  #drawUnconfirmed(chart: uPlot): void {
    if (chart !== this.#charts[0] || !this.#series.unconfirmed.some(Boolean)) return;
    const { ctx } = chart;
    const ratio = window.devicePixelRatio || 1;
    ctx.save();
    ctx.strokeStyle = UNCONFIRMED_COLOUR;
    ctx.lineWidth = 2 * ratio;
    this.#series.ids.forEach((id, i) => {
      const value = this.#series.metric[i];
      if (!this.#series.unconfirmed[i] || value === null) return;
      ctx.beginPath();
      ctx.arc(chart.valToPos(id, "x", true), chart.valToPos(value, "y", true), MARK_SIZE.kept * ratio, 0, 2 * Math.PI);
      ctx.stroke();
    });
    ctx.restore();
  }

  /** Failed experiments have no metric: a red triangle on the bottom edge marks each. */
  #drawFailures(chart: uPlot): void {
    const { ctx, bbox } = chart;
    const ratio = window.devicePixelRatio || 1;
    const size = MARK_SIZE.failed * ratio * 0.6;
    ctx.save();
    ctx.fillStyle = CATEGORY_COLOURS.failed;
    const xMin = chart.scales.x.min ?? -Infinity;
    const xMax = chart.scales.x.max ?? Infinity;
    this.#series.ids.forEach((id, i) => {
      if (this.#series.category[i] !== "failed" || id < xMin || id > xMax) return;
      const x = chart.valToPos(id, "x", true);
      const y = bbox.top + bbox.height - 2 * ratio;
      ctx.beginPath();
      ctx.moveTo(x - size, y);
      ctx.lineTo(x + size, y);
      ctx.lineTo(x, y - size * 1.6);
      ctx.closePath();
      ctx.fill();
    });
    ctx.restore();
  }

  #onScale(chart: uPlot, key: string): void {
    if (key !== "x" || this.#syncing) return;
    const { min, max } = chart.scales.x;
    if (min === undefined || max === undefined) return;
    const full = fullRange(this.#series.ids);
    this.#zoom = this.#series.ids.length > 0 && (min > full.min + 1e-9 || max < full.max - 1e-9) ? { min, max } : null;
    this.#syncing = true;
    for (const other of this.#charts) if (other !== chart) other.setScale("x", { min, max });
    this.#syncing = false;
    // What each chart shows, readable from outside (the end-to-end tests check the zoom).
    this.element.dataset.zoomed = String(this.#zoom !== null);
    this.element.dataset.ranges = this.#charts.map((each) => `${each.scales.x.min?.toFixed(2)}..${each.scales.x.max?.toFixed(2)}`).join(" ");
  }

  #onCursor(chart: uPlot): void {
    const index = chart.cursor.idx;
    if (index === null || index === undefined || this.#series.ids[index] === undefined) return;
    const series = this.#series;
    const value = series.category[index] === "failed" ? "no metric" : formatMetric(series.metric[index]);
    const heldOut = series.heldOut[index] === null ? "" : ` · held-out ${formatMetric(series.heldOut[index])}`;
    const sigma = series.noise[index] === null ? "" : ` ± 2σ̂ ${formatMetric(2 * series.noise[index]!)}`;
    this.#hover.textContent = `#${series.ids[index]} ${CATEGORY_LABELS[series.category[index]]}: ${value}${heldOut} · best ${formatMetric(series.best[index])}${sigma}`;
  }

  /** A click (not a drag) opens the experiment nearest the cursor. */
  #listenForPicks(chart: uPlot): void {
    let downX = 0;
    chart.over.addEventListener("mousedown", (event) => (downX = event.clientX));
    chart.over.addEventListener("click", (event) => {
      if (Math.abs(event.clientX - downX) > 3) return;
      const index = chart.cursor.idx;
      const id = index === null || index === undefined ? undefined : this.#series.ids[index];
      if (id !== undefined) this.#onPick(id);
    });
  }

  #chartWidth(sideBySide: boolean): number {
    const available = Math.max(320, this.#plots.clientWidth || 900);
    return sideBySide && available > 900 ? Math.floor(available / 2) - 8 : available;
  }

  #resize(): void {
    const width = this.#chartWidth(this.#charts.length > 1);
    for (const chart of this.#charts) if (Math.abs(chart.width - width) > 2) chart.setSize({ width, height: HEIGHT });
  }
}

function fullRange(ids: readonly number[]): { min: number; max: number } {
  if (ids.length === 0) return { min: 0, max: 1 };
  return { min: ids[0], max: ids[ids.length - 1] === ids[0] ? ids[0] + 1 : ids[ids.length - 1] };
}

function legend(): HTMLElement {
  const swatch = (colour: string, shape: string) => h("i", { class: `swatch ${shape}`, style: `--c:${colour}` });
  return h("span", { class: "legend" },
    ...MARKS.slice().reverse().map((category) => h("span", {}, swatch(CATEGORY_COLOURS[category], "dot"), CATEGORY_LABELS[category])),
    h("span", {}, swatch(CATEGORY_COLOURS.failed, "tri"), CATEGORY_LABELS.failed),
    h("span", {}, swatch(BEST_LINE_COLOUR, "line"), "running best"),
    h("span", {}, swatch(NOISE_BAND_COLOUR, "band"), NOISE_BAND_LABEL),
  );
}
