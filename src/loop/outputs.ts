// What stays of each experiment's output directory (.autoresearch/runs/<id>) once it is decided.
// A GPT run leaves a checkpoint of hundreds of MB, so a night of them would fill the disk; the
// logs (.autoresearch/logs), the ledger and git keep everything else about every experiment.
// Pruning runs after each decision and when a session resumes: a kill in between only delays it.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { LedgerExperiment } from "../ledger/rows.ts";
import type { SessionRecord } from "../core/session.ts";
import type { SessionContext } from "./context.ts";

/** "best": only the current best's (the baseline runs' until a keep); "kept": every kept one's and the baselines'; "all": nothing is removed. */
export type OutputsPolicy = "best" | "kept" | "all";

/** Whether the policy lets this experiment's outputs go now. Undecided experiments (running, awaiting confirmation) always stay. */
export function outputsMayGo(row: LedgerExperiment, session: Pick<SessionRecord, "bestExperimentId">, policy: OutputsPolicy): boolean {
  if (policy === "all" || row.status === "running") return false;
  if (row.kind === "candidate" && row.status === "ok" && row.decision === null) return false;
  if (row.kind === "baseline" && row.status === "ok") return policy === "best" && session.bestExperimentId !== null;
  if (policy === "kept") return row.decision !== "keep";
  return row.kind === "confirmation" || row.id !== session.bestExperimentId;
}

/** Removes the output directories of this session's experiments that the policy lets go; returns their ids. */
export function pruneOutputs(ctx: Pick<SessionContext, "config" | "ledger" | "paths" | "tag">): number[] {
  const policy = ctx.config.outputs;
  if (policy === "all" || !existsSync(ctx.paths.runsDir)) return [];
  const session = ctx.ledger.getSession(ctx.tag);
  if (!session) return [];
  const removed: number[] = [];
  for (const entry of readdirSync(ctx.paths.runsDir)) {
    if (!/^\d+$/.test(entry)) continue;
    const row = ctx.ledger.getExperiment(Number(entry));
    if (!row || row.tag !== ctx.tag || !outputsMayGo(row, session, policy)) continue;
    rmSync(join(ctx.paths.runsDir, entry), { recursive: true, force: true });
    removed.push(row.id);
  }
  return removed;
}
