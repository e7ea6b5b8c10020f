// The session summary shown at the end of a run and by `status`. Derived from the ledger only;
// the counting rules are core/summary.ts's, shared with the dashboard.
import { summarise } from "../core/summary.ts";
import type { SessionSummary } from "../events/types.ts";
import type { Ledger } from "../ledger/sqlite.ts";

/** `sinceMs`: count throughput only over experiments started since then (this run of a resumed session). */
export function summarize(ledger: Ledger, tag: string, elapsedMs: number, sinceMs = 0): SessionSummary {
  const session = ledger.getSession(tag);
  const rows = ledger.listExperiments({ tag, order: "asc" });
  const counts = summarise(rows);
  const hours = elapsedMs / 3_600_000;
  const finishedSince = rows.filter((row) => row.status !== "running" && Date.parse(row.startedAt) >= sinceMs).length;
  return {
    tag,
    experiments: counts.experiments,
    kept: counts.kept,
    discarded: counts.discarded,
    failed: counts.failed,
    baseline: counts.baseline,
    best: session?.bestMetric ?? null,
    bestCommit: session?.bestCommit ?? null,
    noiseSigma: session?.noiseSigma ?? null,
    elapsedSeconds: elapsedMs / 1000,
    experimentsPerHour: hours > 0 ? finishedSince / hours : 0,
  };
}
