// progress.svg: the progress chart as a standalone SVG for a README or a post — the metric per
// experiment, keeps highlighted, the running best as a step line, failures marked along the
// bottom. Written by hand (no browser needed); the same marks and colours as the live chart.
import { formatDelta, formatMetric } from "../views/format.ts";
import { safeLine } from "../text/safe-text.ts";
import { BEST_LINE_COLOUR, CATEGORY_COLOURS, CATEGORY_LABELS, clampTo, NOISE_BAND_COLOUR, NOISE_BAND_LABEL, noiseBand, UNCONFIRMED_COLOUR, UNCONFIRMED_LABEL, valueRange } from "./progress.ts";
import type { PointCategory, ProgressSeries } from "./progress.ts";

export const SVG_SIZE = { width: 960, height: 480 };
const MARGIN = { left: 84, right: 28, top: 78, bottom: 58 };
const RADIUS: Record<PointCategory, number> = { discarded: 3.5, confirmation: 3.5, remeasure: 3.5, baseline: 4.5, kept: 5.5, failed: 5 };
const DRAW_ORDER: PointCategory[] = ["discarded", "confirmation", "remeasure", "baseline", "kept"];
const FONT = `font-family="system-ui, 'DejaVu Sans', Arial, sans-serif"`;

export interface ChartLabels {
  tag: string;
  metricName: string;
  direction: "min" | "max";
  baseline: number | null;
  best: number | null;
}

export function progressSvg(series: ProgressSeries, labels: ChartLabels): string {
  const { width, height } = SVG_SIZE;
  const plot = { left: MARGIN.left, top: MARGIN.top, right: width - MARGIN.right, bottom: height - MARGIN.bottom };
  const ids = series.ids;
  const range = valueRange(series.metric, labels.direction) ?? [0, 1];
  const span = ids.length > 1 ? ids[ids.length - 1] - ids[0] : 1;
  const xDomain: [number, number] = ids.length === 0 ? [0, 1] : [ids[0] - span * 0.02 - 0.5, ids[ids.length - 1] + span * 0.02 + 0.5];
  const x = (id: number) => plot.left + ((id - xDomain[0]) / (xDomain[1] - xDomain[0])) * (plot.right - plot.left);
  const y = (value: number) => plot.bottom - ((clampTo(value, range)! - range[0]) / (range[1] - range[0])) * (plot.bottom - plot.top);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...grid(plot, range, xDomain, x, y, labels.metricName),
    `<rect x="${plot.left}" y="${plot.top}" width="${plot.right - plot.left}" height="${plot.bottom - plot.top}" fill="none" stroke="#cbd5e1"/>`,
    bandPath(series, x, y, plot.right),
    bestLine(series, x, y, plot.right),
  ];
  for (const category of DRAW_ORDER) {
    series.ids.forEach((id, i) => {
      if (series.category[i] === category) parts.push(circle(x(id), y(series.metric[i]!), RADIUS[category], CATEGORY_COLOURS[category]));
    });
  }
  series.ids.forEach((id, i) => {
    if (series.unconfirmed[i]) parts.push(ring(x(id), y(series.metric[i]!), RADIUS.kept + 3.5));
  });
  series.ids.forEach((id, i) => {
    if (series.category[i] === "failed") parts.push(triangle(x(id), plot.bottom - 2, RADIUS.failed, CATEGORY_COLOURS.failed));
  });
  parts.push(...header(series, labels, width), `</svg>`);
  return parts.filter((part) => part !== "").join("\n") + "\n";
}

function header(series: ProgressSeries, labels: ChartLabels, width: number): string[] {
  const change = labels.baseline !== null && labels.best !== null ? ` (${formatDelta(labels.best - labels.baseline)})` : "";
  const noise = series.noise.at(-1);
  const sigma = noise === null || noise === undefined ? "" : ` · σ ${formatMetric(noise)} from ${series.noiseSamples} runs`;
  const summary = `${series.ids.length} experiments · ${series.counts.kept} kept · baseline ${formatMetric(labels.baseline)} → best ${formatMetric(labels.best)}${change}${sigma}`;
  const items: string[] = [
    text(MARGIN.left, 26, `${labels.metricName} per experiment — session ${labels.tag}`, 17, "#0f172a", "start", 'font-weight="600"'),
    text(width - MARGIN.right, 26, summary, 12, "#475569", "end"),
  ];
  // The legend lists only the marks present, each with one sample mark.
  let cursor = MARGIN.left;
  const legendY = 52;
  for (const category of ["kept", "discarded", "baseline", "confirmation", "remeasure", "failed"] as PointCategory[]) {
    if (series.counts[category] === 0) continue;
    items.push(category === "failed"
      ? triangle(cursor + 5, legendY + 5, RADIUS.failed, CATEGORY_COLOURS.failed)
      : circle(cursor + 5, legendY, RADIUS[category], CATEGORY_COLOURS[category]));
    items.push(text(cursor + 15, legendY + 4, CATEGORY_LABELS[category], 12, "#334155", "start"));
    cursor += 30 + CATEGORY_LABELS[category].length * 6.6;
  }
  if (series.unconfirmed.some(Boolean)) {
    items.push(ring(cursor + 5, legendY, RADIUS.kept + 2), text(cursor + 15, legendY + 4, UNCONFIRMED_LABEL, 12, "#334155", "start"));
    cursor += 30 + UNCONFIRMED_LABEL.length * 6.6;
  }
  items.push(`<line x1="${cursor}" y1="${legendY}" x2="${cursor + 18}" y2="${legendY}" stroke="${BEST_LINE_COLOUR}" stroke-width="2"/>`);
  items.push(text(cursor + 24, legendY + 4, "running best", 12, "#334155", "start"));
  if (series.noise.some((value) => value !== null)) {
    cursor += 30 + "running best".length * 6.6;
    items.push(`<rect x="${cursor}" y="${legendY - 6}" width="18" height="12" fill="${NOISE_BAND_COLOUR}"/>`);
    items.push(text(cursor + 24, legendY + 4, NOISE_BAND_LABEL, 12, "#334155", "start"));
  }
  return items;
}

function grid(plot: { left: number; top: number; right: number; bottom: number }, range: [number, number], xDomain: [number, number], x: (id: number) => number, y: (value: number) => number, metricName: string): string[] {
  const items: string[] = [];
  const yTicks = niceTicks(range[0], range[1], 6);
  const decimals = Math.max(0, Math.min(8, Math.ceil(-Math.log10(yTicks.step))));
  for (const value of yTicks.values) {
    const at = y(value);
    items.push(`<line x1="${plot.left}" y1="${at.toFixed(1)}" x2="${plot.right}" y2="${at.toFixed(1)}" stroke="#e2e8f0"/>`);
    items.push(text(plot.left - 8, at + 4, value.toFixed(decimals), 11, "#475569", "end"));
  }
  const xTicks = niceTicks(Math.ceil(xDomain[0]), Math.floor(xDomain[1]), 10, 1);
  for (const id of xTicks.values) items.push(text(x(id), plot.bottom + 18, String(id), 11, "#475569", "middle"));
  items.push(text((plot.left + plot.right) / 2, plot.bottom + 42, "experiment #", 12, "#334155", "middle"));
  items.push(`<text ${FONT} font-size="12" fill="#334155" text-anchor="middle" transform="translate(22 ${(plot.top + plot.bottom) / 2}) rotate(-90)">${escapeXml(metricName)}</text>`);
  return items;
}

/** The best so far as a step line: flat until a keep, then a step to the new best. */
function bestLine(series: ProgressSeries, x: (id: number) => number, y: (value: number) => number, right: number): string {
  let path = "";
  let previous: number | null = null;
  series.ids.forEach((id, i) => {
    const best = series.best[i];
    if (best === null) return;
    if (previous === null) path += `M${x(id).toFixed(1)} ${y(best).toFixed(1)}`;
    else if (best !== previous) path += ` H${x(id).toFixed(1)} V${y(best).toFixed(1)}`;
    previous = best;
  });
  if (path === "") return "";
  path += ` H${right.toFixed(1)}`;
  return `<path d="${path}" fill="none" stroke="${BEST_LINE_COLOUR}" stroke-width="2"/>`;
}

/** The ±2σ̂ band around the best, stepped like the best line, where σ is known. */
function bandPath(series: ProgressSeries, x: (id: number) => number, y: (value: number) => number, right: number): string {
  const band = noiseBand(series);
  const upper: string[] = [];
  const lower: string[] = [];
  series.ids.forEach((id, i) => {
    const high = band.high[i];
    const low = band.low[i];
    if (high === null || low === null) return;
    const next = series.ids[i + 1];
    const to = next === undefined ? right : x(next);
    upper.push(`${x(id).toFixed(1)} ${y(high).toFixed(1)}`, `${to.toFixed(1)} ${y(high).toFixed(1)}`);
    lower.unshift(`${to.toFixed(1)} ${y(low).toFixed(1)}`, `${x(id).toFixed(1)} ${y(low).toFixed(1)}`);
  });
  if (upper.length === 0) return "";
  return `<path d="M${[...upper, ...lower].join(" L")} Z" fill="${NOISE_BAND_COLOUR}" stroke="none"/>`;
}

function circle(cx: number, cy: number, r: number, fill: string): string {
  return `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${r}" fill="${fill}"/>`;
}

function triangle(cx: number, baseY: number, size: number, fill: string): string {
  return `<path d="M${(cx - size).toFixed(1)} ${baseY.toFixed(1)} L${(cx + size).toFixed(1)} ${baseY.toFixed(1)} L${cx.toFixed(1)} ${(baseY - size * 1.6).toFixed(1)} Z" fill="${fill}"/>`;
}

function text(x: number, y: number, content: string, size: number, fill: string, anchor: "start" | "middle" | "end", extra = ""): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT} font-size="${size}" fill="${fill}" text-anchor="${anchor}" ${extra}>${escapeXml(safeLine(content))}</text>`;
}

/** Round tick values (1, 2 or 5 times a power of ten) covering [low, high]. */
export function niceTicks(low: number, high: number, count: number, minStep = 0): { step: number; values: number[] } {
  const span = high - low || Math.abs(high) || 1;
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(minStep, [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= raw) ?? 10 * power);
  const values: number[] = [];
  for (let value = Math.ceil(low / step) * step; value <= high + step * 1e-9; value += step) values.push(Number(value.toPrecision(12)));
  return { step, values };
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

function ring(cx: number, cy: number, r: number): string {
  return `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${r}" fill="none" stroke="${UNCONFIRMED_COLOUR}" stroke-width="2"/>`;
}
