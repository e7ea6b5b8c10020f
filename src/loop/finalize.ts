// `finalize`: what survived a session. Fresh runs of the baseline's code and of the final best,
// interleaved (re-score), and of the best without each kept change (ablation), all as ordinary
// experiments of kind rescore/ablation: the same session, slots, jobs, sandbox, integrity checks and
// ledger transaction as any run (runExperiment + applyOutcome; the reducer decides nothing for them).
// Then a clean branch autoresearch/<tag>-final with one commit per kept change that mattered.
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as git from "../git/index.ts";
import { commitTree, treeWithChanges, type ChangeStep } from "../git/apply.ts";
import { EXIT, UserError } from "../errors.ts";
import type { SlotDevice } from "../executors/devices.ts";
import { checkScope } from "../guard/scope.ts";
import { Ledger, LEDGER_FILE } from "../ledger/sqlite.ts";
import type { SessionRecord } from "../core/session.ts";
import { keptChain, finalizeMetaOf, interleave, type AblationMethod, type FinalizeMeta, type FinalizeRole, type KeptChange } from "../finalize/plan.ts";
import { finalizeReport, type FinalizeReport } from "../finalize/report.ts";
import { intervalText, type CleanBranch } from "../finalize/render.ts";
import { projectPaths } from "../project/paths.ts";
import { isoAt, type SessionContext } from "./context.ts";
import { applyOutcome, decisionPolicy, gatherState, refreshResultsTsv } from "./apply.ts";
import { createAcceptancePolicy } from "./decide.ts";
import { alwaysProtected, runExperiment, type Job } from "./experiment.ts";
import { lockHolder } from "./lock.ts";
import { readyData } from "./prepare.ts";
import { openSession, type OpenedSession, type OpenOptions } from "./session.ts";

export const DEFAULT_FINALIZE_RUNS = 5;

export interface FinalizeOptions extends OpenOptions {
  /** The session (default: the latest). */
  tag?: string;
  signal: AbortSignal;
  /** Fresh runs of each measured code (default 5). */
  runs?: number;
  /** Measure each kept change's part (default true). */
  ablation?: boolean;
}

export interface FinalizeResult {
  report: FinalizeReport;
  /** null when finalize was interrupted (nothing is written then). */
  branch: CleanBranch | null;
  interrupted: boolean;
}

/** One code finalize measures, with what its runs record. */
interface Arm {
  role: FinalizeRole;
  commit: string;
  description: string;
  of: number | null;
  without?: number;
  method?: AblationMethod;
}

export async function runFinalize(options: FinalizeOptions): Promise<FinalizeResult> {
  const runs = options.runs ?? DEFAULT_FINALIZE_RUNS;
  if (!Number.isInteger(runs) || runs < 2) throw new UserError(`finalize needs at least 2 runs of each code for an interval (got ${runs})`, { exitCode: EXIT.usage });
  const before = measurableSession(options.projectDir, options.tag, "finalize");
  const opened = await openSession({ ...options, tag: before.tag });
  const { ctx, session } = opened;
  const { ledger, tag } = ctx;
  try {
    await readyData(ctx, session.baseCommit, options.signal);
    const current = ledger.getSession(tag)!;
    const rows = ledger.listExperiments({ tag, order: "asc" });
    const { chain } = keptChain(current, rows);
    const round = 1 + Math.max(0, ...rows.map((row) => finalizeMetaOf(row.meta)?.round ?? 0));
    const ablation = (options.ablation ?? true) && chain.length > 0;
    const { arms, notSeparable, asBaseline } = await measuredArms(ctx, current, chain, round, ablation);
    const shared: Omit<FinalizeMeta, "role"> = { round, best: chain.length > 0 ? current.bestExperimentId : null, runs, ablation, notSeparable, asBaseline };
    const jobs = interleave(arms, runs).map((armsOfRound) => armsOfRound.map((arm) => jobFor(arm, shared)));
    const interrupted = await runRounds(ctx, jobs, options.signal);
    const report = finalizeReport(ledger.getSession(tag)!, ledger.listExperiments({ tag, order: "asc" }), reportSettings(ctx))!;
    const branch = interrupted ? null : await writeCleanBranch(ctx, current, chain, report);
    return { report, branch, interrupted };
  } finally {
    await closeMeasured(opened, before);
  }
}

/** After finalize or promote: the session is left stopped as it was (measuring does not change how it stopped), then closed. */
export async function closeMeasured(opened: OpenedSession, before: SessionRecord): Promise<void> {
  const { ctx } = opened;
  try {
    ctx.ledger.updateSession(ctx.tag, { state: before.state === "running" ? "stopped" : before.state, stopReason: before.stopReason });
    refreshResultsTsv(ctx);
  } finally {
    await opened.close();
  }
}

/**
 * The stopped session a measuring command (finalize, promote) works on, or a refusal saying why not: no
 * ledger, an unknown tag, a session whose loop runs, a session without a finished baseline.
 */
export function measurableSession(projectDir: string, requested: string | undefined, command: "finalize" | "promote"): SessionRecord {
  const paths = projectPaths(projectDir);
  if (!existsSync(join(paths.stateDir, LEDGER_FILE))) {
    throw new UserError(`no research sessions in ${projectDir} yet: nothing to ${command}`, { exitCode: EXIT.config, hint: "Run a session first: autoresearch run --max-experiments 20" });
  }
  const holder = lockHolder(paths.lockFile);
  if (holder !== null) {
    throw new UserError(`a session's loop is running in this project (pid ${holder}): ${command} measures a session that has stopped`, {
      exitCode: EXIT.environment,
      hint: `Wait for it to end, or stop it (Ctrl-C in its terminal, or kill ${holder}), then run ${command} again.`,
    });
  }
  // Writable: the command writes anyway, and an older ledger is migrated here.
  const ledger = Ledger.open(paths.stateDir);
  try {
    const tags = ledger.listSessions().map((known) => known.tag);
    const tag = requested ?? tags.at(-1) ?? "";
    const session = ledger.getSession(tag);
    if (!session) {
      throw new UserError(requested === undefined ? `no sessions yet: nothing to ${command}` : `no session with tag "${tag}"`, { exitCode: EXIT.usage, hint: tags.length > 0 ? `Tags: ${tags.join(", ")}` : "Run a session first." });
    }
    if (ledger.listExperiments({ tag, status: ["ok"], kind: ["baseline"], limit: 1 }).length === 0) {
      throw new UserError(`session "${tag}" has no finished baseline run: there is nothing to compare against`, { exitCode: EXIT.config, hint: `Run the session first: autoresearch run --tag ${tag}` });
    }
    return session;
  } finally {
    ledger.close();
  }
}

/** The codes to measure: the baseline, the best, and the best without each kept change (where it can be built). */
async function measuredArms(ctx: SessionContext, session: SessionRecord, chain: KeptChange[], round: number, ablation: boolean) {
  const repo = ctx.paths.projectDir;
  const arms: Arm[] = [{ role: "baseline", commit: session.baseCommit, description: "re-score: the baseline (unchanged code)", of: null }];
  const notSeparable: number[] = [];
  const asBaseline: number[] = [];
  if (chain.length === 0) return { arms, notSeparable, asBaseline };
  arms.push({ role: "best", commit: session.bestCommit, description: `re-score: the final best (#${session.bestExperimentId})`, of: session.bestExperimentId });
  if (!ablation) return { arms, notSeparable, asBaseline };
  for (const change of chain) {
    if (chain.length === 1) {
      asBaseline.push(change.id); // the best without its only change is the base: the baseline runs measure it
      continue;
    }
    const built = await bestWithout(ctx, session, chain, change);
    if (built === null) {
      notSeparable.push(change.id);
      continue;
    }
    await git.updateRef(repo, `refs/autoresearch/${ctx.tag}/finalize-${round}-without-${change.id}`, built.commit);
    arms.push({ role: "without", commit: built.commit, description: `ablation: the best without #${change.id} (${change.description})`, of: change.id, without: change.id, method: built.method });
  }
  return { arms, notSeparable, asBaseline };
}

/**
 * The best without one kept change: the others re-applied on the base in order, or (when one of them
 * needs the dropped change) the change reverted from the best; null when neither applies or the result
 * would change more than the mutable files.
 */
async function bestWithout(ctx: SessionContext, session: SessionRecord, chain: KeptChange[], change: KeptChange): Promise<{ commit: string; method: AblationMethod } | null> {
  const repo = ctx.paths.projectDir;
  const others = chain.filter((each) => each !== change).map((each) => ({ from: each.parentCommit, to: each.commit }));
  const attempts: Array<{ method: AblationMethod; onto: string; steps: ChangeStep[] }> = [
    { method: "reapplied", onto: session.baseCommit, steps: others },
    { method: "reverted", onto: session.bestCommit, steps: [{ from: change.parentCommit, to: change.commit, reverse: true }] },
  ];
  for (const attempt of attempts) {
    const applied = await treeWithChanges(repo, attempt.onto, attempt.steps);
    if (!("tree" in applied)) continue;
    const commit = await commitTree(repo, applied.tree, attempt.onto, `finalize: the best without #${change.id} (${change.description})`);
    if (await scopeProblem(ctx, session.baseCommit, commit)) continue;
    return { commit, method: attempt.method };
  }
  return null;
}

/** Why `commit` would fail the guard against the base (more than mutable files changed), or null. */
async function scopeProblem(ctx: SessionContext, base: string, commit: string): Promise<string | null> {
  const changes = await git.changedPaths(ctx.paths.projectDir, base, commit);
  const verdict = checkScope(changes, { mutable: ctx.config.mutable, protected: ctx.config.protected, alwaysProtected: alwaysProtected(ctx) });
  return verdict.ok ? null : verdict.reason;
}

function jobFor(arm: Arm, shared: Omit<FinalizeMeta, "role">): Job {
  const meta: FinalizeMeta = { ...shared, role: arm.role, ...(arm.without !== undefined ? { without: arm.without, method: arm.method } : {}) };
  return { kind: arm.role === "without" ? "ablation" : "rescore", commit: arm.commit, of: arm.of, description: arm.description, meta: { finalize: meta } };
}

/**
 * Runs the rounds, each round's codes one after another on one slot (so with several slots a baseline
 * and the best it is compared with share a device); returns whether it was interrupted.
 */
export async function runRounds(ctx: SessionContext, rounds: Job[][], signal: AbortSignal): Promise<boolean> {
  const policy = decisionPolicy(ctx, createAcceptancePolicy(ctx.config.acceptance));
  const state = gatherState(ctx);
  let next = 0;
  let stop: string | null = null;
  const worker = async (slot: SlotDevice) => {
    while (next < rounds.length && stop === null && !signal.aborted) {
      const round = rounds[next]!;
      next += 1;
      for (const job of round) {
        if (stop !== null || signal.aborted) return;
        const outcome = await runExperiment(ctx, job, slot, signal);
        await applyOutcome(ctx, policy, state, outcome);
        if (outcome.dataTampered) stop = outcome.reason ?? "the prepared data was modified";
      }
    }
  };
  await Promise.all(ctx.slots.map((slot) => worker(slot)));
  if (stop !== null) ctx.bus.emit({ type: "warning", at: isoAt(ctx.clock), message: `finalize stopped: ${stop}` });
  return signal.aborted || stop !== null;
}

function reportSettings(ctx: SessionContext) {
  return { metricName: ctx.config.metric.name, heldOutName: ctx.config.metric.heldOut ?? null, direction: ctx.config.metric.direction };
}

/**
 * autoresearch/<tag>-final: from the base, one commit per kept change that mattered (its interval
 * excludes 0 on the helpful side), in order. Checked against the guard; compared with the best's tree.
 */
async function writeCleanBranch(ctx: SessionContext, session: SessionRecord, chain: KeptChange[], report: FinalizeReport): Promise<CleanBranch> {
  const repo = ctx.paths.projectDir;
  const name = `${session.branch}-final`;
  const mattered = report.changes.filter((change) => change.verdict === "helps");
  const leftOut = chain.filter((change) => !mattered.some((each) => each.id === change.id)).map((change) => change.id);
  const branch: CleanBranch = { name, commits: [], leftOut, equalsBest: false, problem: null };
  if (chain.length === 0) return { ...branch, problem: "nothing was kept" };
  if (!report.ablation) return { ...branch, problem: "no ablation was run (--no-ablation), so which keeps matter is not known" };
  if (mattered.length === 0) return { ...branch, problem: "no kept change made a measurable difference" };
  if (ctx.ledger.listSessions().some((other) => other.branch === name)) return { ...branch, problem: `a session already uses the branch ${name}` };
  let parent = session.baseCommit;
  const included = new Set<number>();
  for (const change of mattered) {
    const position = chain.findIndex((each) => each.id === change.id);
    const kept = chain[position]!;
    const step = (each: KeptChange) => ({ from: each.parentCommit, to: each.commit });
    let applied = await treeWithChanges(repo, parent, [step(kept)]);
    // A change built on keeps that could not be measured apart (the same line changed twice) comes with them.
    const carried = chain.slice(0, position).filter((each) => report.changes.some((result) => result.id === each.id && result.verdict === "not separable") && !included.has(each.id));
    if (!("tree" in applied) && carried.length > 0) applied = await treeWithChanges(repo, parent, [...carried.map(step), step(kept)]);
    else carried.length = 0;
    if (!("tree" in applied)) return { ...branch, commits: [], problem: `#${kept.id} does not apply without the changes left out (${applied.message})` };
    for (const each of [...carried, kept]) included.add(each.id);
    parent = await commitTree(repo, applied.tree, parent, commitMessage(ctx, report, change, carried));
    branch.commits.push({ commit: parent, keptId: kept.id, description: kept.description, with: carried.map((each) => each.id) });
  }
  branch.leftOut = chain.filter((change) => !included.has(change.id)).map((change) => change.id);
  const guard = await scopeProblem(ctx, session.baseCommit, parent);
  if (guard) return { ...branch, commits: [], problem: `its tree fails the guard: ${guard}` };
  branch.equalsBest = (await git.treeOf(repo, parent)) === (await git.treeOf(repo, session.bestCommit));
  const checkedOut = (await git.listWorktrees(repo)).find((worktree) => worktree.branch === `refs/heads/${name}`);
  if (checkedOut) return { ...branch, problem: `${name} is checked out in ${checkedOut.path}; it was left where it was (switch away and run finalize again)` };
  await git.updateRef(repo, `refs/heads/${name}`, parent);
  return branch;
}

function commitMessage(ctx: SessionContext, report: FinalizeReport, change: FinalizeReport["changes"][number], carried: KeptChange[]): string {
  const ablationRuns = change.runIds.length > 0 ? `; ablation runs ${change.runIds.map((id) => `#${id}`).join(", ")}` : "";
  return [
    change.description,
    "",
    `Contribution to ${report.metricName}: ${intervalText(change.contribution)} (${Math.round(report.confidence * 100)}% t interval,`,
    `the best without it against the best, ${report.runsAsked} runs each; + means it helps).`,
    `Experiments: kept as #${change.id}${ablationRuns}.`,
    ...(carried.length > 0 ? [`It builds on ${carried.map((each) => `#${each.id} (${each.description})`).join(", ")}, which could not be measured apart from it; they are in this commit too.`] : []),
    "",
    `autoresearch finalize: session ${ctx.tag}, round ${report.round}`,
  ].join("\n");
}
