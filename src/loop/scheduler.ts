// The loop: keep every slot busy, prepare proposals ahead, decide each result, stop on a rule.
// Gather (ledger, git) -> decide (the pure reducer, reducer.ts) -> apply (ledger transaction, git update-ref, events): apply.ts.
import { setTimeout as delay } from "node:timers/promises";
import type { AcceptancePolicy } from "./decide.ts";
import { checkStopRules } from "./stop-rules.ts";
import type { Proposer } from "../proposers/types.ts";
import type { SlotDevice } from "../executors/devices.ts";
import { runExperiment, type ExperimentOutcome, type Job } from "./experiment.ts";
import { isoAt, type SessionContext } from "./context.ts";
import { ProposalQueue } from "./proposals.ts";
import { applyOutcome, decisionPolicy, gatherState } from "./apply.ts";
import { pendingFollowUps } from "./reducer.ts";
import { smokeReference } from "./cascade.ts";
import { environmentErrorAt, type EnvironmentError } from "../errors.ts";
import { finishAdopted, type AdoptedJob } from "./adopt.ts";
import { heardOfBest, sharedReady } from "./share.ts";
import { startSpacingMs, StartSpreader } from "./spread.ts";

export interface LoopResult {
  reason: string;
  paused: boolean;
  /** Stopped by the user (Ctrl-C, SIGTERM), not by a rule: what `run`'s exit code says. */
  interrupted?: boolean;
}

export interface LoopOptions {
  proposer: Proposer;
  policy: AcceptancePolicy;
  signal: AbortSignal;
  queueDepth: number;
  /** Proposer calls in flight at once. */
  proposerConcurrency?: number;
  /** Jobs an earlier run left on a cluster (loop/adopt.ts): they hold slots first, and stand in for the runs they are. */
  adopted?: readonly AdoptedJob[];
}

export async function runLoop(ctx: SessionContext, options: LoopOptions): Promise<LoopResult> {
  const { signal } = options;
  const session = ctx.ledger.getSession(ctx.tag)!;
  const runStartedMs = ctx.clock.now();
  const state = gatherState(ctx);
  const policy = decisionPolicy(ctx, options.policy);
  const freeSlots: SlotDevice[] = [...ctx.slots];
  const running = new Set<Promise<void>>();
  // Runs a decision asked for (a candidate's next run, the best's re-measures) go before new candidates;
  // those that did not happen before the harness stopped are queued again.
  const adopted = options.adopted ?? [];
  const followUps: Job[] = withoutAdopted(pendingFollowUps(state, policy), adopted);
  let started = ctx.ledger.listExperiments({ tag: ctx.tag }).filter((row) => row.status !== "interrupted").length;
  let stop: LoopResult | null = null;
  let harnessFailure: EnvironmentError | null = null;
  let wake: () => void = () => {};
  const wakeUp = () => wake();
  signal.addEventListener("abort", wakeUp, { once: true });
  // The study's database went away or came back, or a new best was announced.
  ctx.share?.onChange(() => {
    heardOfBest(ctx);
    wakeUp();
  });

  const queue = new ProposalQueue(ctx, options.proposer, () => state, signal, wakeUp, options.proposerConcurrency ?? 1);

  const launch = (job: Job, done?: () => void, delayMs = 0) => {
    started += 1;
    occupy(async (slot) => {
      const waitStarted = ctx.clock.now();
      if (delayMs > 0) await delay(delayMs, undefined, { signal }).catch(() => undefined); // a stop ends the wait
      return runExperiment(ctx, job, slot, signal, ctx.clock.now() - waitStarted);
    }, done);
  };
  // Slots on one machine that start together end together, and queue for its processors every cycle:
  // this run's first candidates start one cycle's share apart (spread.ts).
  const spreader = new StartSpreader(ctx.executor.capacity().sharedMachine ? ctx.slots.length : 0, () => startSpacingMs(baselineTotals(ctx), ctx.slots.length));
  // An adopted job's row is counted in `started` already.
  const adopt = (adoptedJob: AdoptedJob) => occupy(() => finishAdopted(ctx, adoptedJob, signal));

  const occupy = (run: (slot: SlotDevice) => Promise<ExperimentOutcome>, done?: () => void) => {
    const slot = freeSlots.shift()!;
    const task = run(slot)
      .then((outcome) => onFinished(outcome))
      .catch((error: unknown) => {
        state.consecutiveFailures += 1;
        // The harness cannot write its own state (full disk, read-only): going on would only lose results.
        const environment = environmentErrorAt(error, ctx.paths.stateDir);
        if (environment) {
          harnessFailure ??= environment;
          stop ??= { paused: true, reason: environment.message };
        }
        ctx.bus.emit({ type: "warning", at: isoAt(ctx.clock), message: `${environment ? "the harness cannot write its state" : "experiment failed to start"}: ${(error as Error).message}` });
      })
      .finally(() => {
        done?.();
        running.delete(task);
        freeSlots.push(slot);
        freeSlots.sort((a, b) => a.slot - b.slot);
        wakeUp();
      });
    running.add(task);
  };

  const onFinished = async (outcome: ExperimentOutcome) => {
    const decided = await applyOutcome(ctx, policy, state, outcome);
    // A harness error recorded against the experiment (its log could not be written...) that is the disk's or the
    // permissions' fault stops the session: every later experiment would fail the same way.
    if (outcome.harnessError && outcome.reason) {
      const environment = environmentErrorAt(new Error(outcome.reason), ctx.paths.stateDir);
      if (environment) {
        harnessFailure ??= environment;
        stop ??= { paused: true, reason: environment.message };
      }
    }
    followUps.push(...decided.followUps);
    if (outcome.dataTampered && !stop) {
      stop = { paused: true, reason: `${outcome.reason}. Run \`autoresearch run\` again: it re-prepares the data and resumes.` };
    }
    if (outcome.job.kind === "baseline" && outcome.status !== "ok" && outcome.status !== "interrupted" && !stop) {
      stop = { paused: true, reason: `the baseline (the unchanged code) failed: ${outcome.status}: ${outcome.reason}. See \`autoresearch show ${outcome.id}\`, fix the project, commit, and start a new session with --tag.` };
    }
    queue.historyChanged();
  };

  // Baseline: the unchanged code, run as often as the policy needs to estimate noise.
  const baselinesDone = () => ctx.ledger.listExperiments({ tag: ctx.tag, status: ["ok"], kind: ["baseline"] }).length;
  let baselineMissing = Math.max(0, policy.baselineRuns - baselinesDone() - adopted.filter((each) => each.row.kind === "baseline").length);
  const baselineJob: Job = { kind: "baseline", commit: session.baseCommit, description: "baseline (unchanged code)" };
  for (const each of adopted) adopt(each);
  // The cascade's yardstick: smoke runs of the unchanged code, all finished before the first candidate.
  const smoke = smokeRunsToDo(ctx, session.baseCommit);
  let smokeRunning = 0;
  const smokeDone = () => {
    smokeRunning -= 1;
    if (smokeRunning === 0 && smoke.missing === 0) announceCascade(ctx);
  };

  for (;;) {
    if (signal.aborted && !stop) stop = { paused: false, interrupted: true, reason: "interrupted (Ctrl-C)" };
    if (!stop) {
      const verdict = checkStopRules(
        { experiments: started, startedAtMs: runStartedMs, nowMs: ctx.clock.now(), best: state.metric, direction: ctx.config.metric.direction, consecutiveFailures: state.consecutiveFailures },
        ctx.config.stop,
      );
      if (verdict) stop = { paused: verdict.action === "pause", reason: verdict.reason };
    }
    if (stop) {
      // A graceful stop (a limit, the target) still runs pending follow-ups, so no decision is left open.
      while (!stop.paused && !signal.aborted && followUps.length > 0 && freeSlots.length > 0) launch(followUps.shift()!);
      if (running.size === 0) break;
    } else if (baselineMissing > 0 || state.metric === null || smoke.missing > 0 || smokeRunning > 0) {
      while (baselineMissing > 0 && freeSlots.length > 0 && !stop) {
        baselineMissing -= 1;
        launch(baselineJob);
      }
      while (baselineMissing === 0 && smoke.missing > 0 && freeSlots.length > 0 && !stop) {
        smoke.missing -= 1;
        smokeRunning += 1;
        launch(smoke.job, smokeDone);
      }
      if (running.size === 0 && baselineMissing === 0 && state.metric === null) {
        stop = { paused: true, reason: "the baseline produced no metric; see `autoresearch results`" };
        continue;
      }
    } else if (!(await sharedReady(ctx, state, freeSlots.length > 0))) {
      // A shared study whose database is away: nothing new starts until it is back (that wakes the loop).
    } else {
      queue.fill(options.queueDepth, running.size === 0);
      while (freeSlots.length > 0 && !stop) {
        const job = followUps.shift() ?? (await queue.take());
        if (!job) break;
        if (!withinExperimentLimit(ctx, started)) break;
        launch(job, undefined, spreader.next(ctx.clock.now()));
      }
      // Replace what was just taken now, so the next proposal is made while the slots run (not after).
      if (withinExperimentLimit(ctx, started)) queue.fill(options.queueDepth, running.size === 0);
      if (running.size === 0 && queue.exhausted() && followUps.length === 0) {
        stop = { paused: false, reason: queue.exhaustedReason() };
        continue;
      }
      if (queue.failing()) {
        stop = { paused: true, reason: queue.failureReason() };
        continue;
      }
    }
    await new Promise<void>((resolve) => {
      wake = resolve;
      if (signal.aborted && !stop) resolve();
    });
  }
  signal.removeEventListener("abort", wakeUp);
  await queue.drain();
  if (harnessFailure) throw harnessFailure;
  return stop ?? { paused: false, reason: "stopped" };
}

/** How long this session's finished baselines took, each (ms). */
function baselineTotals(ctx: SessionContext): number[] {
  return ctx.ledger.listExperiments({ tag: ctx.tag, status: ["ok"], kind: ["baseline"] })
    .map((row) => row.timings.totalMs ?? Number.NaN);
}

/** The follow-ups a resume would queue, less those an adopted job already is (a confirmation of the same candidate, a re-measure). */
function withoutAdopted(followUps: Job[], adopted: readonly AdoptedJob[]): Job[] {
  let remeasures = adopted.filter((each) => each.row.kind === "remeasure").length;
  const confirming = new Set(adopted.filter((each) => each.row.kind === "confirmation").map((each) => each.row.confirms));
  return followUps.filter((job) => {
    if (job.kind === "confirmation" && confirming.has(job.confirms)) return false;
    if (job.kind === "remeasure" && remeasures > 0) {
      remeasures -= 1;
      return false;
    }
    return true;
  });
}

/** How many smoke runs of the unchanged code the cascade still needs (none once one failed: the cascade is off then). */
function smokeRunsToDo(ctx: SessionContext, baseCommit: string): { missing: number; job: Job } {
  const job: Job = { kind: "smoke", commit: baseCommit, of: null, description: "smoke run of the unchanged code (the cascade's yardstick)", meta: null };
  const { cascade } = ctx.config;
  if (cascade === undefined || !ctx.config.train) return { missing: 0, job };
  const finished = ctx.ledger.listExperiments({ tag: ctx.tag, kind: ["smoke"] }).filter((row) => row.confirms === null && row.status !== "interrupted" && row.status !== "running");
  if (finished.some((row) => row.status !== "ok")) return { missing: 0, job };
  return { missing: Math.max(0, cascade.baselineRuns - finished.length), job };
}

/** Once the unchanged code's smoke runs are in: a session whose cascade cannot work says why, once. */
function announceCascade(ctx: SessionContext): void {
  const reference = smokeReference(ctx.ledger.listExperiments({ tag: ctx.tag, kind: ["smoke"] }), ctx.slots[0]?.device ?? "cpu");
  if (reference.state === "off") ctx.bus.emit({ type: "warning", at: isoAt(ctx.clock), message: `cascade off: ${reference.reason}` });
}

function withinExperimentLimit(ctx: SessionContext, started: number): boolean {
  const max = ctx.config.stop.maxExperiments;
  return max === undefined || started < max;
}
