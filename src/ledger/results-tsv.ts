// results.tsv: a flat, human- and pandas-friendly copy of the ledger, rewritten whole
// after every change. The first five columns match the original autoresearch's file
// (commit, metric, memory_gb, status, description) so existing analysis scripts work.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { safeLine } from "../text/safe-text.ts";
import type { ExperimentRecord } from "../core/experiment.ts";

export interface ResultsTsvOptions {
  /** Header of the metric column, e.g. "val_bpb". */
  metricName: string;
  /** When given, a column of that name holds the held-out metric. */
  heldOutName?: string;
  /**
   * Flush the file to disk before it replaces the old one (default true). The loop's rewrite after each
   * decision skips it: the ledger is the durable record, and the file is written again at the next
   * decision and when the session stops.
   */
  durable?: boolean;
}

/** Tabs and line breaks would split a row (they become a space); other control characters are made visible. */
function cell(text: string | null | undefined): string {
  return safeLine((text ?? "").replace(/[\t\r\n]+/g, " "));
}

const fixed = (value: number | null, digits: number, absent: string): string => (value === null ? absent : value.toFixed(digits));

function shortCommit(experiment: ExperimentRecord): string {
  // A baseline runs its parent commit unchanged, so that is its commit.
  const commit = experiment.candidateCommit || (experiment.kind === "baseline" ? experiment.parentCommit : "");
  return commit ? commit.slice(0, 7) : "-";
}

function seconds(experiment: ExperimentRecord): string {
  const totalMs = experiment.timings.totalMs ??
    (experiment.finishedAt ? Date.parse(experiment.finishedAt) - Date.parse(experiment.startedAt) : Number.NaN);
  return Number.isFinite(totalMs) ? (totalMs / 1000).toFixed(1) : "";
}

/** The header line (without its line break). */
export function resultsTsvHeader(options: ResultsTsvOptions): string {
  return [
    "commit", cell(options.metricName), "memory_gb", "status", "description",
    "id", "tag", "kind", ...(options.heldOutName ? [cell(options.heldOutName)] : []),
    "delta", "proposer", "device", "seconds", "self_reported", "reason", "review",
  ].join("\t");
}

/**
 * One experiment's line (without its line break), or null for a running one, which is left out.
 * Failures show metric 0.000000 and memory 0.0, as the original did for crashes; a measured run without
 * a memory figure, and extra columns, leave absent values empty.
 */
export function resultsTsvRow(experiment: ExperimentRecord, options: ResultsTsvOptions): string | null {
  if (experiment.status === "running") return null;
  const status = experiment.status === "ok" && experiment.decision ? experiment.decision : experiment.status;
  return [
    shortCommit(experiment),
    fixed(experiment.metric, 6, "0.000000"),
    // A failure has neither: 0.0 as the original wrote for crashes; a measured run without a memory figure leaves it empty.
    fixed(experiment.memoryGb, 1, experiment.metric === null ? "0.0" : ""),
    status,
    cell(experiment.description),
    String(experiment.id),
    cell(experiment.tag),
    experiment.kind,
    ...(options.heldOutName ? [fixed(experiment.heldOutMetric, 6, "")] : []),
    fixed(experiment.delta, 6, ""),
    cell(experiment.proposer),
    cell(experiment.device),
    seconds(experiment),
    experiment.selfReported ? "true" : "false",
    cell(experiment.reason),
    (experiment.flags ?? []).map((flag) => flag.kind).join(","),
  ].join("\t");
}

/** The whole file as a string. Rows keep the order given (pass them oldest first); running experiments are left out. */
export function formatResultsTsv(experiments: readonly ExperimentRecord[], options: ResultsTsvOptions): string {
  const rows = experiments.map((experiment) => resultsTsvRow(experiment, options)).filter((row) => row !== null);
  return [resultsTsvHeader(options), ...rows].join("\n") + "\n";
}

/**
 * Rewrites `path` atomically: the content goes to a temporary file in the same
 * directory, is flushed to disk (unless `durable: false`), then renamed over the old file, so a
 * reader (or a crash) only ever sees the previous complete file or the new one.
 */
export function writeResultsTsv(path: string, experiments: readonly ExperimentRecord[], options: ResultsTsvOptions): void {
  writeResultsText(path, formatResultsTsv(experiments, options), options);
}

/** writeResultsTsv for a file already formatted (a header and rows from resultsTsvHeader and resultsTsvRow). */
export function writeResultsText(path: string, text: string, { durable = true }: { durable?: boolean } = {}): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fd = openSync(temporary, "w");
    try {
      writeSync(fd, text);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
