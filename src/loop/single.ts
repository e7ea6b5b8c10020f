// One experiment outside the continuous loop (the MCP server's run_experiment): open or resume
// the session as `run` does, run the baseline if it is missing, then one candidate (and its
// confirmation run, if the policy asks for one). The decision is the acceptance policy's.
import type { LedgerExperiment } from "../ledger/sqlite.ts";
import { isoAt, type SessionContext } from "./context.ts";
import { applyOutcome, decisionPolicy, gatherState, type BestState } from "./apply.ts";
import { createAcceptancePolicy } from "./decide.ts";
import { runExperiment, type ExperimentOutcome, type Job } from "./experiment.ts";
import { readyData } from "./prepare.ts";
import { openSession, recordStop, type OpenOptions, type SessionStop } from "./session.ts";

export interface SingleCandidate {
  description: string;
  hypothesis: string;
  /** Whole contents of the mutable files that change, path relative to the project root. */
  files: Record<string, string>;
  proposer: string;
  meta?: unknown;
}

/**
 * Builds the candidate once the session is open (its best is known, the run lock is held).
 * Returning `{ refused }` ends the call before anything runs.
 */
export type CandidateBuilder = (ctx: SessionContext, best: BestState) => Promise<SingleCandidate | { refused: string }>;

export interface SingleOptions extends OpenOptions {
  signal: AbortSignal;
  candidate: CandidateBuilder;
}

export interface SingleResult {
  tag: string;
  branch: string;
  /** Why the candidate did not run (refused, baseline failed, interrupted), or null. */
  stopped: string | null;
  /** Every experiment this call ran, in order: missing baseline runs, the candidate, its confirmation. */
  experiments: LedgerExperiment[];
  /** The candidate's row with its final decision (after a confirmation run), or null. */
  candidate: LedgerExperiment | null;
  best: { commit: string; metric: number | null; experimentId: number | null };
  noiseSigma: number | null;
}

export async function runSingleExperiment(options: SingleOptions): Promise<SingleResult> {
  // The candidate is whatever code the driving agent wrote: sandboxed, or refused without --unsandboxed.
  const opened = await openSession({ ...options, writesCode: true });
  const { ctx, session } = opened;
  const { ledger, tag, config, clock } = ctx;
  const startedMs = clock.now();
  const ran: number[] = [];
  let candidateId: number | null = null;
  let stop: SessionStop | null = null;
  // Set by a run that found the prepared data modified: nothing more runs, the session pauses.
  let tampered: SessionStop | null = null;
  try {
    const state = gatherState(ctx);
    const built = await options.candidate(ctx, state);
    const refusal = "refused" in built ? built.refused : null;
    if ("refused" in built) {
      // A refusal is this call's answer (in `stopped`), not an event of the session: it is left as the call found it.
      ledger.updateSession(tag, { state: session.state === "running" ? "stopped" : session.state, stopReason: session.stopReason });
    } else {
      try {
        await readyData(ctx, session.baseCommit, options.signal);
      } catch (error) {
        ledger.updateSession(tag, { state: "paused", stopReason: (error as Error).message });
        throw error;
      }
      const policy = createAcceptancePolicy(config.acceptance);
      const decisions = decisionPolicy(ctx, policy);
      const run = async (job: Job) => {
        const outcome = await runExperiment(ctx, job, ctx.slots[0]!, options.signal);
        ran.push(outcome.id);
        const { followUps } = await applyOutcome(ctx, decisions, state, outcome);
        if (outcome.dataTampered) tampered = { paused: true, interrupted: false, reason: `${outcome.reason}. Run again: the data is prepared afresh first.` };
        return { outcome, followUps };
      };
      stop = await runMissingBaselines(ctx, state, decisions.baselineRuns, options.signal, run);
      if (stop === null) {
        const job: Job = {
          kind: "candidate", parentCommit: state.commit, proposer: built.proposer, description: built.description,
          hypothesis: built.hypothesis, meta: built.meta ?? null, files: built.files, proposeMs: 0, usage: null,
        };
        const first = await run(job);
        candidateId = first.outcome.id;
        // The runs the decision asks for (the candidate's next runs, the new best's re-measures), until none is left.
        const pending = [...first.followUps];
        while (pending.length > 0 && !options.signal.aborted && !tampered) pending.push(...(await run(pending.shift()!)).followUps);
        if (options.signal.aborted) stop = { paused: false, interrupted: true, reason: "interrupted" };
      }
      stop = tampered ?? stop;
    }
    if (refusal === null) recordStop(ctx, startedMs, stop ?? { paused: false, interrupted: false, reason: `ran experiment ${candidateId} (run_experiment)` });
    const after = ledger.getSession(tag)!;
    return {
      tag, branch: session.branch, stopped: refusal ?? stop?.reason ?? null,
      experiments: ran.filter((id) => id >= 0).map((id) => ledger.getExperiment(id)!),
      candidate: candidateId !== null && candidateId >= 0 ? ledger.getExperiment(candidateId)! : null,
      best: { commit: after.bestCommit, metric: after.bestMetric, experimentId: after.bestExperimentId },
      noiseSigma: after.noiseSigma,
    };
  } finally {
    await opened.close();
  }
}

/** Runs the unchanged code until the policy has its baseline; returns why it could not, or null. */
async function runMissingBaselines(
  ctx: SessionContext,
  state: BestState,
  baselineRuns: number,
  signal: AbortSignal,
  run: (job: Job) => Promise<{ outcome: ExperimentOutcome }>,
): Promise<SessionStop | null> {
  const session = ctx.ledger.getSession(ctx.tag)!;
  const done = ctx.ledger.listExperiments({ tag: ctx.tag, status: ["ok"], kind: ["baseline"] }).length;
  const job: Job = { kind: "baseline", commit: session.baseCommit, description: "baseline (unchanged code)" };
  for (let missing = baselineRuns - done; missing > 0; missing -= 1) {
    if (signal.aborted) return { paused: false, interrupted: true, reason: "interrupted before the baseline finished" };
    const { outcome } = await run(job);
    if (outcome.status === "interrupted") return { paused: false, interrupted: true, reason: "interrupted while the baseline ran" };
    if (outcome.status !== "ok") {
      return { paused: true, interrupted: false, reason: `the baseline (the unchanged code) failed: ${outcome.status}: ${outcome.reason}. See experiment ${outcome.id}, fix the project, commit, and start a new session with another tag.` };
    }
  }
  if (state.metric === null) return { paused: true, interrupted: false, reason: "the baseline produced no metric; see the results" };
  return signal.aborted ? { paused: false, interrupted: true, reason: "interrupted" } : null;
}
