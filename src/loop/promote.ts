// `promote`: the top k kept candidates and the baseline, re-run at a longer train budget, n runs each in
// interleaved rounds (finalize's runRounds: each round's codes on one slot, so drift hits all alike), as
// experiments of kind rescore with meta.promote: the same jobs, sandbox, integrity checks and ledger
// transaction as any run, deciding nothing. The report (finalize/promote.ts) says whether each gain holds.
import { budgetFor } from "../config/load.ts";
import { EXIT, UserError } from "../errors.ts";
import { promoteMetaOf, promotedCandidates, promoteReport, type PromoteMeta, type PromoteReport } from "../finalize/promote.ts";
import { interleave } from "../finalize/plan.ts";
import type { Job } from "./experiment.ts";
import { closeMeasured, measurableSession, runRounds } from "./finalize.ts";
import { readyData } from "./prepare.ts";
import { openSession, type OpenOptions } from "./session.ts";

export interface PromoteOptions extends OpenOptions {
  tag: string;
  signal: AbortSignal;
  /** The longer train budget (default: the config's promote.budgetSeconds). */
  budgetSeconds?: number;
  /** How many kept candidates, best first (default: promote.k, else 3). */
  k?: number;
  /** Runs of each code (default: promote.runs, else 3). */
  runs?: number;
}

export interface PromoteResult {
  report: PromoteReport | null;
  interrupted: boolean;
}

export async function runPromote(options: PromoteOptions): Promise<PromoteResult> {
  const before = measurableSession(options.projectDir, options.tag, "promote");
  const opened = await openSession(options);
  const { ctx, session } = opened;
  const { ledger, tag } = ctx;
  try {
    const { config } = ctx;
    if (!config.train) throw new UserError("promote lengthens the train budget, and this study has no train phase (a measure-only study)", { exitCode: EXIT.config });
    const budgetSeconds = options.budgetSeconds ?? config.promote?.budgetSeconds;
    if (budgetSeconds === undefined) {
      throw new UserError("promote needs the longer budget: --budget SECONDS, or promote.budgetSeconds in the config", { exitCode: EXIT.usage, hint: "e.g. autoresearch promote --budget 600" });
    }
    const k = options.k ?? config.promote?.k ?? 3;
    const runs = options.runs ?? config.promote?.runs ?? 3;
    if (!Number.isInteger(runs) || runs < 2) throw new UserError(`promote needs at least 2 runs of each code for an interval (got ${runs})`, { exitCode: EXIT.usage });
    const rows = ledger.listExperiments({ tag, order: "asc" });
    const candidates = promotedCandidates(rows, k, config.metric.direction);
    if (candidates.length === 0) {
      throw new UserError(`session "${tag}" kept nothing: there is no gain to promote`, { exitCode: EXIT.config, hint: "Run the session longer, or finalize it to see what the baseline measures." });
    }
    await readyData(ctx, session.baseCommit, options.signal);
    const round = 1 + Math.max(0, ...rows.map((row) => promoteMetaOf(row.meta)?.round ?? 0));
    const sessionBudgetSeconds = budgetFor(config, ctx.slots[0]?.device ?? "cpu").budgetSeconds;
    const shared = { round, budgetSeconds, sessionBudgetSeconds, k, runs };
    const arms: Array<Omit<PromoteMeta, keyof typeof shared> & { commit: string; description: string }> = [
      { role: "baseline", of: null, commit: session.baseCommit, description: `promote: the baseline at ${budgetSeconds} s` },
      ...candidates.map((candidate) => ({ role: "candidate" as const, of: candidate.id, commit: candidate.commit, description: `promote: #${candidate.id} at ${budgetSeconds} s (${candidate.description})` })),
    ];
    const jobs = interleave(arms, runs).map((armsOfRound) => armsOfRound.map((arm): Job => ({
      kind: "rescore", commit: arm.commit, of: arm.of, description: arm.description, budgetSeconds,
      meta: { promote: { ...shared, role: arm.role, of: arm.of } satisfies PromoteMeta },
    })));
    const interrupted = await runRounds(ctx, jobs, options.signal);
    const report = promoteReport(tag, ledger.listExperiments({ tag, order: "asc" }), { metricName: config.metric.name, direction: config.metric.direction });
    return { report, interrupted };
  } finally {
    await closeMeasured(opened, before);
  }
}

