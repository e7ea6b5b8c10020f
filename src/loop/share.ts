// The loop's side of a shared study (#11). The local SQLite ledger stays the worker's own record; the
// study's database decides what is shared:
//   before a candidate starts   claimCandidate: its code (git tree) is claimed; claimed or done elsewhere → not run
//   before a decision           syncBest: the state is moved to the study's best (fetched from the remote), so the
//                               result is judged against the current best, not a stale one
//   the decision                applySharedOutcome: ONE database transaction records it and, for a new best, swaps
//                               the study's best (compare-and-swap); a lost swap judges again against the new best;
//                               only then the local ledger, the local branch, and the remote's branch (with a lease)
//   while the database is away  nothing new starts (sharedReady); finished results wait and are written when it is back
//   the noise                   σ pools this worker's repeated runs with the other workers' baseline runs of its device class
// Decisions of one worker go one at a time: a decision awaits the database between judging and committing.
import * as git from "../git/index.ts";
import { fetchRef, pushCommit, pushWithLease, remoteRef, StaleLeaseError } from "../git/remote.ts";
import { deviceKind } from "../config/device-kind.ts";
import { EXIT, UserError } from "../errors.ts";
import type { CommittedDecision, LedgerExperiment } from "../ledger/sqlite.ts";
import type { ReviewFlag } from "../core/experiment.ts";
import type { HistoryEntry, ProposerConfig } from "../proposers/types.ts";
import { hashString } from "../stats/random.ts";
import { isConnectionError, type BestProposal, type ClaimToken, type GlobalBest, type SharedRow } from "../share/study.ts";
import { candidateRemoteRef, ShareSession, studyBestBranch } from "../share/worker.ts";
import { readNotebook } from "../proposers/llm/notebook.ts";
import { sessionDir } from "../project/paths.ts";
import { checkHarnessState, moveBranch } from "./self-check.ts";
import { decide, type BestState, type Decided, type DecisionPolicy } from "./reducer.ts";
import type { ExperimentOutcome, Job } from "./experiment.ts";
import { isoAt, type SessionContext } from "./context.ts";

/** Opens the study when the config shares the ledger (ledger.kind "postgres"); null for a local one. */
export async function openShare(ctx: SessionContext): Promise<ShareSession | null> {
  const ledger = ctx.config.ledger;
  if (ledger.kind !== "postgres") return null;
  const share = await ShareSession.open(ledger, ctx.paths.stateDir, deviceKind(ctx.slots[0]?.device ?? "cpu"));
  try {
    const { study } = share.study;
    if (study.metric !== ctx.config.metric.name || study.direction !== ctx.config.metric.direction) {
      throw new UserError(`the study "${study.name}" measures ${study.metric} (${study.direction}), this project's config ${ctx.config.metric.name} (${ctx.config.metric.direction})`, {
        exitCode: EXIT.config, hint: "Join the study from a clone of its remote (`autoresearch join`), whose config is the study's.",
      });
    }
    // This clone's earlier process is gone (the run lock says so): the ideas it had claimed are free again.
    const released = await share.study.releaseMine();
    if (released > 0) say(ctx, `released ${released} claim(s) this worker held when it stopped: other workers may run those candidates`);
    await catchUp(ctx, share);
  } catch (error) {
    await share.close();
    throw error;
  }
  return share;
}

/** Rows this worker finished but the study lacks (stopped while the database was away): written now, deciding nothing. */
async function catchUp(ctx: SessionContext, share: ShareSession): Promise<void> {
  const recorded = await share.study.recordedIds();
  const missing = ctx.ledger.listExperiments({ tag: ctx.tag }).filter((row) => row.status !== "running" && !recorded.has(row.id));
  for (const row of missing) await share.study.record([sharedRow(row)], null, null);
  if (missing.length > 0) say(ctx, `wrote ${missing.length} experiment(s) the study's database did not have yet: ${missing.map((row) => row.id).join(", ")}`);
}

/**
 * Before the loop starts anything: false while the study's database is away (nothing new starts; the worker is
 * woken when it is back). Once the baseline is in, the state follows the study's best when something is about
 * to start (`starting`): a worker whose slots are all busy does not move now, since a decision waits for a move
 * in progress, and the decision moves to the study's best itself.
 */
export async function sharedReady(ctx: SessionContext, state: BestState, starting: boolean): Promise<boolean> {
  const share = ctx.share;
  if (!share) return true;
  if (!share.study.online) {
    if (!waiting.has(share)) say(ctx, "the study's database is away: no new experiment starts until it is back");
    waiting.add(share);
    return false;
  }
  if (waiting.delete(share)) say(ctx, "the study's database is back");
  // A start builds on the newest best heard of, moving once per start: a best heard of after that move is taken
  // up at the decision, or at the next start (a candidate made on an older best is judged against the current one).
  if (starting && state.metric !== null && !share.movedSinceStart && (await serially(share, () => syncBest(ctx, share, state)))) {
    share.movedSinceStart = true;
  }
  return share.study.online;
}

/**
 * Moves `state` to the study's best of this device class when it changed since the state was last set from it:
 * the commit is fetched from the remote, the local session and branch follow. Says whether it moved.
 */
async function syncBest(ctx: SessionContext, share: ShareSession, state: BestState): Promise<boolean> {
  const best = share.study.best();
  if (best === null || best.version === share.adoptedVersion) return false;
  const moved = best.commit !== state.commit;
  if (moved) {
    try {
      await fetchBest(ctx, share, best);
    } catch (error) {
      say(ctx, `could not fetch the study's best ${best.commit.slice(0, 7)} from ${share.remote}: ${(error as Error).message} (trying again before the next decision)`);
      return false;
    }
    const closed = state.bestRuns.length >= 2 ? [...state.noiseGroups, [...state.bestRuns]] : state.noiseGroups;
    Object.assign(state, { commit: best.commit, metric: best.metric, experimentId: null, bestRuns: [], keptRuns: 1, noiseGroups: closed, sinceRemeasure: 0 } satisfies Partial<BestState>);
    ctx.ledger.updateSession(ctx.tag, { bestCommit: best.commit, bestMetric: best.metric, bestExperimentId: null });
    await moveBranch(ctx, best.commit);
    say(ctx, `building on the study's best ${best.commit.slice(0, 7)} (${best.metric}, worker ${best.worker}${best.localId === null ? "" : ` #${best.localId}`})`);
  }
  adopted(share, best);
  return moved;
}

/**
 * After a notification: another worker's new best of this class is announced once, as the study_best event
 * (the worker builds on it from its next start, when syncBest moves the session to it).
 */
export function heardOfBest(ctx: SessionContext): void {
  const share = ctx.share;
  const best = share?.study.best();
  if (!share || !best || best.version <= share.heardVersion) return;
  share.heardVersion = best.version;
  if (best.worker === share.worker || best.version <= share.adoptedVersion) return;
  ctx.bus.emit({ type: "study_best", at: isoAt(ctx.clock), version: best.version, worker: best.worker, localId: best.localId, commit: best.commit, metric: best.metric });
  // Fetched now, while this worker's experiments run, so that the move to it (at the next decision or start) is quick.
  fetchBest(ctx, share, best).catch(() => undefined); // a failure is retried, and reported, by the move itself
}

const fetches = new WeakMap<ShareSession, Map<string, Promise<string>>>();

/** The best's commit fetched from the remote into a local ref: once per commit (a fetch in progress is shared); a failed one is tried again. */
function fetchBest(ctx: SessionContext, share: ShareSession, best: GlobalBest): Promise<string> {
  const started = fetches.get(share) ?? new Map<string, Promise<string>>();
  fetches.set(share, started);
  const known = started.get(best.commit);
  if (known) return known;
  const fetching = fetchRef(ctx.paths.projectDir, share.remote, best.ref, `refs/autoresearch/${ctx.tag}/study/${best.worker}/${best.localId ?? "base"}`);
  started.set(best.commit, fetching);
  fetching.catch(() => started.delete(best.commit));
  if (started.size > 64) started.delete(started.keys().next().value!); // only the newest bests matter
  return fetching;
}

/** The session's state follows `best` from now: remembered here, and told to the study for its views. */
function adopted(share: ShareSession, best: GlobalBest): void {
  share.adoptedVersion = best.version;
  void share.study.buildingOn(best).catch(() => undefined); // only a view's detail: an outage must not stop the loop
}

/**
 * When a worker stops: its session and branch move to the study's best (of its device class), so every
 * worker ends on the best anyone found, even one announced after its last decision.
 */
export async function followStudyBest(ctx: SessionContext): Promise<void> {
  const share = ctx.share;
  if (!share) return;
  const best = await share.study.stopping().catch(() => null);
  const session = ctx.ledger.getSession(ctx.tag);
  if (best === null || session === null || session.bestMetric === null) return;
  if (best.commit === session.bestCommit) {
    if (best.version !== share.adoptedVersion) await share.study.buildingOn(best).catch(() => undefined);
    return;
  }
  try {
    await fetchBest(ctx, share, best);
  } catch (error) {
    say(ctx, `could not fetch the study's best ${best.commit.slice(0, 7)}: ${(error as Error).message}`);
    return;
  }
  ctx.ledger.updateSession(ctx.tag, { bestCommit: best.commit, bestMetric: best.metric, bestExperimentId: null });
  await moveBranch(ctx, best.commit);
  await share.study.buildingOn(best).catch(() => undefined); // the views show where it stopped
  say(ctx, `${ctx.branch} follows the study's best ${best.commit.slice(0, 7)} (${best.metric}, worker ${best.worker})`);
}

/**
 * The proposer's config for this worker: in a shared study the search proposer's seed, unless the config sets
 * one, comes from the worker's id, so workers explore apart instead of proposing the same candidates (which
 * the claims would then refuse on all but one of them).
 */
export function workerProposerConfig(ctx: SessionContext, proposer: ProposerConfig): ProposerConfig {
  if (!ctx.share || proposer.name !== "search" || proposer.seed !== undefined) return proposer;
  return { ...proposer, seed: hashString(ctx.share.worker) };
}

/** Claims a candidate's code before it runs; `ok: false` when another worker runs it or ran it already. */
export async function claimCandidate(ctx: SessionContext, job: Extract<Job, { kind: "candidate" }>): Promise<{ ok: true } | { ok: false; reason: string; later: boolean }> {
  const share = ctx.share;
  if (!share) return { ok: true };
  const { tree } = await git.commitFiles(ctx.paths.projectDir, job.parentCommit, job.files, job.description);
  if (tree === (await git.treeOf(ctx.paths.projectDir, job.parentCommit))) return { ok: true }; // changes nothing: the guard rejects it
  if (share.claims.has(tree)) return { ok: false, reason: `"${job.description}": the same code is already running here`, later: false };
  try {
    const answer = await share.study.claim(tree, job.description, job.meta);
    if (answer.kind === "claimed") {
      share.claims.set(tree, answer.token);
      share.movedSinceStart = false; // it starts now: the next start may move to a newer best again
      return { ok: true };
    }
    const what = answer.state === "done" ? "was run already by" : "is being run by";
    return { ok: false, reason: `"${job.description}" ${what} worker ${answer.worker}`, later: answer.state === "claimed" };
  } catch (error) {
    if (!isConnectionError(error)) throw error;
    return { ok: false, reason: `"${job.description}" could not be claimed: the study's database is away`, later: true };
  }
}

/** Other workers' candidates (finished, and claimed now) as history entries, so proposers do not repeat them. */
export async function othersHistory(ctx: SessionContext, limit: number): Promise<HistoryEntry[]> {
  const share = ctx.share;
  if (!share) return [];
  if (share.study.online) share.others = await share.study.othersHistory(limit).catch(() => share.others);
  // The description says it outright: a proposer that reads only descriptions still knows the idea is taken.
  return share.others.map((other, index) => ({
    id: -(1_000_000 + index), kind: "candidate", parentCommit: other.parentCommit, candidateCommit: other.candidateCommit, worker: other.worker,
    proposer: `worker ${other.worker}`, description: `[${other.status === "running" ? "running now on" : "done by"} worker ${other.worker}] ${other.description}`, hypothesis: "",
    status: other.status, decision: other.decision, metric: other.metric,
    delta: other.metric !== null && other.bestBefore !== null ? other.metric - other.bestBefore : null, meta: other.meta,
  }));
}

/**
 * The shared notebook for the next proposal: this worker's notes.md goes to the study when its proposer has
 * rewritten it, and the proposer gets the people's notes and the other workers' latest notes.md.
 */
export async function studyNotes(ctx: SessionContext): Promise<Array<{ from: string; text: string }> | undefined> {
  const share = ctx.share;
  if (!share) return undefined;
  if (share.study.online) {
    const own = readNotebook(sessionDir(ctx.paths, ctx.tag))?.text ?? null;
    if (own !== null && own !== share.publishedNotes) {
      await share.study.note(own, "proposer").then(() => (share.publishedNotes = own), () => undefined);
    }
    share.notes = await share.study.notebook().catch(() => share.notes);
  }
  return share.notes.map((note) => ({ from: note.source === "person" ? `a person${note.worker ? ` (at worker ${note.worker})` : ""}, ${note.at.slice(0, 16).replace("T", " ")}` : `worker ${note.worker}'s notes.md`, text: note.text }));
}

export interface ApplyHooks {
  flags(state: BestState, outcome: ExperimentOutcome): ReviewFlag[];
  publish(decided: Decided, committed: CommittedDecision): Promise<void>;
  /** results.tsv and outputs after the decision. */
  settle(committed: CommittedDecision): void;
}

/** applyOutcome (apply.ts) for a shared study: the study's database first, then the local ledger, git and events. */
export function applySharedOutcome(ctx: SessionContext, policy: DecisionPolicy, state: BestState, outcome: ExperimentOutcome, hooks: ApplyHooks): Promise<{ followUps: Job[] }> {
  const share = ctx.share!;
  return serially(share, async () => {
    await checkHarnessState(ctx, state.commit);
    const flags = outcome.status === "ok" && outcome.metric !== null ? hooks.flags(state, outcome) : [];
    const input = { outcome, flags, at: isoAt(ctx.clock) };
    for (;;) {
      if (state.metric !== null) await syncBest(ctx, share, state);
      let decided = decidePooled(share, state, input, policy, await classNoise(share));
      const claim = claimOf(ctx, share, outcome, decided);
      const proposal = await untilBack(ctx, share, () => bestProposal(ctx, share, state, decided, outcome));
      const answer = proposal === undefined ? null : await untilBack(ctx, share, () => share.study.record(rowsOf(ctx, decided), claim, proposal ?? null));
      if (answer?.kind === "lost") continue; // the best moved meanwhile: judged again against it
      if (answer?.kind === "fenced") decided = fencedDecision(decided, state);
      if (answer?.kind === "recorded" && answer.best !== null) {
        adopted(share, answer.best);
        void moveRemoteBranch(ctx, share, state.commit);
      }
      if (answer === null) say(ctx, `experiment ${outcome.id} decided here only (the session stopped while the study's database was away); it is written to the study at the next start`);
      if (claim !== null && (claim.done || outcome.status === "interrupted")) {
        share.claims.delete(claim.token.fingerprint);
        if (outcome.status === "interrupted") await share.study.release(claim.token).catch(() => undefined);
      }
      const committed = ctx.ledger.commitDecision(decided.ledger);
      Object.assign(state, decided.state);
      await hooks.publish(decided, committed);
      hooks.settle(committed);
      return { followUps: decided.followUps };
    }
  });
}

/**
 * The reducer's decision with the noise of this device class pooled across workers: the other workers' baseline
 * groups join the state's own for this decision only (they are not this worker's to keep in its state).
 */
function decidePooled(share: ShareSession, state: BestState, input: Parameters<typeof decide>[1], policy: DecisionPolicy, elsewhere: number[][]): Decided {
  if (elsewhere.length === 0) return decide(state, input, policy);
  const decided = decide({ ...state, noiseGroups: [...elsewhere, ...state.noiseGroups] }, input, policy);
  const borrowed = new Set(elsewhere);
  return { ...decided, state: { ...decided.state, noiseGroups: decided.state.noiseGroups.filter((group) => !borrowed.has(group)) } };
}

/** The other workers' baseline groups of this class, as last read (kept while the database is away). */
async function classNoise(share: ShareSession): Promise<number[][]> {
  if (share.study.online) share.classNoise = await share.study.classBaselineGroups().catch(() => share.classNoise);
  return share.classNoise;
}

/** The claim a decision settles: a candidate's own, or the original's for its confirmation run. Done once decided. */
function claimOf(ctx: SessionContext, share: ShareSession, outcome: ExperimentOutcome, decided: Decided): { token: ClaimToken; done: boolean } | null {
  const { job } = outcome;
  const owner = job.kind === "candidate" ? ctx.ledger.getExperiment(outcome.id) : job.kind === "confirmation" ? ctx.ledger.getExperiment(job.confirms) : null;
  const token = owner?.candidateTree ? share.claims.get(owner.candidateTree) : undefined;
  if (!token) return null;
  if (outcome.status === "interrupted") return { token, done: false };
  const decision = job.kind === "candidate" ? decided.ledger.finish.patch.decision : decided.ledger.amend?.patch.decision;
  return { token, done: outcome.status !== "ok" || (decision !== null && decision !== undefined) };
}

/** The new study best this decision would make, its commit pushed to the remote first (a best must be fetchable). */
async function bestProposal(ctx: SessionContext, share: ShareSession, before: BestState, decided: Decided, outcome: ExperimentOutcome): Promise<BestProposal | null> {
  const { study, worker } = share.study;
  const current = share.study.best();
  if (decided.ref !== null && decided.state.metric !== null) {
    const localId = decided.state.experimentId;
    const ref = candidateRemoteRef(study.name, worker, localId ?? outcome.id);
    await pushCommit(ctx.paths.projectDir, share.remote, decided.ref.commit, ref);
    return { commit: decided.ref.commit, ref, metric: decided.state.metric, localId, expectedVersion: share.adoptedVersion };
  }
  // The first worker whose baseline is complete sets the study's starting point for its device class.
  if (outcome.job.kind === "baseline" && before.metric === null && decided.state.metric !== null && current === null) {
    const ref = candidateRemoteRef(study.name, worker, outcome.id);
    await pushCommit(ctx.paths.projectDir, share.remote, decided.state.commit, ref);
    return { commit: decided.state.commit, ref, metric: decided.state.metric, localId: null, expectedVersion: 0 };
  }
  // A re-measure of the study's best by the worker that found it revises its value.
  const revised = decided.ledger.session?.bestMetric;
  if (outcome.job.kind === "remeasure" && typeof revised === "number" && current !== null && current.worker === worker && current.commit === decided.state.commit && current.version === share.adoptedVersion) {
    return { commit: current.commit, ref: current.ref, metric: revised, localId: current.localId, expectedVersion: current.version };
  }
  return null;
}

/** A result whose claim another worker took over: recorded as it ran, decided on by nobody; the state stays. */
function fencedDecision(decided: Decided, state: BestState): Decided {
  const rationale = "fenced: this worker's claim on the candidate expired and another worker took it over; the result is recorded, not decided on";
  return {
    state,
    ledger: { finish: { id: decided.ledger.finish.id, patch: { ...decided.ledger.finish.patch, decision: null, rationale } }, amend: null, session: null },
    ref: null,
    events: decided.events.filter((event) => event.type === "experiment_finished"),
    followUps: [],
  };
}

function rowsOf(ctx: SessionContext, decided: Decided): SharedRow[] {
  const rows: SharedRow[] = [];
  for (const change of [decided.ledger.finish, decided.ledger.amend]) {
    if (change === null) continue;
    const row = ctx.ledger.getExperiment(change.id);
    if (row) rows.push(sharedRow({ ...row, ...change.patch }));
  }
  return rows;
}

function sharedRow(row: LedgerExperiment): SharedRow {
  return {
    localId: row.id, kind: row.kind, status: row.status, decision: row.decision, fingerprint: row.kind === "candidate" ? row.candidateTree : null,
    parentCommit: row.parentCommit, candidateCommit: row.candidateCommit, device: row.device, proposer: row.proposer, description: row.description,
    meta: row.meta, metric: row.metric, bestBefore: row.bestBefore, rationale: row.rationale, reason: row.reason, startedAt: row.startedAt, finishedAt: row.finishedAt,
  };
}

/**
 * The remote's branch for this device class follows the study's best, and only after the database has it:
 * pushed with a lease on where it was, so a slower worker's push never moves it back. The first push leases on
 * `previous` (the best this one replaced, where its finder moved the branch) without asking the remote; when
 * that lease fails (that push came late or never, or this is the study's first best and there is no branch yet),
 * the remote is asked where the branch is. A re-measure revises its best's value without changing the commit:
 * then `previous` is the best itself, says nothing about the remote, and the remote is asked.
 */
async function moveRemoteBranch(ctx: SessionContext, share: ShareSession, previous: string): Promise<void> {
  const ref = `refs/heads/${studyBestBranch(share.study.study.name, share.study.deviceClass)}`;
  try {
    // undefined: ask the remote; null: the remote has no such branch.
    let there: string | null | undefined = previous === share.study.best()?.commit ? undefined : previous;
    for (let attempt = 0; attempt < 4; attempt++) {
      const best = share.study.best();
      if (best === null || best.worker !== share.worker) return; // its finder pushes it
      there ??= await remoteRef(ctx.paths.projectDir, share.remote, ref);
      if (there === best.commit) return;
      try {
        await pushWithLease(ctx.paths.projectDir, share.remote, best.commit, ref, there);
        return;
      } catch (error) {
        if (!(error instanceof StaleLeaseError)) throw error;
        there = undefined;
        await share.study.readBest();
      }
    }
  } catch (error) {
    say(ctx, `could not move ${ref} on ${share.remote}: ${(error as Error).message} (the study's database has the best; the branch follows at the next new best)`);
  }
}

/**
 * Runs `step` until the study's database and remote answer; while they are away the worker waits (and says so
 * once). Undefined when the session is stopped meanwhile: the caller decides locally and catches up later.
 */
async function untilBack<T>(ctx: SessionContext, share: ShareSession, step: () => Promise<T>): Promise<T | undefined> {
  let told = false;
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await step();
      if (told) say(ctx, "the study's database is back: the waiting results are written");
      return result;
    } catch (error) {
      if (!isConnectionError(error) && !(error instanceof git.GitError)) throw error;
      if (!told) say(ctx, `the study's database or remote is away (${(error as Error).message}): no new experiment starts; finished results wait here`);
      told = true;
      if (share.stopSignal?.aborted) return undefined;
      await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** Math.min(attempt, 5))));
    }
  }
}

const chains = new WeakMap<ShareSession, Promise<unknown>>();
/** Workers whose loop was told the database is away (said once, and once when it is back). */
const waiting = new WeakSet<ShareSession>();

function serially<T>(share: ShareSession, step: () => Promise<T>): Promise<T> {
  const result = (chains.get(share) ?? Promise.resolve()).then(step);
  chains.set(share, result.catch(() => undefined));
  return result;
}

function say(ctx: SessionContext, message: string): void {
  ctx.bus.emit({ type: "warning", at: isoAt(ctx.clock), message: `study: ${message}` });
}
