// run_experiment: the user's working-tree change as one experiment. The harness builds the
// candidate from the checkout's mutable files, commits it in its own worktree, guards, runs,
// evaluates, and decides with the session's acceptance policy; the caller only gets the verdict.
import type { EventBus } from "../events/types.ts";
import type { Executor } from "../executors/types.ts";
import type { LedgerExperiment } from "../ledger/sqlite.ts";
import { alwaysProtected } from "../loop/experiment.ts";
import { runSingleExperiment } from "../loop/single.ts";
import { formatDelta, formatMetric } from "../views/format.ts";
import { logTailBlock } from "./views.ts";
import { candidateFromWorkingTree } from "./working-tree.ts";

export interface RunToolInput {
  description: string;
  hypothesis?: string;
}

export interface RunToolOptions {
  projectDir: string;
  tag?: string;
  bus: EventBus;
  signal: AbortSignal;
  /** Tests only: GPU indices instead of asking nvidia-smi, or another executor. */
  gpus?: number[];
  executor?: Executor;
  /** Run the agent's code without the sandbox. */
  unsandboxed?: boolean;
}

export interface RunToolAnswer {
  /** false when nothing was judged: the change was refused, the baseline failed, or it was interrupted. */
  ran: boolean;
  summary: string;
  data: Record<string, unknown>;
}

/** A decision as the engine announced it: the metric and delta it was judged on (a confirmed keep's mean of runs). */
interface Judged {
  metric: number | null;
  best: number | null;
  delta: number | null;
}

export async function runWorkingTreeExperiment(options: RunToolOptions, input: RunToolInput): Promise<RunToolAnswer> {
  // The final decision per experiment ("confirm" only asks for another run); the rows keep each run's own metric.
  const judged = new Map<number, Judged>();
  options.bus.subscribe((event) => {
    if (event.type === "decision" && event.decision !== "confirm") judged.set(event.id, { metric: event.metric, best: event.best, delta: event.delta });
  });
  const result = await runSingleExperiment({
    projectDir: options.projectDir, tag: options.tag, bus: options.bus, signal: options.signal, gpus: options.gpus, executor: options.executor,
    unsandboxed: options.unsandboxed,
    candidate: async (ctx, best) => {
      const found = await candidateFromWorkingTree(ctx.paths.projectDir, { commit: best.commit, branch: ctx.branch }, {
        mutable: ctx.config.mutable, protected: ctx.config.protected, alwaysProtected: alwaysProtected(ctx),
      });
      if (!found.ok) return { refused: found.reason };
      return {
        description: input.description, hypothesis: input.hypothesis ?? "", files: found.files, proposer: "mcp",
        meta: { source: "mcp run_experiment", changed: found.changed },
      };
    },
  });
  const baselines = result.experiments.filter((row) => row.kind === "baseline").map(brief);
  const best = { ...result.best, branch: result.branch };
  const candidate = result.candidate;
  if (!candidate || candidate.status === "interrupted") {
    const why = result.stopped ?? "the experiment was interrupted";
    return { ran: false, summary: why, data: { ran: false, reason: why, baselines, best, session: result.tag } };
  }
  // Every run of the candidate's code in this call: the candidate, then the runs that confirmed it.
  const runs = result.experiments.filter((row) => (row.id === candidate.id || row.confirms === candidate.id) && row.status === "ok" && row.metric !== null);
  const decided = judged.get(candidate.id);
  const data = {
    ran: true, session: result.tag, experiment: candidate.id, status: candidate.status, decision: candidate.decision,
    // What the decision was judged on: with confirmation runs, their mean and its delta, not the first run's.
    metric: decided?.metric ?? candidate.metric, bestBefore: decided?.best ?? candidate.bestBefore, delta: decided?.delta ?? candidate.delta,
    runs: runs.map((row) => ({ experiment: row.id, metric: row.metric })),
    rationale: candidate.rationale, reason: candidate.reason, selfReported: candidate.selfReported,
    noiseSigma: sigmaOf(candidate.rationale) ?? result.noiseSigma, sessionNoiseSigma: result.noiseSigma, baselines, best,
    next: nextStep(candidate, result.branch),
  };
  const lines = [headline(candidate, data), ...(candidate.rationale ? [`rationale: ${candidate.rationale}`] : []), `next: ${data.next}`];
  if (result.stopped) lines.push(`note: ${result.stopped}`);
  const tail = logTailBlock(candidate);
  if (tail) lines.push("", tail);
  return { ran: true, summary: lines.join("\n"), data };
}

function brief(row: LedgerExperiment) {
  return { experiment: row.id, status: row.status, metric: row.metric, reason: row.reason };
}

/**
 * The σ the decision was judged with, as its rationale states it ("σ=0.0012"): the session's σ moves
 * with the runs the decision adds, so after the call it is not the one the decision used.
 */
function sigmaOf(rationale: string | null): number | null {
  const stated = rationale === null ? undefined : /σ=([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)/i.exec(rationale)?.[1];
  return stated === undefined ? null : Number(stated);
}

function headline(row: LedgerExperiment, judged: { metric: number | null; bestBefore: number | null; delta: number | null; runs: unknown[]; noiseSigma: number | null }): string {
  const verdict = row.decision ?? row.status;
  if (row.status !== "ok") return `experiment ${row.id}: ${row.status} — ${row.reason ?? "no reason recorded"}`;
  const metric = judged.runs.length > 1 ? `metric ${formatMetric(judged.metric)} (mean of ${judged.runs.length} runs)` : `metric ${formatMetric(judged.metric)}`;
  const sigma = judged.noiseSigma === null ? "" : `, σ ${formatMetric(judged.noiseSigma)}`;
  return `experiment ${row.id}: ${verdict} — ${metric} (best before ${formatMetric(judged.bestBefore)}, delta ${formatDelta(judged.delta) || "—"}${sigma})`;
}

function nextStep(row: LedgerExperiment, branch: string): string {
  if (row.decision === "keep") return `kept: ${branch} now points at it (commit ${row.candidateCommit?.slice(0, 7)}); your working tree already holds this code, build on it`;
  return `not kept: the best is unchanged; restore the mutable files from it with \`git checkout ${branch} -- .\` before the next idea`;
}
