// What `finalize` measures, decided from the ledger alone: the kept changes that make up the final
// best (in order), and the meta every re-score and ablation run carries so any view can tell what it
// measured. Pure.
import type { ExperimentRecord } from "../core/experiment.ts";
import type { SessionRecord } from "../core/session.ts";

/** A kept candidate on the path from the session's base to its final best: its diff against its parent is the change. */
export interface KeptChange {
  id: number;
  description: string;
  parentCommit: string;
  commit: string;
}

export type KeptRow = Pick<ExperimentRecord, "id" | "kind" | "decision" | "parentCommit" | "candidateCommit" | "description">;

/**
 * The kept changes the final best is made of, oldest first, and the keeps that are not in it: with
 * several slots a candidate built on an older best can win, and the branch then moves to it, leaving
 * the keeps in between out of the final code.
 */
export function keptChain(session: Pick<SessionRecord, "baseCommit" | "bestExperimentId">, rows: readonly KeptRow[]): { chain: KeptChange[]; superseded: KeptChange[] } {
  const keeps = rows
    .filter((row) => row.kind === "candidate" && row.decision === "keep" && row.candidateCommit !== null)
    .map((row) => ({ id: row.id, description: row.description, parentCommit: row.parentCommit, commit: row.candidateCommit! }));
  const byCommit = new Map(keeps.map((keep) => [keep.commit, keep]));
  const chain: KeptChange[] = [];
  let current = keeps.find((keep) => keep.id === session.bestExperimentId);
  while (current !== undefined && !chain.includes(current)) {
    chain.unshift(current);
    if (current.parentCommit === session.baseCommit) break;
    current = byCommit.get(current.parentCommit);
  }
  return { chain, superseded: keeps.filter((keep) => !chain.includes(keep)) };
}

export type FinalizeRole = "baseline" | "best" | "without";

/** How "the best without a change" was built: its siblings re-applied on the base, or it reverted from the best. */
export type AblationMethod = "reapplied" | "reverted";

/** What one finalize run measures; stored as meta.finalize on its ledger row. */
export interface FinalizeMeta {
  /** Which finalize of the session (1, 2, ...): views read the latest. */
  round: number;
  role: FinalizeRole;
  /** For role "without": the kept experiment left out, and how its code was built. */
  without?: number;
  method?: AblationMethod;
  /** The session's best experiment when finalize ran (null: nothing was kept). */
  best: number | null;
  /** Runs asked for each measured code. */
  runs: number;
  ablation: boolean;
  /** Kept changes that neither re-applying the others nor reverting them could separate. */
  notSeparable: number[];
  /** Kept changes whose "best without" is the base's code itself (a single keep): the baseline runs measure it. */
  asBaseline: number[];
}

export function finalizeMetaOf(meta: unknown): FinalizeMeta | null {
  const inner = (meta as { finalize?: unknown } | null)?.finalize as Partial<FinalizeMeta> | undefined;
  if (inner === undefined || inner === null || typeof inner !== "object") return null;
  if (typeof inner.round !== "number" || !["baseline", "best", "without"].includes(inner.role as string)) return null;
  return {
    round: inner.round,
    role: inner.role!,
    ...(typeof inner.without === "number" ? { without: inner.without } : {}),
    ...(inner.method === "reapplied" || inner.method === "reverted" ? { method: inner.method } : {}),
    best: typeof inner.best === "number" ? inner.best : null,
    runs: typeof inner.runs === "number" ? inner.runs : 0,
    ablation: inner.ablation === true,
    notSeparable: Array.isArray(inner.notSeparable) ? inner.notSeparable.filter((id): id is number => typeof id === "number") : [],
    asBaseline: Array.isArray(inner.asBaseline) ? inner.asBaseline.filter((id): id is number => typeof id === "number") : [],
  };
}

/** The runs in the order they are made: each round measures every code once, so drift hits all alike. */
export function interleave<T>(arms: readonly T[], runs: number): T[][] {
  return Array.from({ length: runs }, () => [...arms]);
}
