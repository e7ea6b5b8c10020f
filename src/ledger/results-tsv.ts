// results.tsv: a flat, human- and pandas-friendly copy of the ledger, kept in step with it: lines
// that come after the last one are appended, any other change rewrites the file whole. The first five
// columns match the original autoresearch's file (commit, metric, memory_gb, status, description) so
// existing analysis scripts work.
import { appendFileSync, closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
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

/**
 * results.tsv kept in step with a running session, one line per finished experiment in id order. A change
 * that only adds lines after the last one appends them, so a decision costs the same after 20 000
 * experiments as after 20; any other change (an earlier row finishing late, a confirmation amending the
 * row it confirms) rewrites the file whole, atomically. So does a file that is not as it was last written
 * (moved, truncated or edited by someone else). `reset` writes it first; `update` follows each decision.
 */
export class ResultsTsvFile {
  readonly #path: string;
  readonly #options: ResultsTsvOptions;
  /** Ids with a line, ascending. */
  #ids: number[] = [];
  #lines = new Map<number, string>();
  /** The size of the file as this object last left it; null until it has written it whole. */
  #size: number | null = null;

  constructor(path: string, options: ResultsTsvOptions) {
    this.#path = path;
    this.#options = options;
  }

  /** Every row of the session (any order): the file is written whole. */
  reset(experiments: readonly ExperimentRecord[], { durable = true }: { durable?: boolean } = {}): void {
    this.#lines = new Map();
    for (const experiment of experiments) {
      const line = resultsTsvRow(experiment, this.#options);
      if (line !== null) this.#lines.set(experiment.id, line);
    }
    this.#ids = [...this.#lines.keys()].sort((a, b) => a - b);
    this.#writeWhole(durable);
  }

  /** The rows a decision committed (nulls are skipped): appended where they come after every line, else the file is rewritten. */
  update(changed: readonly (ExperimentRecord | null)[]): void {
    const appended: string[] = [];
    let whole = this.#size === null;
    for (const experiment of changed.filter((each) => each !== null).sort((a, b) => a.id - b.id)) {
      const line = resultsTsvRow(experiment, this.#options);
      const before = this.#lines.get(experiment.id);
      if (line === (before ?? null)) continue;
      const inPlace = this.#set(experiment.id, line, before);
      whole ||= inPlace;
      if (!whole && line !== null) appended.push(line);
    }
    if (whole || (appended.length > 0 && this.#fileSize() !== this.#size)) this.#writeWhole(false);
    else if (appended.length > 0) {
      const text = `${appended.join("\n")}\n`;
      appendFileSync(this.#path, text);
      this.#size! += Buffer.byteLength(text);
    }
  }

  /** Records the line; true when the file must be rewritten for it (not a new line after the last). */
  #set(id: number, line: string | null, before: string | undefined): boolean {
    if (line === null) {
      this.#lines.delete(id);
      this.#ids.splice(this.#ids.indexOf(id), 1);
      return true;
    }
    this.#lines.set(id, line);
    if (before !== undefined) return true;
    const last = this.#ids.at(-1);
    if (last === undefined || id > last) {
      this.#ids.push(id);
      return false;
    }
    this.#ids.splice(insertionPoint(this.#ids, id), 0, id);
    return true;
  }

  #fileSize(): number | null {
    try {
      return statSync(this.#path).size;
    } catch {
      return null;
    }
  }

  #writeWhole(durable: boolean): void {
    const text = [resultsTsvHeader(this.#options), ...this.#ids.map((id) => this.#lines.get(id)!)].join("\n") + "\n";
    writeResultsText(this.#path, text, { durable });
    this.#size = Buffer.byteLength(text);
  }
}

/** Where `id` goes in the ascending `ids` (binary search). */
function insertionPoint(ids: readonly number[], id: number): number {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (ids[middle]! < id) low = middle + 1;
    else high = middle;
  }
  return low;
}
