// The finalize report as words: one status line, a terminal block and a Markdown block (for a README
// or a pull request). Pure.
import type { DifferenceInterval, MeanSummary } from "../stats/intervals.ts";
import { safeLine } from "../text/safe-text.ts";
import { formatDelta, formatMetric } from "../views/format.ts";
import type { ChangeResult, FinalizeReport, MetricComparison } from "./report.ts";

/** The clean review branch finalize wrote (or why it did not). */
export interface CleanBranch {
  name: string;
  /** One commit per kept change that mattered, oldest first. */
  commits: Array<{ commit: string; keptId: number; description: string; with: number[] }>;
  /** Kept changes left out (no measurable contribution, harmful, not separable, not measured). */
  leftOut: number[];
  /** Whether the branch's final tree is the best's (true when every keep mattered). */
  equalsBest: boolean;
  /** Why the branch was not written; null when it was. */
  problem: string | null;
}

/** "gain +0.0123 [+0.0051, +0.0195] of claimed +0.0150 (82%); 1 of 2 keeps survived". */
export function survivalSummary(report: FinalizeReport): string {
  const stale = report.stale ? ` (round ${report.round}, before the best moved: run finalize again)` : "";
  if (report.bestExperimentId === null) return `no keeps: the baseline re-scored at ${meanText(report.metric.baseline)}${stale}`;
  const claimed = report.claimed === null ? "" : ` of claimed ${formatDelta(report.claimed)}${report.survived === null ? "" : ` (${Math.round(report.survived * 100)}%)`}`;
  const keeps = report.keepsSurvived === null ? "keeps not ablated" : `${report.keepsSurvived} of ${report.keeps} keep${report.keeps === 1 ? "" : "s"} survived`;
  return `gain ${intervalText(report.metric.gain)}${claimed}; ${keeps}${stale}`;
}

export function reportText(report: FinalizeReport, branch: CleanBranch | null = null): string {
  const better = report.direction === "min" ? "lower is better" : "higher is better";
  const lines = [
    `finalize ${report.tag} (round ${report.round}): ${report.runsAsked} fresh runs of each code, interleaved; ${Math.round(report.confidence * 100)}% t intervals; ${report.metricName}, ${better}`,
    `  re-score  baseline ${meanText(report.metric.baseline)} → best ${meanText(report.metric.best)}`,
  ];
  if (report.bestExperimentId === null) {
    lines.push("            nothing was kept: the best is the baseline's code, so only the baseline was re-scored");
  } else {
    const claimed = report.claimed === null ? "" : ` of the session's claimed ${formatDelta(report.claimed)}${report.survived === null ? "" : `: ${Math.round(report.survived * 100)}% survived`}`;
    lines.push(`            gain ${intervalText(report.metric.gain)}${claimed}`);
  }
  if (report.heldOut) lines.push(`  held-out  ${report.heldOutName}: baseline ${meanText(report.heldOut.baseline)} → best ${meanText(report.heldOut.best)}${report.heldOut.gain ? `, gain ${intervalText(report.heldOut.gain)}` : ""}`);
  if (report.changes.length > 0) {
    lines.push(report.ablation ? "  ablation  the best without each kept change (+ = the change helps):" : "  ablation  not run (--no-ablation); the kept changes:");
    for (const change of report.changes) lines.push(`    #${change.id} ${safeLine(change.description)}: ${changeText(change)}`);
    if (report.keepsSurvived !== null) lines.push(`  ${report.keepsSurvived} of ${report.keeps} keep${report.keeps === 1 ? "" : "s"} survived`);
  }
  for (const keep of report.superseded) lines.push(`  #${keep.id} ${safeLine(keep.description)}: kept, but not in the final best (a later winner was built on an older best)`);
  if (report.runs.failed + report.runs.interrupted > 0) lines.push(`  runs: ${report.runs.ok} ok, ${report.runs.failed} failed, ${report.runs.interrupted} interrupted (only ok runs count)`);
  if (report.stale) lines.push(`  the session's best moved after this finalize: run \`autoresearch finalize --tag ${report.tag}\` again`);
  if (branch) lines.push(`  ${branchText(branch)}`);
  return lines.join("\n");
}

export function reportMarkdown(report: FinalizeReport, branch: CleanBranch | null = null): string {
  const better = report.direction === "min" ? "lower is better" : "higher is better";
  const lines = [
    `### What survived: session \`${report.tag}\``,
    "",
    `${report.runsAsked} fresh runs each of the baseline code and the final best, interleaved; ${Math.round(report.confidence * 100)}% t intervals; \`${report.metricName}\`, ${better}.`,
    "",
    "| metric | baseline | final best | gain (+ = better) |",
    "|---|---|---|---|",
    comparisonRow(`\`${report.metricName}\``, report.metric),
    ...(report.heldOut ? [comparisonRow(`\`${report.heldOutName}\` (held out)`, report.heldOut)] : []),
    "",
  ];
  if (report.bestExperimentId === null) lines.push("Nothing was kept: the best is the baseline's code.", "");
  else if (report.claimed !== null && report.metric.gain) {
    lines.push(`The session claimed ${formatDelta(report.claimed)}; the re-score measures ${formatDelta(report.metric.gain.estimate)}${report.survived === null ? "" : ` (${Math.round(report.survived * 100)}% survived)`}.`, "");
  }
  if (report.changes.length > 0 && report.ablation) {
    lines.push("| kept change | the best without it | contribution (+ = helps) | verdict |", "|---|---|---|---|");
    for (const change of report.changes) {
      lines.push(`| #${change.id} ${markdownCell(change.description)} | ${methodText(change)} | ${change.contribution ? intervalText(change.contribution) : "—"} | ${change.verdict} |`);
    }
    lines.push("", `${report.keepsSurvived} of ${report.keeps} keep${report.keeps === 1 ? "" : "s"} survived.`);
  }
  if (branch) lines.push("", branchText(branch).replace(/^clean branch (\S+?):/, "Clean branch `$1`:"));
  return lines.join("\n");
}

function comparisonRow(name: string, comparison: MetricComparison): string {
  return `| ${name} | ${meanText(comparison.baseline)} | ${meanText(comparison.best)} | ${comparison.gain ? intervalText(comparison.gain) : "—"} |`;
}

function changeText(change: ChangeResult): string {
  if (change.contribution === null) return change.verdict;
  return `${intervalText(change.contribution)} ${change.verdict} (${methodText(change)})`;
}

function methodText(change: ChangeResult): string {
  if (change.method === "baseline") return "the baseline's code";
  if (change.method === "reverted") return "reverted from the best";
  if (change.method === "reapplied") return "the others re-applied";
  return "—";
}

function branchText(branch: CleanBranch): string {
  if (branch.problem !== null) return `clean branch ${branch.name}: not written: ${branch.problem}`;
  const commits = branch.commits.map((each) => `${each.commit.slice(0, 7)} #${each.keptId}${each.with.length > 0 ? ` (with ${each.with.map((id) => `#${id}`).join(", ")})` : ""}`).join(", ");
  const leftOut = branch.leftOut.length > 0 ? `; left out ${branch.leftOut.map((id) => `#${id}`).join(", ")}` : "";
  return `clean branch ${branch.name}: ${branch.commits.length} commit${branch.commits.length === 1 ? "" : "s"} (${commits})${leftOut}; its tree ${branch.equalsBest ? "is" : "is not"} the best's`;
}

function meanText(summary: MeanSummary | null): string {
  if (summary === null) return "—";
  if (!Number.isFinite(summary.low)) return `${formatMetric(summary.estimate)} (n=${summary.n})`;
  return `${formatMetric(summary.estimate)} ±${formatDelta(summary.high - summary.estimate).slice(1)} (n=${summary.n})`;
}

export function intervalText(interval: DifferenceInterval | null): string {
  if (interval === null) return "—";
  if (!Number.isFinite(interval.low) || !Number.isFinite(interval.high)) return `${formatDelta(interval.estimate)} [too few runs for an interval]`;
  return `${formatDelta(interval.estimate)} [${formatDelta(interval.low)}, ${formatDelta(interval.high)}]`;
}

function markdownCell(text: string): string {
  return safeLine(text).replace(/\|/g, "\\|");
}
