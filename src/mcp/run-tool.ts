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

export async function runWorkingTreeExperiment(options: RunToolOptions, input: RunToolInput): Promise<RunToolAnswer> {
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
  const data = {
    ran: true, session: result.tag, experiment: candidate.id, status: candidate.status, decision: candidate.decision,
    metric: candidate.metric, bestBefore: candidate.bestBefore, delta: candidate.delta, rationale: candidate.rationale,
    reason: candidate.reason, selfReported: candidate.selfReported, noiseSigma: result.noiseSigma, baselines, best,
    next: nextStep(candidate, result.branch),
  };
  const lines = [headline(candidate), ...(candidate.rationale ? [`rationale: ${candidate.rationale}`] : []), `next: ${data.next}`];
  if (result.stopped) lines.push(`note: ${result.stopped}`);
  const tail = logTailBlock(candidate);
  if (tail) lines.push("", tail);
  return { ran: true, summary: lines.join("\n"), data };
}

function brief(row: LedgerExperiment) {
  return { experiment: row.id, status: row.status, metric: row.metric, reason: row.reason };
}

function headline(row: LedgerExperiment): string {
  const verdict = row.decision ?? row.status;
  if (row.status !== "ok") return `experiment ${row.id}: ${row.status} — ${row.reason ?? "no reason recorded"}`;
  return `experiment ${row.id}: ${verdict} — metric ${formatMetric(row.metric)} (best before ${formatMetric(row.bestBefore)}, delta ${formatDelta(row.delta) || "—"})`;
}

function nextStep(row: LedgerExperiment, branch: string): string {
  if (row.decision === "keep") return `kept: ${branch} now points at it (commit ${row.candidateCommit?.slice(0, 7)}); your working tree already holds this code, build on it`;
  return `not kept: the best is unchanged; restore the mutable files from it with \`git checkout ${branch} -- .\` before the next idea`;
}
