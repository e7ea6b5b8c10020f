// What a proposer sees of the experiments so far: the ledger's rows, bounded and reduced to what
// may be shown to a proposer. Held-out metrics never leave here; failures carry their log's tail.
import { FAILED_WITH_LOG, type ExperimentRecord } from "../core/experiment.ts";
import { readLogTail } from "../text/log-tail.ts";
import type { HistoryEntry } from "./types.ts";

const LOG_TAIL_LINES = 40;

/**
 * The newest `limit` rows, oldest first. Running rows stay in on purpose: with parallel slots, a
 * proposer should know what is already being tried.
 */
export function proposerHistory(rows: readonly ExperimentRecord[], limit: number): HistoryEntry[] {
  const newest = [...rows].sort((a, b) => a.id - b.id).slice(Math.max(0, rows.length - limit));
  return newest.map((experiment) => ({
    id: experiment.id,
    kind: experiment.kind,
    parentCommit: experiment.parentCommit,
    candidateCommit: experiment.candidateCommit,
    proposer: experiment.proposer,
    description: experiment.description,
    hypothesis: experiment.hypothesis,
    status: experiment.status,
    decision: experiment.decision,
    metric: experiment.metric,
    delta: experiment.delta,
    meta: experiment.meta,
    ...(experiment.reason ? { reason: experiment.reason } : {}),
    ...(FAILED_WITH_LOG.includes(experiment.status) && experiment.logPath ? { logTail: readLogTail(experiment.logPath, { maxLines: LOG_TAIL_LINES }) } : {}),
  }));
}
