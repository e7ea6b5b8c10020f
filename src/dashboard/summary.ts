// The session summary the dashboard shows, computed from the rows it already holds
// (the counting rules of `autoresearch status`: core/summary.ts).
import type { SessionRecord } from "../core/session.ts";
import { summarise } from "../core/summary.ts";
import { safeLine } from "../text/safe-text.ts";
import { progressSeries } from "./progress.ts";
import type { ExperimentRow, FinalizedView, SessionListItem, SessionSummaryView } from "./api.ts";

/** The parts of a session's committed config the views need; anything missing gets its default. */
export function sessionSettings(config: unknown): { name: string | null; metricName: string; heldOutName: string | null; direction: "min" | "max"; budgetSeconds: number | null; budgetByDevice: { cpu?: number; cuda?: number }; slots: number; measureOnly: boolean } {
  const raw = (config ?? {}) as { name?: unknown; metric?: { name?: unknown; heldOut?: unknown; direction?: unknown }; budgetSeconds?: unknown; budgetByDevice?: Record<string, unknown>; slots?: unknown; train?: unknown; measure?: unknown };
  const budgetByDevice: { cpu?: number; cuda?: number } = {};
  for (const kind of ["cpu", "cuda"] as const) {
    const value = raw.budgetByDevice?.[kind];
    if (typeof value === "number") budgetByDevice[kind] = value;
  }
  return {
    name: typeof raw.name === "string" ? safeLine(raw.name) : null,
    metricName: typeof raw.metric?.name === "string" ? safeLine(raw.metric.name) : "metric",
    heldOutName: typeof raw.metric?.heldOut === "string" ? safeLine(raw.metric.heldOut) : null,
    direction: raw.metric?.direction === "max" ? "max" : "min",
    budgetSeconds: typeof raw.budgetSeconds === "number" ? raw.budgetSeconds : null,
    budgetByDevice,
    slots: typeof raw.slots === "number" && raw.slots > 0 ? raw.slots : 1,
    measureOnly: raw.measure !== undefined && raw.train === undefined,
  };
}

export function summarizeSession(session: SessionRecord, rows: readonly ExperimentRow[], nowMs: number, finalized: FinalizedView | null = null): SessionSummaryView {
  const settings = sessionSettings(session.config);
  const { experiments, running, kept, discarded, failed, baseline } = summarise(rows);
  let tokens = 0;
  let costUsd: number | null = null;
  let firstMs = Infinity, lastMs = -Infinity;
  const slotsSeen = new Set<number>();
  for (const row of rows) {
    slotsSeen.add(row.slot);
    if (row.costUsd !== null) costUsd = (costUsd ?? 0) + row.costUsd;
    tokens += row.tokens;
    firstMs = Math.min(firstMs, Date.parse(row.startedAt));
    lastMs = Math.max(lastMs, row.finishedAt === null ? nowMs : Date.parse(row.finishedAt));
  }
  const elapsedMs = rows.length > 0 ? Math.max(0, lastMs - firstMs) : 0;
  const hours = elapsedMs / 3_600_000;
  const slots = Math.max(settings.slots, slotsSeen.size);
  const perHour = hours > 0 && experiments > 0 ? experiments / hours : null;
  return {
    tag: session.tag,
    state: session.state,
    stopReason: session.stopReason === null ? null : safeLine(session.stopReason),
    isolation: session.isolation,
    name: settings.name,
    metricName: settings.metricName,
    heldOutName: settings.heldOutName,
    direction: settings.direction,
    budgetSeconds: settings.budgetSeconds,
    budgetByDevice: settings.budgetByDevice,
    measureOnly: settings.measureOnly,
    slots,
    experiments,
    running,
    kept,
    discarded,
    failed,
    keepRate: kept + discarded > 0 ? kept / (kept + discarded) : null,
    baseline,
    best: session.bestMetric,
    bestExperimentId: session.bestExperimentId,
    improvement: baseline !== null && session.bestMetric !== null ? session.bestMetric - baseline : null,
    noiseSigma: session.noiseSigma,
    noiseSamples: progressSeries(rows).noiseSamples,
    elapsedMs,
    perHour,
    perSlotPerHour: perHour === null ? null : perHour / slots,
    costUsd,
    tokens,
    startedAt: rows.length > 0 ? new Date(firstMs).toISOString() : null,
    finalized,
  };
}

export function listItem(session: SessionRecord): SessionListItem {
  return { tag: session.tag, state: session.state, createdAt: session.createdAt, bestMetric: session.bestMetric };
}
