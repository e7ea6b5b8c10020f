// What the MCP tools show an agent. An agent driving a session is a proposer, so it never sees
// the held-out metric (that stays with the human: `autoresearch status/results/show`), and
// workload output (log tails) is labelled as data.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { wrapUntrusted, UNTRUSTED_NOTICE } from "../text/untrusted.ts";
import { notebookPath } from "../proposers/llm/notebook.ts";
import { Ledger, LEDGER_FILE, type LedgerExperiment } from "../ledger/sqlite.ts";
import type { SessionRecord } from "../core/session.ts";
import { lockHolder, sessionState } from "../loop/lock.ts";
import { summarize } from "../loop/summary.ts";
import { projectPaths, sessionDir } from "../project/paths.ts";
import { readLogTail } from "../text/log-tail.ts";
import { formatDelta, formatDuration, formatMetric, truncate } from "../views/format.ts";

const DIFF_CHARS = 20_000;
const LOG_TAIL_LINES = 30;

/** Runs `read` on the project's ledger (read-only), or returns null when no session was ever run. */
export function withLedger<T>(projectDir: string, read: (ledger: Ledger) => T): T | null {
  const paths = projectPaths(projectDir);
  if (!existsSync(join(paths.stateDir, LEDGER_FILE))) return null;
  const ledger = Ledger.open(paths.stateDir, { readOnly: true });
  try {
    return read(ledger);
  } finally {
    ledger.close();
  }
}

export function findSession(ledger: Ledger, tag: string | undefined): SessionRecord | null {
  return tag ? ledger.getSession(tag) : (ledger.listSessions().at(-1) ?? null);
}

export const NO_SESSION = "no session yet: call run_experiment to start one (it runs the unchanged code as the baseline first, then your change)";

export function statusView(projectDir: string, ledger: Ledger, session: SessionRecord): Record<string, unknown> {
  const paths = projectPaths(projectDir);
  const rows = ledger.listExperiments({ tag: session.tag, order: "asc" });
  const first = rows[0]?.startedAt ? Date.parse(rows[0].startedAt) : Date.now();
  const last = rows.at(-1)?.finishedAt ?? rows.at(-1)?.startedAt;
  const summary = summarize(ledger, session.tag, (last ? Date.parse(last) : Date.now()) - first);
  const holder = session.state === "running" ? lockHolder(paths.lockFile, session.tag) : null;
  const config = session.config as { metric?: { name?: string; direction?: string }; mutable?: string[]; protected?: string[] };
  return {
    ...summary,
    metric: config.metric?.name, direction: config.metric?.direction,
    mutable: config.mutable, protected: config.protected,
    branch: session.branch, bestCommit: session.bestCommit, bestExperimentId: session.bestExperimentId, baseCommit: session.baseCommit,
    state: sessionState(session.state, holder), stopReason: session.stopReason, harnessPid: holder, isolation: session.isolation,
    flagged: rows.filter((row) => row.flags.length > 0).map((row) => ({ id: row.id, flags: row.flags })),
    running: rows.filter((row) => row.status === "running").map((row) => ({ id: row.id, description: row.description, startedAt: row.startedAt })),
    notebook: notebookPath(sessionDir(paths, session.tag)),
    sessions: ledger.listSessions().map((known) => known.tag),
    howTo: `Edit the mutable files in your checkout (start from the best: git checkout ${session.branch} -- .), then call run_experiment.`,
  };
}

export function resultsTable(ledger: Ledger, session: SessionRecord): string {
  const rows = ledger.listExperiments({ tag: session.tag, order: "asc" });
  const metricName = (session.config as { metric?: { name?: string } }).metric?.name ?? "metric";
  if (rows.length === 0) return `session ${session.tag}: no experiments yet`;
  const lines = [`${"id".padStart(4)}  ${"result".padEnd(11)} ${metricName.padStart(12)} ${"delta".padStart(11)} ${"time".padStart(7)}  description`];
  for (const row of rows) {
    const result = row.decision ?? row.status;
    const mark = row.selfReported ? "*" : " ";
    const what = `${row.flags.length > 0 ? "⚑ " : ""}${row.kind === "candidate" ? "" : `[${row.kind}] `}${row.description}${row.reason && row.status !== "ok" ? ` — ${row.reason}` : ""}`;
    lines.push(truncate(`${String(row.id).padStart(4)}  ${result.padEnd(11)} ${formatMetric(row.metric).padStart(12)}${mark}${formatDelta(row.delta).padStart(11)} ${formatDuration(row.timings.totalMs ?? 0).padStart(7)}  ${what}`, 200));
  }
  if (rows.some((row) => row.selfReported)) lines.push("* self-reported: read from the training output, not from a protected evaluator");
  lines.push(`best: ${formatMetric(session.bestMetric)}${session.bestExperimentId ? ` (experiment ${session.bestExperimentId})` : " (the baseline)"} on ${session.branch}`);
  return lines.join("\n");
}

/** The experiment table as data (results' structuredContent): what the text table shows, per row. */
export function resultsData(ledger: Ledger, session: SessionRecord): Record<string, unknown> {
  const rows = ledger.listExperiments({ tag: session.tag, order: "asc" });
  return {
    session: session.tag,
    metric: (session.config as { metric?: { name?: string } }).metric?.name ?? null,
    experiments: rows.map((row) => ({
      id: row.id, kind: row.kind, result: row.decision ?? row.status, metric: row.metric, delta: row.delta, selfReported: row.selfReported,
      description: row.description, reason: row.reason, flags: row.flags, seconds: row.timings.totalMs === undefined ? null : row.timings.totalMs / 1000,
    })),
    best: { metric: session.bestMetric, experimentId: session.bestExperimentId, branch: session.branch },
  };
}

/** One experiment as data (show_experiment's structuredContent), without the held-out metric; the log tail stays in the text. */
export function experimentData(row: LedgerExperiment): Record<string, unknown> {
  return {
    id: row.id, session: row.tag, kind: row.kind, proposer: row.proposer, status: row.status, decision: row.decision, reason: row.reason,
    description: row.description, hypothesis: row.hypothesis, metric: row.metric, selfReported: row.selfReported, bestBefore: row.bestBefore,
    delta: row.delta, secondary: row.secondary, rationale: row.rationale, flags: row.flags, parentCommit: row.parentCommit,
    candidateCommit: row.candidateCommit, timings: row.timings, diff: cutDiff(row.diff),
  };
}

function cutDiff(diff: string): string {
  return diff.length > DIFF_CHARS ? `${diff.slice(0, DIFF_CHARS)}\n[... ${diff.length - DIFF_CHARS} more characters of diff ...]` : diff;
}

export function experimentView(row: LedgerExperiment): string {
  const metrics = Object.entries(row.secondary).map(([name, value]) => `${name}=${formatMetric(value)}`).join("  ");
  const diff = cutDiff(row.diff);
  const lines = [
    `experiment ${row.id} (${row.kind}) in session ${row.tag}, proposer ${row.proposer}`,
    `status:      ${row.status}${row.decision ? ` → ${row.decision}` : ""}`,
    ...(row.reason ? [`reason:      ${row.reason}`] : []),
    ...row.flags.map((flag) => `⚑ review:    ${flag.kind.replace(/_/g, " ")}: ${flag.detail}`),
    `description: ${row.description}`,
    ...(row.hypothesis ? [`hypothesis:  ${row.hypothesis}`] : []),
    `metric:      ${formatMetric(row.metric)}${row.selfReported ? " (self-reported)" : ""}  best before ${formatMetric(row.bestBefore)}  delta ${formatDelta(row.delta) || "—"}`,
    ...(metrics ? [`secondary:   ${metrics}`] : []),
    ...(row.rationale ? [`decision:    ${row.rationale}`] : []),
    `commits:     parent ${row.parentCommit.slice(0, 10)}  candidate ${row.candidateCommit?.slice(0, 10) ?? "-"}`,
    `timings:     ${Object.entries(row.timings).map(([phase, ms]) => `${phase.replace(/Ms$/, "")} ${formatDuration(ms ?? 0)}`).join(", ")}`,
    "",
    diff ? `--- diff\n${diff.trimEnd()}` : "--- no diff (the code as it was)",
  ];
  const tail = logTailBlock(row);
  if (tail) lines.push("", tail);
  return lines.join("\n");
}

/** The clean end of an experiment's log, labelled as workload output. */
export function logTailBlock(row: LedgerExperiment): string {
  const tail = row.logPath && existsSync(row.logPath) ? readLogTail(row.logPath, { maxLines: LOG_TAIL_LINES }) : "";
  if (!tail) return "";
  return `--- log tail (${UNTRUSTED_NOTICE})\n${wrapUntrusted(`log tail of experiment ${row.id}`, tail, 6000)}`;
}
