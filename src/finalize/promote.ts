// `promote`: do the gains found at the session's budget hold at a longer one? Which kept candidates to
// re-run (the top k, best first), what each run records (meta.promote on a `rescore` row), and the report
// computed from the ledger rows alone: each candidate's gain over the baseline with its t interval at the
// session's budget and at the longer one. Pure.
import type { ExperimentRecord } from "../core/experiment.ts";
import { differenceInterval, mean, type DifferenceInterval } from "../stats/intervals.ts";
import { FINALIZE_CONFIDENCE, type ReportSettings } from "./report.ts";
import { intervalText } from "./render.ts";

export type PromoteRow = Pick<ExperimentRecord, "id" | "kind" | "status" | "metric" | "meta" | "decision" | "confirms" | "candidateCommit" | "description">;

/** What one promote run measures; stored as meta.promote on its ledger row (kind rescore). */
export interface PromoteMeta {
  /** Which promote of the session (1, 2, ...): views read the latest. */
  round: number;
  role: "baseline" | "candidate";
  /** For a candidate: the kept experiment whose code this runs. */
  of: number | null;
  budgetSeconds: number;
  /** The session's own budget, for the comparison. */
  sessionBudgetSeconds: number;
  k: number;
  runs: number;
}

export function promoteMetaOf(meta: unknown): PromoteMeta | null {
  const inner = (meta as { promote?: unknown } | null)?.promote as Partial<PromoteMeta> | undefined;
  if (inner === undefined || inner === null || typeof inner !== "object") return null;
  if (typeof inner.round !== "number" || (inner.role !== "baseline" && inner.role !== "candidate") || typeof inner.budgetSeconds !== "number") return null;
  return {
    round: inner.round, role: inner.role, of: typeof inner.of === "number" ? inner.of : null, budgetSeconds: inner.budgetSeconds,
    sessionBudgetSeconds: typeof inner.sessionBudgetSeconds === "number" ? inner.sessionBudgetSeconds : 0,
    k: typeof inner.k === "number" ? inner.k : 0, runs: typeof inner.runs === "number" ? inner.runs : 0,
  };
}

/** The session's runs of one kept candidate's code: its own, its confirmations and its re-measures (the finished, ok ones). */
export function sessionRunsOf(rows: readonly PromoteRow[], id: number): number[] {
  return rows
    .filter((row) => row.status === "ok" && row.metric !== null && (row.id === id || ((row.kind === "confirmation" || row.kind === "remeasure") && row.confirms === id)))
    .map((row) => row.metric!);
}

/** The top k kept candidates by the mean of their session runs, best first. */
export function promotedCandidates(rows: readonly PromoteRow[], k: number, direction: "min" | "max"): Array<{ id: number; commit: string; description: string; metric: number }> {
  const kept = rows
    .filter((row) => row.kind === "candidate" && row.decision === "keep" && row.candidateCommit !== null)
    .map((row) => ({ id: row.id, commit: row.candidateCommit!, description: row.description, metric: mean(sessionRunsOf(rows, row.id)) }));
  const sign = direction === "min" ? 1 : -1;
  return kept.sort((a, b) => sign * (a.metric - b.metric) || a.id - b.id).slice(0, k);
}

/**
 * holds        the gain's interval at the longer budget lies above 0
 * not shown    it covers 0: at that scale the gain is not measurable with these runs
 * reverses     it lies below 0: worse than the baseline at the longer budget
 * not measured its runs failed or were interrupted
 */
export type TransferVerdict = "holds" | "not shown" | "reverses" | "not measured";

export interface PromotedResult {
  id: number;
  description: string;
  /** Gain over the baseline (positive = better) at the session's budget, from the session's runs. */
  short: DifferenceInterval | null;
  /** The same at the longer budget, from the promote runs. */
  long: DifferenceInterval | null;
  verdict: TransferVerdict;
  runIds: number[];
}

export interface PromoteReport {
  tag: string;
  round: number;
  metricName: string;
  direction: "min" | "max";
  confidence: number;
  budgetSeconds: number;
  sessionBudgetSeconds: number;
  runsAsked: number;
  baselineRuns: { short: number; long: number };
  candidates: PromotedResult[];
}

/** The latest promote of the session from its rows, or null when promote never ran on it. */
export function promoteReport(tag: string, rows: readonly PromoteRow[], settings: Pick<ReportSettings, "metricName" | "direction">): PromoteReport | null {
  const measured = rows
    .filter((row) => row.kind === "rescore")
    .map((row) => ({ row, meta: promoteMetaOf(row.meta) }))
    .filter((each): each is { row: PromoteRow; meta: PromoteMeta } => each.meta !== null);
  if (measured.length === 0) return null;
  const round = Math.max(...measured.map((each) => each.meta.round));
  const ofRound = measured.filter((each) => each.meta.round === round);
  const first = ofRound[0]!.meta;
  const ok = ofRound.filter((each) => each.row.status === "ok" && each.row.metric !== null);
  const longOf = (role: PromoteMeta["role"], of: number | null) => ok.filter((each) => each.meta.role === role && each.meta.of === of);
  const sessionBaseline = rows.filter((row) => row.kind === "baseline" && row.status === "ok" && row.metric !== null).map((row) => row.metric!);
  const longBaseline = longOf("baseline", null).map((each) => each.row.metric!);
  const ids = [...new Set(ofRound.filter((each) => each.meta.role === "candidate").map((each) => each.meta.of!))];
  const shortGroups = [sessionBaseline, ...ids.map((id) => sessionRunsOf(rows, id))];
  const longGroups = [longBaseline, ...ids.map((id) => longOf("candidate", id).map((each) => each.row.metric!))];
  const sign = settings.direction === "min" ? 1 : -1;
  const candidates = ids.map((id, index): PromotedResult => {
    const short = gainInterval(sessionBaseline, shortGroups[index + 1]!, shortGroups, sign);
    const long = gainInterval(longBaseline, longGroups[index + 1]!, longGroups, sign);
    const description = rows.find((row) => row.id === id)?.description ?? `#${id}`;
    return { id, description, short, long, verdict: verdictOf(long), runIds: longOf("candidate", id).map((each) => each.row.id) };
  });
  return {
    tag, round, metricName: settings.metricName, direction: settings.direction, confidence: FINALIZE_CONFIDENCE,
    budgetSeconds: first.budgetSeconds, sessionBudgetSeconds: first.sessionBudgetSeconds, runsAsked: first.runs,
    baselineRuns: { short: sessionBaseline.length, long: longBaseline.length }, candidates,
  };
}

/**
 * reference − measured (min) or measured − reference (max), with σ pooled over every group of runs at that
 * budget (the baseline's and each candidate's), so a candidate with one session run still gets an interval.
 */
function gainInterval(reference: readonly number[], measured: readonly number[], groups: readonly (readonly number[])[], sign: 1 | -1): DifferenceInterval | null {
  if (reference.length === 0 || measured.length === 0) return null;
  const pooled = pooledSigma(groups);
  const options = pooled === null ? { confidence: FINALIZE_CONFIDENCE } : { confidence: FINALIZE_CONFIDENCE, sigma: pooled.sigma, degreesOfFreedom: pooled.degreesOfFreedom };
  return sign === 1 ? differenceInterval(reference, measured, options) : differenceInterval(measured, reference, options);
}

export function pooledSigma(groups: readonly (readonly number[])[]): { sigma: number; degreesOfFreedom: number } | null {
  let squares = 0;
  let degreesOfFreedom = 0;
  for (const group of groups) {
    if (group.length < 2) continue;
    const centre = mean(group);
    squares += group.reduce((sum, value) => sum + (value - centre) ** 2, 0);
    degreesOfFreedom += group.length - 1;
  }
  return degreesOfFreedom === 0 ? null : { sigma: Math.sqrt(squares / degreesOfFreedom), degreesOfFreedom };
}

function verdictOf(gain: DifferenceInterval | null): TransferVerdict {
  if (gain === null) return "not measured";
  if (gain.low > 0) return "holds";
  if (gain.high < 0) return "reverses";
  return "not shown";
}

/** "promoted at 600 s: #4 holds, #7 not shown" (status). */
export function promoteSummary(report: PromoteReport): string {
  const each = report.candidates.map((candidate) => `#${candidate.id} ${candidate.verdict}`).join(", ");
  return `at ${report.budgetSeconds} s (session ${report.sessionBudgetSeconds} s), ${report.runsAsked} runs each: ${each}`;
}

export function promoteText(report: PromoteReport): string {
  const better = report.direction === "min" ? "lower is better" : "higher is better";
  const lines = [
    `promote ${report.tag} (round ${report.round}): the top ${report.candidates.length} kept candidate${report.candidates.length === 1 ? "" : "s"} and the baseline at ${report.budgetSeconds} s (the session's budget: ${report.sessionBudgetSeconds} s), ${report.runsAsked} runs each, interleaved; ${report.metricName}, ${better}`,
    `  gain over the baseline (+ = better), ${Math.round(report.confidence * 100)}% t intervals, σ pooled over the runs at each budget; the baseline from ${report.baselineRuns.short} session run${report.baselineRuns.short === 1 ? "" : "s"} / ${report.baselineRuns.long} promote runs`,
  ];
  for (const candidate of report.candidates) {
    lines.push(`  #${candidate.id}  at ${report.sessionBudgetSeconds} s ${intervalText(candidate.short)}  →  at ${report.budgetSeconds} s ${intervalText(candidate.long)}  ${candidate.verdict}  ${candidate.description}`);
  }
  return lines.join("\n");
}
