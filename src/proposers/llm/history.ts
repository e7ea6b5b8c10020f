// The history parts of the prompt: a compact table of recent and best experiments, the ideas
// already tried, insights, and log tails of recent failures. All bounded. Everything here holds text
// that proposers or experiments wrote, so each part reaches the model inside an untrusted-data block.
import type { HistoryEntry, ProposalContext } from "../types.ts";
import { safeLine } from "../../text/safe-text.ts";
import { wrapUntrusted } from "../../text/untrusted.ts";

export const HISTORY_BOUNDS = {
  recentRows: 12,
  bestRows: 3,
  ideaLines: 60,
  descriptionChars: 110,
  failureTails: 2,
  tailChars: 3000,
  reasonChars: 400,
  /** Bound of one wrapped block of the table, hypotheses or ideas (their rows are bounded already). */
  blockChars: 20_000,
} as const;

const UNFINISHED = new Set(["queued", "running"]);

export function isFinished(entry: HistoryEntry): boolean {
  return entry.id > 0 && !UNFINISHED.has(entry.status);
}

/** The table's rows: the most recent ones plus the best kept ones, oldest first. */
export function tableEntries(context: ProposalContext): HistoryEntry[] {
  const sign = context.metric.direction === "min" ? 1 : -1;
  const best = context.history
    .filter((entry) => entry.decision === "keep" && entry.metric !== null)
    .sort((a, b) => sign * (a.metric! - b.metric!))
    .slice(0, HISTORY_BOUNDS.bestRows);
  const recent = context.history.slice(-HISTORY_BOUNDS.recentRows);
  const chosen = new Set([...best, ...recent]);
  return context.history.filter((entry) => chosen.has(entry));
}

export function experimentsTable(context: ProposalContext, rows: HistoryEntry[]): string {
  if (rows.length === 0) return "No experiments have finished yet.";
  const better = context.metric.direction === "min" ? "negative is better" : "positive is better";
  const header = [`| # | status | ${context.metric.name} | Δ vs best (${better}) | description |`, "|---|---|---|---|---|"];
  const lines = rows.map((entry) => {
    const id = entry.worker !== undefined ? `worker ${entry.worker}` : entry.id > 0 ? String(entry.id) : "queued";
    const status = entry.decision ? `${entry.status}, ${entry.decision}` : entry.kind === "baseline" ? `${entry.status} (baseline)` : entry.status;
    return `| ${id} | ${status} | ${formatNumber(entry.metric)} | ${formatDelta(entry.delta)} | ${cell(entry.description, HISTORY_BOUNDS.descriptionChars)} |`;
  });
  return wrapUntrusted("experiment table (descriptions written by proposers)", [...header, ...lines].join("\n"), HISTORY_BOUNDS.blockChars);
}

/** Hypotheses and recorded insights of the table's candidates (the raw history before a notebook exists). */
export function hypothesesList(rows: HistoryEntry[], insights: Map<number, string>): string {
  const lines = rows
    .filter((entry) => entry.kind === "candidate" && entry.hypothesis)
    .map((entry) => {
      const insight = insights.get(entry.id);
      return `- ${entry.id > 0 ? `#${entry.id}` : "queued"}: ${cell(entry.hypothesis, 300)}${insight ? ` — learned: ${cell(insight, 200)}` : ""}`;
    });
  return lines.length > 0 ? wrapUntrusted("hypotheses and insights written by proposers", lines.join("\n"), HISTORY_BOUNDS.blockChars) : "";
}

/** One line per earlier idea not already in the table, newest first, so it is not proposed again. */
export function ideasTried(context: ProposalContext, shown: HistoryEntry[]): string {
  const inTable = new Set(shown);
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const entry of [...context.history].reverse()) {
    if (inTable.has(entry) || entry.kind !== "candidate") continue;
    const key = entry.description.trim().toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    const outcome = entry.decision ?? entry.status;
    lines.push(`- ${cell(entry.description, HISTORY_BOUNDS.descriptionChars)} (${outcome})`);
    if (lines.length >= HISTORY_BOUNDS.ideaLines) break;
  }
  return lines.length > 0 ? wrapUntrusted("descriptions of earlier proposals", lines.join("\n"), HISTORY_BOUNDS.blockChars) : "";
}

/** Insights the model recorded in later proposals, by the experiment they are about. */
export function collectInsights(history: HistoryEntry[]): Map<number, string> {
  const insights = new Map<number, string>();
  for (const entry of history) {
    const insight = (entry.meta as { insight?: { experiment?: unknown; text?: unknown } } | null)?.insight;
    if (insight && typeof insight.experiment === "number" && typeof insight.text === "string") insights.set(insight.experiment, insight.text);
  }
  return insights;
}

/** Reasons and log tails of the most recent failures, each inside an untrusted-data block. */
export function failureReports(history: HistoryEntry[]): string {
  const failed = history.filter((entry) => isFinished(entry) && entry.status !== "ok" && entry.status !== "interrupted" && (entry.reason || entry.logTail));
  return failed
    .slice(-HISTORY_BOUNDS.failureTails)
    .map((entry) => {
      // The description stays out of this line: it is proposer text, and the table above has it.
      const parts = [`Experiment ${entry.id} ended with status ${entry.status}.`];
      if (entry.reason) parts.push(wrapUntrusted(`failure reason of experiment ${entry.id}`, entry.reason, HISTORY_BOUNDS.reasonChars));
      if (entry.logTail) parts.push(wrapUntrusted(`log tail of experiment ${entry.id}`, entry.logTail, HISTORY_BOUNDS.tailChars));
      return parts.join("\n");
    })
    .join("\n\n");
}

/** The latest finished experiment, which an answer's INSIGHT line is about unless it names another. */
export function latestFinished(history: HistoryEntry[]): HistoryEntry | null {
  return history.filter(isFinished).at(-1) ?? null;
}

export function formatNumber(value: number | null): string {
  if (value === null) return "—";
  return Number.isInteger(value) ? String(value) : value.toPrecision(6).replace(/\.?0+$/, "");
}

function formatDelta(delta: number | null): string {
  if (delta === null) return "—";
  return `${delta > 0 ? "+" : ""}${formatNumber(delta)}`;
}

/** One table cell: control characters visible, no newlines or pipes, bounded. */
function cell(text: string, max: number): string {
  const flat = safeLine(text).replace(/\s+/g, " ").replace(/\|/g, "/").trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}
