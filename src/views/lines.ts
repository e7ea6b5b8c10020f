// The text the terminal view prints, built from events as pure functions (no I/O, no clock).
// Every text that a workload or proposer wrote passes safeLine on its way in: the only escape
// sequences this view writes are its own colours and cursor moves.
import type { ExperimentKind, ReviewFlag } from "../core/experiment.ts";
import type { EventOf, SessionSummary } from "../events/types.ts";
import { safeLine } from "../text/safe-text.ts";
import type { Colour } from "./format.ts";
import {
  formatDelta,
  formatDuration,
  formatFlags,
  formatMetric,
  formatPercent,
  formatRate,
  padEnd,
  padStart,
  paint,
  progressBar,
  truncate,
  visibleLength,
} from "./format.ts";

/** What an experiment line shows: `status` is the decision (keep/discard) when there is one. */
export interface ExperimentLine {
  id: number;
  kind: ExperimentKind | null;
  status: string;
  metric: number | null;
  delta: number | null;
  wallMs: number | null;
  description: string;
  reason?: string;
  /** Review flags (loop/review-flags.ts): the line says so before the description. */
  flags?: readonly ReviewFlag[];
}

const statusColours: Record<string, Colour> = {
  keep: "green",
  discard: "gray",
  ok: "cyan",
  crash: "red",
  timeout: "red",
  rejected: "magenta",
  invalid: "magenta",
  no_metric: "magenta",
  interrupted: "yellow",
};

export function headerLines(event: EventOf<"session_started">, colour: boolean): string[] {
  const better = event.direction === "min" ? "lower is better" : "higher is better";
  const devices = event.devices.length > 0 ? event.devices.join(", ") : "no devices";
  const slots = `${event.slots} ${event.slots === 1 ? "slot" : "slots"}`;
  return [
    paint(`autoresearch · session ${safeLine(event.tag)}${event.resumed ? " (resumed)" : ""}`, "bold", colour),
    `  branch  ${safeLine(event.branch)} from ${shortCommit(event.baseCommit)}`,
    `  metric  ${safeLine(event.metric)} (${better}) · policy ${event.policy}`,
    `  runs    ${slots} on ${devices}`,
    ...(event.trainLimits && event.trainLimits.length > 0 ? [budgetLine(event.trainLimits)] : []),
    ...(event.measure ? [measureLine(event.measure)] : []),
    `  project ${safeLine(event.projectDir)}`,
    ...isolationLines("isolation" in event && typeof event.isolation === "string" ? event.isolation : null, colour),
  ];
}

/** "unsandboxed" and "network on" must be seen: in colour, and spelled out. */
export function isolationLines(isolation: string | null, colour: boolean): string[] {
  if (isolation === null) return [];
  if (isolation === "sandbox") return [`  isolation sandbox (no network)`];
  const meaning = isolation === "unsandboxed"
    ? "UNSANDBOXED: the mutable code runs with your full rights and can reach the network"
    : isolation === "sandbox+network" ? "sandbox, NETWORK ON (sandbox.network)" : safeLine(isolation);
  return [paint(`  isolation ${meaning}`, "yellow", colour)];
}

/** `  budget  5m00s + 25.0s start-up per run (hard limit 5m25s)`: past the hard limit a run is a timeout. */
function budgetLine(limits: NonNullable<EventOf<"session_started">["trainLimits"]>): string {
  const allowance = (limit: (typeof limits)[number]) => `${formatDuration(limit.budgetSeconds * 1000)} + ${formatDuration(limit.startupSeconds * 1000)} start-up`;
  if (limits.length === 1) return `  budget  ${allowance(limits[0])} per run (hard limit ${formatDuration(limits[0].timeoutSeconds * 1000)})`;
  return `  budget  ${limits.map((limit) => `${limit.kind} ${allowance(limit)}`).join(" · ")} per run`;
}

/** `  measure node bench.js, at most 10m00s a run`: a measure-only study's one phase and its hard limit. */
function measureLine(measure: NonNullable<EventOf<"session_started">["measure"]>): string {
  return `  measure ${safeLine(measure.command)}, at most ${formatDuration(measure.timeoutSeconds * 1000)} a run (10× the baselines' time once they ran)`;
}

/** `#12    keep        0.987600    -0.0123   5m02s  description (reason)`, at most `columns` wide. */
/** The label before a description for runs that are not candidates; finalize's runs say what they measure themselves. */
export function kindLabel(kind: ExperimentKind | null): string {
  switch (kind) {
    case "baseline": return "[baseline] ";
    case "confirmation": return "[confirm] ";
    case "remeasure": return "[re-measure] ";
    case "rescore":
    case "ablation": return "[finalize] ";
    case "smoke": return "[smoke] ";
    default: return "";
  }
}

export function experimentLine(line: ExperimentLine, columns: number, colour: boolean): string {
  const id = padEnd(`#${line.id}`, 5);
  // "interrupted" overflows by two; rare enough not to widen every line for it.
  const status = padEnd(line.status, 9);
  const metric = padStart(formatMetric(line.metric), 10);
  const delta = padStart(formatDelta(line.delta), 10);
  const duration = padStart(line.wallMs === null ? "" : formatDuration(line.wallMs), 6);
  const prefix = `${id} ${status} ${metric} ${delta} ${duration}  `;
  const label = kindLabel(line.kind);
  const review = line.flags && line.flags.length > 0 ? `⚑ review: ${formatFlags(line.flags)} · ` : "";
  const detail = review + safeLine(line.reason ? `${line.description} (${line.reason})` : line.description);
  const text = truncate(label + detail, columns - visibleLength(prefix));
  const statusColour = statusColours[line.status] ?? "bold";
  return `${id} ${paint(status, statusColour, colour)} ${metric} ${delta} ${duration}  ${text}`.trimEnd();
}

/** Non-TTY only: the line that says an experiment began (the TTY footer shows this instead). */
export function startedLine(event: EventOf<"experiment_started">, columns: number): string {
  const limit = event.timed === "measure" ? "measure limit" : "budget";
  const prefix = `${padEnd(`#${event.id}`, 5)} ${padEnd("started", 9)} slot ${event.slot} on ${event.device}, ${limit} ${formatDuration(event.budgetSeconds * 1000)}  `;
  const label = kindLabel(event.kind);
  return (prefix + truncate(label + safeLine(event.description), columns - visibleLength(prefix))).trimEnd();
}

export function prepareFinishedLine(event: EventOf<"prepare_finished">, colour: boolean): string {
  if (!event.ok) {
    const error = event.error ? `: ${safeLine(event.error)}` : "";
    return paint(`prepare failed after ${formatDuration(event.wallMs)}${error}`, "red", colour);
  }
  const files = `${event.files} ${event.files === 1 ? "file" : "files"}`;
  if (event.reused) return `prepare: reused the prepared data (${files}, unchanged)`;
  return `prepare: done in ${formatDuration(event.wallMs)} (${files})`;
}

export function noiseLine(event: EventOf<"noise_estimated">): string {
  return `noise: σ = ${formatMetric(event.sigma)} over ${event.samples} baseline runs (baseline ${formatMetric(event.baseline)})`;
}

export function remeasureLine(event: EventOf<"best_remeasured">): string {
  const what = event.of === null ? "the baseline" : `best #${event.of}`;
  const sigma = event.sigma === null ? "" : `; σ = ${formatMetric(event.sigma)} (${event.degreesOfFreedom} df)`;
  return `re-measured ${what}: ${formatMetric(event.metric)}, the mean of ${event.runs} fresh run${event.runs === 1 ? "" : "s"}${event.previous === null ? "" : ` (was ${formatMetric(event.previous)})`}${sigma}`;
}

export interface SummaryContext {
  reason: string;
  direction: "min" | "max" | null;
  bestExperimentId: number | null;
}

export function summaryLines(summary: SessionSummary, context: SummaryContext, colour: boolean): string[] {
  const lines = [
    "",
    paint(`session ${safeLine(summary.tag)} stopped: ${safeLine(context.reason)}`, "bold", colour),
    `  experiments      ${summary.experiments} (kept ${summary.kept}, discarded ${summary.discarded}, failed ${summary.failed})`,
    `  baseline → best  ${formatMetric(summary.baseline)} → ${formatMetric(summary.best)}${improvement(summary, context.direction)}`,
    `  keep rate        ${formatPercent(summary.kept, summary.experiments)}`,
    `  throughput       ${summary.experimentsPerHour.toFixed(1)} experiments/hour over ${formatDuration(summary.elapsedSeconds * 1000)}`,
  ];
  if (summary.noiseSigma !== null) lines.push(`  noise σ          ${formatMetric(summary.noiseSigma)}`);
  lines.push(`  best commit      ${summary.bestCommit ? shortCommit(summary.bestCommit) : "—"}`);
  const showId = context.bestExperimentId === null ? "<id>" : String(context.bestExperimentId);
  lines.push(`  look further     autoresearch results`, `                   autoresearch show ${showId}`);
  return lines;
}

/** ` (-0.0358, -3.50%, better)`: the change from baseline to best, and whether it helped. */
function improvement(summary: SessionSummary, direction: "min" | "max" | null): string {
  if (summary.baseline === null || summary.best === null) return "";
  const change = summary.best - summary.baseline;
  const parts = [formatDelta(change)];
  if (summary.baseline !== 0) parts.push(`${change >= 0 ? "+" : ""}${((change / Math.abs(summary.baseline)) * 100).toFixed(2)}%`);
  if (direction !== null && change !== 0) {
    const improved = direction === "min" ? change < 0 : change > 0;
    parts.push(improved ? "better" : "worse");
  }
  return ` (${parts.join(", ")})`;
}

export interface RunningRow {
  id: number;
  kind: ExperimentKind;
  slot: number;
  device: string;
  phase: string;
  description: string;
  elapsedMs: number;
  budgetSeconds: number;
}

/** One footer row per running experiment; a row never wraps (it stays under `columns`). */
export function runningRowLine(row: RunningRow, columns: number): string {
  const budgetMs = row.budgetSeconds * 1000;
  const bar = progressBar(budgetMs > 0 ? row.elapsedMs / budgetMs : 1, 20);
  const time = `${formatDuration(row.elapsedMs)}/${formatDuration(budgetMs)}`;
  const prefix = ` [${row.slot}] ${padEnd(row.device, 7)} ${padEnd(`#${row.id}`, 5)} ${padEnd(row.phase, 8)} ${bar} ${padEnd(time, 13)} `;
  const label = kindLabel(row.kind);
  return fit(prefix, label + safeLine(row.description), columns - 1);
}

export interface StatusRow {
  best: number | null;
  bestExperimentId: number | null;
  /** Kept and finished in the whole session (a resumed one counts its earlier runs). */
  kept: number;
  finished: number;
  /** Finished during this run, over elapsedMs (the rate); `finished` when absent. */
  finishedThisRun?: number;
  elapsedMs: number;
  running: number;
}

export function statusRowLine(status: StatusRow, columns: number): string {
  const best = status.best === null ? "—" : formatMetric(status.best) + (status.bestExperimentId === null ? "" : ` (#${status.bestExperimentId})`);
  const text = ` best ${best} · kept ${status.kept}/${status.finished} (${formatPercent(status.kept, status.finished)}) · ${formatRate(status.finishedThisRun ?? status.finished, status.elapsedMs)} · ${status.running} running`;
  return fit("", text, columns - 1);
}

function fit(prefix: string, rest: string, width: number): string {
  if (visibleLength(prefix) >= width) return truncate(prefix, width);
  return (prefix + truncate(rest, width - visibleLength(prefix))).trimEnd();
}

function shortCommit(commit: string): string {
  return commit.slice(0, 8);
}
