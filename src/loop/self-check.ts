// The harness checks its own state before each decision: the ledger is still the file it opened and
// still holds the session, and the branch autoresearch/<tag> is where the harness last put it.
//
// A moved branch is put back (the ledger is the source of truth) with a warning, and the commit it was
// moved to stays reachable under refs/autoresearch/<tag>/displaced-<time>, so nothing of the user's is lost.
// A deleted or replaced ledger stops the session (LedgerChangedError): writing on would lose the results.
import * as git from "../git/index.ts";
import { isoAt, type SessionContext } from "./context.ts";

interface BranchState {
  /** Where the harness last put (or found) the branch; null until the first check. */
  expected: string | null;
  /** Branch reads and writes of one session, one at a time (experiments of several slots finish concurrently). */
  chain: Promise<unknown>;
}

const branches = new WeakMap<SessionContext, BranchState>();

function serially<T>(ctx: SessionContext, step: (state: BranchState) => Promise<T>): Promise<T> {
  let state = branches.get(ctx);
  if (!state) {
    state = { expected: null, chain: Promise.resolve() };
    branches.set(ctx, state);
  }
  const current = state;
  const result = current.chain.then(() => step(current));
  current.chain = result.catch(() => undefined);
  return result;
}

/** Before a decision: throws LedgerChangedError for a deleted/replaced ledger; puts a moved branch back. */
export async function checkHarnessState(ctx: SessionContext, bestCommit: string): Promise<void> {
  ctx.ledger.assertIntact(ctx.tag);
  await serially(ctx, async (state) => {
    const ref = `refs/heads/${ctx.branch}`;
    state.expected ??= bestCommit;
    const pointsAt = await git.readBranchRef(ctx.paths.projectDir, ref);
    if (pointsAt === state.expected) return;
    let kept = "";
    if (pointsAt !== null) {
      const displaced = `refs/autoresearch/${ctx.tag}/displaced-${ctx.clock.now()}`;
      await git.updateRef(ctx.paths.projectDir, displaced, pointsAt);
      kept = `; the commit it pointed at (${pointsAt.slice(0, 7)}) stays reachable as ${displaced}`;
    }
    await git.updateRef(ctx.paths.projectDir, ref, state.expected);
    ctx.bus.emit({
      type: "warning", at: isoAt(ctx.clock),
      message: `${ctx.branch} was ${pointsAt === null ? "deleted" : "moved"} by something other than this session: put back at the ledger's best ${state.expected.slice(0, 7)}${kept}. ` +
        "The session owns this branch while it runs; to build on its best, branch off it.",
    });
  }).catch((error: unknown) => {
    // Git failing here must not lose the result about to be recorded; the next run re-points the branch.
    ctx.bus.emit({ type: "warning", at: isoAt(ctx.clock), message: `could not check ${ctx.branch} against the ledger's best: ${(error as Error).message}` });
  });
}

/** Moves the branch to a new best (after the ledger recorded it). */
export function moveBranch(ctx: SessionContext, commit: string): Promise<void> {
  return serially(ctx, async (state) => {
    await git.updateRef(ctx.paths.projectDir, `refs/heads/${ctx.branch}`, commit);
    state.expected = commit;
  });
}
