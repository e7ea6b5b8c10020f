// From ledger records to what the dashboard sends: table rows, chart points, the detail view.
// Text that workloads and proposers wrote leaves here with its control characters made visible, so the
// page, the report and anything else built on these rows never carries an escape or a bidi override.
import type { LedgerExperiment } from "../ledger/sqlite.ts";
import { safeLine, safeText } from "../text/safe-text.ts";
import type { ExperimentDetail, ExperimentRow, PointTuple } from "./api.ts";

export function toRow(experiment: LedgerExperiment): ExperimentRow {
  const durationMs = experiment.timings.totalMs
    ?? (experiment.finishedAt === null ? null : Math.max(0, Date.parse(experiment.finishedAt) - Date.parse(experiment.startedAt)));
  return {
    id: experiment.id,
    tag: experiment.tag,
    kind: experiment.kind,
    confirms: experiment.confirms,
    status: experiment.status,
    decision: experiment.decision,
    metric: experiment.metric,
    heldOutMetric: experiment.heldOutMetric,
    delta: experiment.delta,
    description: safeLine(experiment.description),
    hypothesis: safeText(experiment.hypothesis),
    proposer: safeLine(experiment.proposer),
    device: experiment.device,
    slot: experiment.slot,
    // Names a node or a GPU reported: text from outside the harness like the rest.
    ranOn: experiment.ranOn ? {
      host: experiment.ranOn.host === null ? null : safeLine(experiment.ranOn.host),
      deviceName: experiment.ranOn.deviceName === null ? null : safeLine(experiment.ranOn.deviceName),
      ...(experiment.ranOn.slurmJobId ? { slurmJobId: safeLine(experiment.ranOn.slurmJobId) } : {}),
      ...(experiment.ranOn.pod ? { pod: safeLine(experiment.ranOn.pod) } : {}),
    } : null,
    durationMs: Number.isFinite(durationMs) ? durationMs : null,
    startedAt: experiment.startedAt,
    finishedAt: experiment.finishedAt,
    reason: experiment.reason === null ? null : safeText(experiment.reason),
    selfReported: experiment.selfReported,
    flags: experiment.flags.map((flag) => ({ kind: flag.kind, detail: safeLine(flag.detail) })),
    costUsd: experiment.usage?.costUsd ?? null,
    tokens: experiment.usage ? experiment.usage.inputTokens + experiment.usage.outputTokens : 0,
  };
}

/** The detail view; the log path stays out (a shared report should not reveal the author's directories). */
export function toDetail(experiment: LedgerExperiment, logTail: string): ExperimentDetail {
  return {
    ...toRow(experiment),
    parentCommit: experiment.parentCommit,
    candidateCommit: experiment.candidateCommit,
    rationale: experiment.rationale === null ? null : safeText(experiment.rationale),
    bestBefore: experiment.bestBefore,
    secondary: Object.fromEntries(Object.entries(experiment.secondary).map(([name, value]) => [safeLine(name), value])),
    memoryGb: experiment.memoryGb,
    timings: { ...experiment.timings },
    usage: experiment.usage,
    diff: safeText(experiment.diff),
    logTail: safeText(logTail),
  };
}

/** Chart values keep 9 significant digits (beyond what any view prints), which halves 10,000 points' JSON. */
export function toPoint(row: ExperimentRow): PointTuple {
  return [row.id, row.kind, row.status, row.decision, chartValue(row.metric), chartValue(row.heldOutMetric), row.confirms];
}

function chartValue(value: number | null): number | null {
  return value === null || !Number.isFinite(value) ? value : Number(value.toPrecision(9));
}
