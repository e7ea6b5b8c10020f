// Proposals are prepared ahead of free slots (one proposer call at a time), so a slot never waits
// on the proposer when it could be running. Each is made against the best at that moment; if the
// best moves before it runs, its edits are re-applied to the new best, or it is dropped (always, for
// proposers that would rather propose again: Proposer.reproposeWhenBestMoves).
import picomatch from "picomatch";
import * as git from "../git/index.ts";
import { applyEdits } from "../proposers/edits.ts";
import { proposerHistory } from "../proposers/history.ts";
import type { Edit, HistoryEntry, Proposer } from "../proposers/types.ts";
import { sessionDir } from "../project/paths.ts";
import { isoAt, type SessionContext } from "./context.ts";
import type { Job } from "./experiment.ts";
import type { BestState } from "./apply.ts";
import { claimCandidate, othersHistory, studyNotes } from "./share.ts";

interface ReadyProposal {
  baseCommit: string;
  edits: Edit[];
  job: Extract<Job, { kind: "candidate" }>;
}

const MAX_PROPOSER_ERRORS = 3;
const MAX_SKIPS_WHEN_IDLE = 3;

export class ProposalQueue {
  #ctx: SessionContext;
  #proposer: Proposer;
  #state: () => BestState;
  #signal: AbortSignal;
  #onChange: () => void;
  #ready: ReadyProposal[] = [];
  #inFlight = new Set<Promise<void>>();
  #concurrency: number;
  #skipReason: string | null = null;
  /** Skips since the last proposal or result; an idle loop asks again a few times before giving up. */
  #skipsInARow = 0;
  #errors = 0;
  #lastError = "";
  #filesCache = new Map<string, Record<string, string>>();
  /** Shared study: proposals another worker holds a live claim on, tried again later (its lease may expire). */
  #parked: ReadyProposal[] = [];

  constructor(ctx: SessionContext, proposer: Proposer, state: () => BestState, signal: AbortSignal, onChange: () => void, concurrency = 1) {
    this.#concurrency = Math.max(1, concurrency);
    this.#ctx = ctx;
    this.#proposer = proposer;
    this.#state = state;
    this.#signal = signal;
    this.#onChange = onChange;
  }

  /**
   * Starts proposer calls while fewer than `depth` proposals are ready or being made, at most
   * `concurrency` at once: with many slots and a slow proposer, one call at a time would idle slots.
   */
  fill(depth: number, idle: boolean): void {
    while (this.#inFlight.size < this.#concurrency && this.#inFlight.size + this.#ready.length < depth) {
      if (this.#signal.aborted || this.failing()) return;
      // After a skip, wait for a result (new history) unless nothing runs that could bring one.
      if (this.#skipReason !== null && (!idle || this.#skipsInARow >= MAX_SKIPS_WHEN_IDLE || this.#inFlight.size > 0)) return;
      const call: Promise<void> = this.#proposeOne()
        .catch((error: unknown) => {
          if (this.#signal.aborted) return;
          this.#errors += 1;
          this.#lastError = (error as Error).message;
          this.#ctx.bus.emit({ type: "warning", at: isoAt(this.#ctx.clock), message: `proposer ${this.#proposer.name} failed (${this.#errors} in a row): ${this.#lastError}` });
          return new Promise<void>((resolve) => setTimeout(resolve, Math.min(30_000, 500 * 2 ** this.#errors)));
        })
        .finally(() => {
          this.#inFlight.delete(call);
          this.#onChange();
        });
      this.#inFlight.add(call);
    }
  }

  /** The next proposal to run, re-applied to the current best if the best moved since it was made. */
  async take(): Promise<Job | null> {
    // Parked proposals go after the fresh ones: by then another worker's lease on them may have run out.
    const parked = this.#parked.splice(0);
    this.#ready.push(...parked);
    for (let left = this.#ready.length; left > 0 && this.#ready.length > 0; left--) {
      const ready = this.#ready.shift()!;
      const job = await this.#onBest(ready);
      if (job === null) continue;
      // A shared study: the candidate's code is claimed before it runs (loop/share.ts).
      const claimed = await claimCandidate(this.#ctx, job);
      if (claimed.ok) return job;
      this.#ctx.bus.emit({ type: "proposal_skipped", at: isoAt(this.#ctx.clock), proposer: this.#proposer.name, reason: claimed.reason });
      if (claimed.later) this.#parked.push({ ...ready, baseCommit: job.parentCommit, job });
    }
    return null;
  }

  /** The proposal as a job on the current best: as made, re-applied to a best that moved since, or null (dropped). */
  async #onBest(ready: ReadyProposal): Promise<ReadyProposal["job"] | null> {
    const best = this.#state();
    if (ready.baseCommit === best.commit) return ready.job;
    if (this.#proposer.reproposeWhenBestMoves) return null; // dropped: fill() asks for a fresh one on the new best
    const files = await this.mutableFiles(best.commit);
    const applied = applyEdits(files, ready.edits);
    if (applied.ok) return { ...ready.job, parentCommit: best.commit, files: pick(applied.files, applied.changed) };
    this.#ctx.bus.emit({ type: "warning", at: isoAt(this.#ctx.clock), message: `dropped "${ready.job.description}": made for an older best, it no longer applies (${applied.error})` });
    return null;
  }

  /** A result came in: a proposer that had nothing new may have something now. */
  historyChanged(): void {
    this.#skipReason = null;
    this.#skipsInARow = 0;
  }

  exhausted(): boolean {
    return this.#skipsInARow >= MAX_SKIPS_WHEN_IDLE && this.#inFlight.size === 0 && this.#ready.length === 0;
  }

  exhaustedReason(): string {
    return `the ${this.#proposer.name} proposer has nothing new to propose: ${this.#skipReason}`;
  }

  failing(): boolean {
    return this.#errors >= MAX_PROPOSER_ERRORS;
  }

  failureReason(): string {
    return `the ${this.#proposer.name} proposer failed ${this.#errors} times in a row (last: ${this.#lastError}); fix it (API key, network, the agent's installation) and run \`autoresearch run\` again to resume, or resume with another \`--proposer\` (the proposer settings in the config are those of the session's base commit)`;
  }

  async drain(): Promise<void> {
    await Promise.all(this.#inFlight);
  }

  async mutableFiles(commit: string): Promise<Record<string, string>> {
    const cached = this.#filesCache.get(commit);
    if (cached) return cached;
    const isMutable = picomatch(this.#ctx.config.mutable, { dot: true });
    const files: Record<string, string> = {};
    for (const path of await git.listFilesAt(this.#ctx.paths.projectDir, commit)) {
      if (isMutable(path)) files[path] = (await git.readFileAt(this.#ctx.paths.projectDir, commit, path)) ?? "";
    }
    this.#filesCache.set(commit, files);
    return files;
  }

  async #proposeOne(): Promise<void> {
    const ctx = this.#ctx;
    const best = this.#state();
    const files = await this.mutableFiles(best.commit);
    const program = (await git.readFileAt(ctx.paths.projectDir, best.commit, ctx.config.program)) ?? "";
    const recent = ctx.ledger.listExperiments({ tag: ctx.tag, limit: ctx.config.historyLimit, order: "desc" });
    // A shared study's other workers' candidates too: proposers do not repeat what was tried or is running elsewhere.
    const history = [...proposerHistory(recent, ctx.config.historyLimit), ...this.#pendingEntries(), ...(await othersHistory(ctx, ctx.config.historyLimit))];
    ctx.bus.emit({ type: "proposal_requested", at: isoAt(ctx.clock), proposer: this.#proposer.name });
    const startedMs = ctx.clock.now();
    const result = await this.#proposer.propose(
      {
        program, files, best: { commit: best.commit, metric: best.metric }, metric: { name: ctx.config.metric.name, direction: ctx.config.metric.direction }, history, noiseSigma: best.noiseSigma,
        tag: ctx.tag, sessionDir: sessionDir(ctx.paths, ctx.tag), mutableGlobs: ctx.config.mutable, contextGlobs: ctx.config.context, protectedGlobs: ctx.protectedGlobs,
        measureOnly: !ctx.config.train, studyNotes: await studyNotes(ctx),
      },
      this.#signal,
    );
    const latencyMs = ctx.clock.now() - startedMs;
    this.#errors = 0;
    if (result.kind === "skip") {
      this.#skipReason = result.reason;
      this.#skipsInARow += 1;
      ctx.bus.emit({ type: "proposal_skipped", at: isoAt(ctx.clock), proposer: this.#proposer.name, reason: result.reason });
      return;
    }
    const applied = applyEdits(files, result.edits);
    if (!applied.ok) throw new Error(`its edits do not apply: ${applied.error}`);
    this.#skipReason = null;
    this.#skipsInARow = 0;
    ctx.bus.emit({ type: "proposal_ready", at: isoAt(ctx.clock), proposer: this.#proposer.name, description: result.description, latencyMs });
    this.#ready.push({
      baseCommit: best.commit,
      edits: result.edits,
      job: {
        kind: "candidate", parentCommit: best.commit, proposer: this.#proposer.name, description: result.description,
        hypothesis: result.hypothesis, meta: result.meta ?? null, files: pick(applied.files, applied.changed), proposeMs: latencyMs,
        usage: result.usage ?? null,
      },
    });
  }

  /** Proposals made but not started yet, shown to the proposer so it does not propose them again. */
  #pendingEntries(): HistoryEntry[] {
    return this.#ready.map((ready, index) => ({
      id: -(index + 1), kind: "candidate", parentCommit: ready.baseCommit, candidateCommit: null, proposer: ready.job.proposer,
      description: ready.job.description, hypothesis: ready.job.hypothesis, status: "queued", decision: null, metric: null, delta: null, meta: ready.job.meta,
    }));
  }
}

function pick(files: Record<string, string>, paths: string[]): Record<string, string> {
  return Object.fromEntries(paths.map((path) => [path, files[path]!]));
}
