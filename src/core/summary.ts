// The counting rules of a session summary, defined once: `autoresearch status`, the end-of-run
// summary, the MCP status view and the dashboard all count the same rows the same way.
import { isFailed, type ExperimentRecord } from "./experiment.ts";

export interface ExperimentCounts {
  /** Finished experiments (baseline and confirmation runs included). */
  experiments: number;
  running: number;
  /** Candidates decided keep / discard (baseline and confirmation runs are not decisions of their own). */
  kept: number;
  discarded: number;
  /** Rows whose status is one of FAILED_STATUSES. */
  failed: number;
  /** The mean metric of the finished baseline runs; null before one finished. */
  baseline: number | null;
}

/** The fields of an experiment the counts need; the ledger's records and the dashboard's rows both have them. */
export type CountedRow = Pick<ExperimentRecord, "kind" | "status" | "decision" | "metric">;

export function summarise(rows: readonly CountedRow[]): ExperimentCounts {
  let running = 0, kept = 0, discarded = 0, failed = 0;
  const baselines: number[] = [];
  for (const row of rows) {
    if (row.status === "running") running += 1;
    if (row.kind === "candidate" && row.decision === "keep") kept += 1;
    if (row.kind === "candidate" && row.decision === "discard") discarded += 1;
    if (isFailed(row.status)) failed += 1;
    if (row.kind === "baseline" && row.status === "ok" && row.metric !== null) baselines.push(row.metric);
  }
  return {
    experiments: rows.length - running,
    running,
    kept,
    discarded,
    failed,
    baseline: baselines.length > 0 ? baselines.reduce((sum, value) => sum + value, 0) / baselines.length : null,
  };
}
