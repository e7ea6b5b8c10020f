// The session summary shown at the end of a run and by `status`. Derived from the ledger only.
import type { SessionSummary } from "../events/types.ts";
import type { Ledger } from "../ledger/sqlite.ts";

const FAILED = new Set(["crash", "timeout", "no_metric", "invalid", "rejected"]);

/** `sinceMs`: count throughput only over experiments started since then (this run of a resumed session). */
export function summarize(ledger: Ledger, tag: string, elapsedMs: number, sinceMs = 0): SessionSummary {
  const session = ledger.getSession(tag);
  const rows = ledger.listExperiments({ tag, order: "asc" });
  const baselineRuns = rows.filter((row) => row.kind === "baseline" && row.status === "ok" && row.metric !== null);
  const baseline = baselineRuns.length > 0 ? baselineRuns.reduce((sum, row) => sum + row.metric!, 0) / baselineRuns.length : null;
  const finished = rows.filter((row) => row.status !== "running");
  const hours = elapsedMs / 3_600_000;
  return {
    tag,
    experiments: finished.length,
    kept: rows.filter((row) => row.decision === "keep" && row.kind === "candidate").length,
    discarded: rows.filter((row) => row.decision === "discard" && row.kind === "candidate").length,
    failed: rows.filter((row) => FAILED.has(row.status)).length,
    baseline,
    best: session?.bestMetric ?? null,
    bestCommit: session?.bestCommit ?? null,
    noiseSigma: session?.noiseSigma ?? null,
    elapsedSeconds: elapsedMs / 1000,
    experimentsPerHour: hours > 0 ? finished.filter((row) => Date.parse(row.startedAt) >= sinceMs).length / hours : 0,
  };
}
