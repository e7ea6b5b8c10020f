// A shared study in the terminal (#11): who works on it, the best of each device class and which best each
// worker builds on (status), and every worker's experiments (results). Pure: the overview is read elsewhere.
import type { StudyExperimentView, StudyOverview, StudyUnavailable } from "../share/overview.ts";
import { formatDelta, formatDuration, formatMetric, truncate } from "./format.ts";

/** The study's lines for `status`, or one line saying why it could not be read. */
export function studyStatusLines(study: StudyOverview | StudyUnavailable, nowMs: number): string[] {
  if (!("workers" in study)) {
    return [`  study ${study.name} (${study.database}): cannot be read (${study.problem}); the lines above are this worker's own session`];
  }
  const lines = [`  study ${study.name} (${study.database}): ${study.totalExperiments} experiments by ${study.workers.length} worker${study.workers.length === 1 ? "" : "s"}`];
  for (const best of study.bests) {
    lines.push(`    best ${best.deviceClass}: ${formatMetric(best.metric)} by worker ${best.worker}${best.localId === null ? " (its baseline)" : ` #${best.localId}`}, version ${best.version}, commit ${best.commit.slice(0, 7)}`);
  }
  if (study.bests.length === 0) lines.push("    no best yet: the first complete baseline sets it");
  const table = [["worker", "host", "class", "experiments", "kept", "failed", "running", "building on", "last seen"]];
  for (const worker of study.workers) {
    table.push([
      worker.id, worker.host, worker.deviceClass, String(worker.experiments), String(worker.kept), String(worker.failed), String(worker.running),
      buildingOnText(worker), seenText(worker, nowMs),
    ]);
  }
  lines.push(...columns(table, [false, false, false, true, true, true, true, false, true]).map((line) => `    ${line}`));
  return lines;
}

/** "stopped 5m ago" for a worker whose session ended; otherwise when it was last heard of. */
export function seenText(worker: StudyOverview["workers"][number], nowMs: number): string {
  if (worker.stoppedAt !== null) return `stopped ${formatDuration(Math.max(0, nowMs - Date.parse(worker.stoppedAt)))} ago`;
  return `${formatDuration(Math.max(0, nowMs - Date.parse(worker.lastSeen)))} ago`;
}

export function buildingOnText(worker: StudyOverview["workers"][number]): string {
  if (worker.buildingOn === null) return "—";
  return `v${worker.buildingOn.version} ${worker.buildingOn.commit.slice(0, 7)} (${formatMetric(worker.buildingOn.metric)})${worker.onCurrentBest ? ", the current best" : ", an older best"}`;
}

/** `results` of a shared study: every worker's experiments, oldest first, with who ran them. */
export function studyResultsLines(study: StudyOverview, width: number): string[] {
  const header = `${"worker".padEnd(workerWidth(study))}  ${"id".padStart(4)}  ${"class".padEnd(6)} ${"status".padEnd(11)} ${study.metric.padStart(10)} ${"delta".padStart(10)}  description`;
  const lines = [header];
  for (const row of study.experiments) {
    const line = `${row.worker.padEnd(workerWidth(study))}  ${String(row.localId).padStart(4)}  ${row.deviceClass.padEnd(6)} ${statusOf(row).padEnd(11)} ${formatMetric(row.metric).padStart(10)} ${formatDelta(row.metric !== null && row.bestBefore !== null ? row.metric - row.bestBefore : null).padStart(10)}  ${row.kind === "candidate" ? "" : `[${row.kind}] `}${row.description}`;
    lines.push(truncate(line, width));
  }
  if (study.totalExperiments > study.experiments.length) lines.push(`(the newest ${study.experiments.length} of ${study.totalExperiments}; --json has them too)`);
  if (study.experiments.some((row) => row.fenced)) lines.push("fenced: its worker's claim had expired and another worker ran the same code; recorded, not decided on");
  return lines;
}

function statusOf(row: StudyExperimentView): string {
  if (row.fenced) return "fenced";
  return row.decision ?? row.status;
}

function workerWidth(study: StudyOverview): number {
  return Math.max(6, ...study.experiments.map((row) => row.worker.length));
}

function columns(rows: string[][], right: boolean[]): string[] {
  const widths = rows[0]!.map((_, index) => Math.max(...rows.map((row) => row[index]!.length)));
  return rows.map((row) => row.map((cell, index) => (right[index] ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!))).join("  ").trimEnd());
}
