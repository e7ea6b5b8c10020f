// What the search proposer learns from the history: which settings were already tried, and
// which knob-directions helped. Pure functions of the history, unit-testable with plain values.
import { z } from "zod";
import type { KnobValue } from "./knobs.ts";
import type { HistoryEntry } from "./types.ts";

export type Direction = "up" | "down" | "choice";
export type Assignment = Record<string, KnobValue>;

export interface SearchMove {
  knob: string;
  from: KnobValue;
  to: KnobValue;
  direction: Direction;
}

/** What the search proposer attaches to each proposal; the first move is repeated at the top level. */
export interface SearchMeta extends SearchMove {
  /** Every knob's value before the move (the best at proposal time) and after it. */
  base: Assignment;
  assignment: Assignment;
  moves: SearchMove[];
}

export interface ArmRecord {
  /** Finished experiments that moved this knob this way. */
  tries: number;
  /** Of those, how many improved on the best (kept, or a better metric that was not kept). */
  helped: number;
  /** Beta-posterior counts; an improvement that was not kept counts half. */
  successes: number;
  failures: number;
  /** Failures since the last keep, newest first: how far to shrink the step. */
  consecutiveFailures: number;
}

export interface SearchMemory {
  /** assignmentKey of every setting already run, running, or proposed. */
  seen: Set<string>;
  /** By armKey(knob, direction). */
  arms: Map<string, ArmRecord>;
  /** The move of the newest finished search experiment, when it was kept. */
  momentum: { knob: string; direction: Direction } | null;
  /** Per knob, the values (JSON) it has had in any seen setting. */
  triedValues: Map<string, Set<string>>;
}

const value = z.union([z.number(), z.string()]);
const move = z.object({ knob: z.string(), from: value, to: value, direction: z.enum(["up", "down", "choice"]) });
const metaSchema = move.extend({
  base: z.record(z.string(), value).optional(),
  assignment: z.record(z.string(), value),
  moves: z.array(move).optional(),
});

export function armKey(knob: string, direction: Direction): string {
  return `${knob}|${direction}`;
}

/** A comparable key of the assignment restricted to `ids`; null when it lacks one of them. */
export function assignmentKey(ids: string[], assignment: Partial<Assignment>): string | null {
  const values: KnobValue[] = [];
  for (const id of ids) {
    const known = assignment[id];
    if (known === undefined) return null;
    values.push(known);
  }
  return JSON.stringify(values);
}

export function readSearchMeta(meta: unknown): SearchMeta | null {
  const parsed = metaSchema.safeParse(meta);
  if (!parsed.success) return null;
  const data = parsed.data;
  const first = { knob: data.knob, from: data.from, to: data.to, direction: data.direction };
  return { ...first, base: data.base ?? {}, assignment: data.assignment, moves: data.moves ?? [first] };
}

/**
 * @param ids the knob ids in the current files (sorted)
 * @param current the current best setting (counts as seen: proposing it would change nothing)
 * @param proposedHere settings this proposer instance returned that may not be in the history yet
 */
export function readSearchHistory(
  history: HistoryEntry[],
  ids: string[],
  current: Assignment,
  proposedHere: Array<{ base: Assignment; assignment: Assignment }>,
  metricDirection: "min" | "max",
): SearchMemory {
  const memory: SearchMemory = { seen: new Set(), arms: new Map(), momentum: null, triedValues: new Map() };
  const see = (assignment: Assignment): void => {
    const key = assignmentKey(ids, assignment);
    if (key === null) return;
    memory.seen.add(key);
    for (const id of ids) {
      const values = memory.triedValues.get(id) ?? new Set<string>();
      values.add(JSON.stringify(assignment[id]));
      memory.triedValues.set(id, values);
    }
  };
  see(current);
  for (const proposal of proposedHere) {
    see(proposal.base);
    see(proposal.assignment);
  }
  let newestFinished: { meta: SearchMeta; kept: boolean } | null = null;
  for (const entry of history) {
    const meta = readSearchMeta(entry.meta);
    if (!meta) continue;
    see(meta.base);
    see(meta.assignment);
    const result = entry.kind === "candidate" ? outcome(entry, metricDirection) : null;
    if (!result) continue;
    newestFinished = { meta, kept: entry.decision === "keep" };
    for (const moved of meta.moves) {
      const key = armKey(moved.knob, moved.direction);
      const arm = memory.arms.get(key) ?? { tries: 0, helped: 0, successes: 0, failures: 0, consecutiveFailures: 0 };
      arm.tries += 1;
      arm.helped += result.helped ? 1 : 0;
      arm.successes += result.success;
      arm.failures += 1 - result.success;
      arm.consecutiveFailures = entry.decision === "keep" ? 0 : arm.consecutiveFailures + 1;
      memory.arms.set(key, arm);
    }
  }
  if (newestFinished?.kept) {
    const first = newestFinished.meta.moves[0];
    memory.momentum = { knob: first.knob, direction: first.direction };
  }
  return memory;
}

/** How a finished experiment counts; null while it runs or when it says nothing about the knob. */
function outcome(entry: HistoryEntry, metricDirection: "min" | "max"): { success: number; helped: boolean } | null {
  if (entry.status === "running" || entry.status === "interrupted") return null;
  if (entry.decision === "keep") return { success: 1, helped: true };
  const improved = entry.status === "ok" && entry.delta !== null && (metricDirection === "min" ? entry.delta < 0 : entry.delta > 0);
  // Crashes, timeouts and worse metrics are all failures of that move.
  return improved ? { success: 0.5, helped: true } : { success: 0, helped: false };
}
