// The offline `search` proposer: moves one @knob (occasionally two) per proposal, learning from
// the history which knob-directions help (Thompson sampling), never proposing a setting twice.
import { applyEdits } from "./edits.ts";
import { formatKnobNumber, KNOB_SYNTAX_HELP, normalizeKnobValue, parseKnobs, setKnobValue, type Knob, type KnobValue } from "./knobs.ts";
import { createRandom, hashString, type Random } from "../stats/random.ts";
import {
  armKey,
  assignmentKey,
  readSearchHistory,
  type ArmRecord,
  type Assignment,
  type Direction,
  type SearchMemory,
  type SearchMeta,
  type SearchMove,
} from "./search-history.ts";
import type { Edit, ProposalContext, ProposalResult, Proposer } from "./types.ts";

export interface SearchProposerOptions {
  seed?: number;
}

const TWO_KNOB_PROBABILITY = 0.15;
/** After this many misses in a row the step stops shrinking (log factor 1 + 2^-6). */
const MAX_START_LEVEL = 6;
/** Smaller steps tried when a step would repeat an earlier setting. */
const EXTRA_LEVELS = 8;

interface Arm {
  knob: Knob;
  direction: Direction;
  record: ArmRecord | undefined;
  momentum: boolean;
}

interface PlannedMove {
  arm: Arm;
  to: KnobValue;
  level: number;
  assignment: Assignment;
}

export function createSearchProposer(options: SearchProposerOptions = {}): Proposer {
  const seed = options.seed ?? 0;
  // Proposals the loop queued but has not recorded yet are not in the history; remember them here.
  const proposedHere: Array<{ base: Assignment; assignment: Assignment }> = [];
  return {
    name: "search",
    reproposeWhenBestMoves: true,
    async propose(context: ProposalContext, signal: AbortSignal): Promise<ProposalResult> {
      signal.throwIfAborted();
      const result = planSearchProposal(context, seed, proposedHere);
      signal.throwIfAborted();
      if (result.kind === "proposal") {
        const meta = result.meta as SearchMeta;
        proposedHere.push({ base: meta.base, assignment: meta.assignment });
      }
      return result;
    },
  };
}

/** Deterministic for a given seed, context and list of earlier proposals of this instance. */
export function planSearchProposal(
  context: ProposalContext,
  seed: number,
  proposedHere: Array<{ base: Assignment; assignment: Assignment }> = [],
): ProposalResult {
  const paths = Object.keys(context.files).sort();
  const knobs: Knob[] = [];
  const errors: string[] = [];
  for (const path of paths) {
    const parsed = parseKnobs(path, context.files[path]);
    knobs.push(...parsed.knobs);
    errors.push(...parsed.errors);
  }
  if (errors.length > 0) {
    return { kind: "skip", reason: `The @knob markers need fixing before the search proposer can use them:\n${errors.join("\n")}` };
  }
  if (knobs.length === 0) {
    return {
      kind: "skip",
      reason:
        `No @knob markers found in the mutable files (${paths.join(", ") || "none"}). The search proposer tunes values ` +
        `marked with a trailing comment like these:\n${KNOB_SYNTAX_HELP}\nAdd markers to the values worth tuning, or choose another proposer.`,
    };
  }
  const ids = knobs.map((knob) => knob.id).sort();
  const current: Assignment = Object.fromEntries(knobs.map((knob) => [knob.id, knob.value]));
  const memory = readSearchHistory(context.history, ids, current, proposedHere, context.metric.direction);
  const fingerprint = [seed, context.best.commit, proposedHere.length, ...context.history.map((entry) => `${entry.id}:${entry.status}:${entry.decision}`)];
  const random = createRandom(hashString(fingerprint.join("|")));

  const arms = rankArms(knobs, memory, random);
  const twoKnobs = knobs.length > 1 && random.next() < TWO_KNOB_PROBABILITY;
  for (const arm of arms) {
    const first = planMove(arm, current, memory, ids);
    if (!first) continue;
    const moves = [first];
    if (twoKnobs) {
      for (const other of arms) {
        if (other.knob.id === arm.knob.id) continue;
        const second = planMove(other, first.assignment, memory, ids);
        if (second) {
          moves.push(second);
          break;
        }
      }
    }
    return buildProposal(context.files, current, moves);
  }
  return {
    kind: "skip",
    reason:
      `The search proposer has tried (or is running) every nearby setting of its ${knobs.length} knob(s) (${ids.join(", ")}). ` +
      `Widen a knob's min/max, add more @knob markers, or stop the session.`,
  };
}

/** Most promising first: the direction that was just kept, then by a Thompson draw. */
function rankArms(knobs: Knob[], memory: SearchMemory, random: Random): Arm[] {
  const scored: Array<{ arm: Arm; score: number }> = [];
  for (const knob of knobs) {
    const directions: Direction[] = knob.spec.kind === "range" ? ["up", "down"] : ["choice"];
    for (const direction of directions) {
      const record = memory.arms.get(armKey(knob.id, direction));
      const momentum = memory.momentum?.knob === knob.id && memory.momentum.direction === direction;
      const draw = random.beta(1 + (record?.successes ?? 0), 1 + (record?.failures ?? 0));
      scored.push({ arm: { knob, direction, record, momentum }, score: momentum ? Infinity : draw });
    }
  }
  return scored.sort((a, b) => b.score - a.score).map((entry) => entry.arm);
}

/** The first step of this arm that leads to a setting not seen before, or null. */
function planMove(arm: Arm, base: Assignment, memory: SearchMemory, ids: string[]): PlannedMove | null {
  const isNew = (to: KnobValue): Assignment | null => {
    const assignment = { ...base, [arm.knob.id]: to };
    const key = assignmentKey(ids, assignment);
    return key !== null && !memory.seen.has(key) ? assignment : null;
  };
  const spec = arm.knob.spec;
  if (spec.kind === "choices") {
    const tried = memory.triedValues.get(arm.knob.id);
    const alternatives = spec.choices.filter((choice) => choice !== arm.knob.value);
    const untried = alternatives.filter((choice) => !tried?.has(JSON.stringify(choice)));
    for (const to of [...untried, ...alternatives.filter((choice) => !untried.includes(choice))]) {
      const assignment = isNew(to);
      if (assignment) return { arm, to, level: 0, assignment };
    }
    return null;
  }
  const start = Math.min(arm.record?.consecutiveFailures ?? 0, MAX_START_LEVEL);
  const levels: number[] = [];
  for (let level = start; level <= start + EXTRA_LEVELS; level++) levels.push(level);
  for (let level = start - 1; level >= 0; level--) levels.push(level);
  for (const level of levels) {
    const to = stepValue(arm.knob, arm.direction, level);
    if (to === null) continue;
    const assignment = isNew(to);
    if (assignment) return { arm, to, level, assignment };
  }
  return null;
}

/** The value one step away: log knobs by a factor 1 + 2^-level, linear ones by range/4 * 2^-level. */
function stepValue(knob: Knob, direction: Direction, level: number): number | null {
  if (knob.spec.kind !== "range") return null;
  const { min, max, scale, int } = knob.spec;
  const from = knob.value as number;
  const sign = direction === "up" ? 1 : -1;
  let to = scale === "log" ? from * Math.pow(1 + Math.pow(0.5, level), sign) : from + sign * ((max - min) / 4) * Math.pow(0.5, level);
  to = Math.min(max, Math.max(min, to));
  if (int) {
    to = Math.round(to);
    if (to === from) to = Math.min(max, Math.max(min, from + sign));
  }
  const written = normalizeKnobValue(knob, to) as number;
  // Rounding to readable digits can land back on the start or step outside the range.
  if (written === from || written < min || written > max || Math.sign(written - from) !== sign) return null;
  return written;
}

function buildProposal(files: Record<string, string>, current: Assignment, moves: PlannedMove[]): ProposalResult {
  const edits: Edit[] = [];
  const wholeFiles: Record<string, string> = {};
  for (const move of moves) {
    const { knob } = move.arm;
    const before = wholeFiles[knob.path] ?? files[knob.path];
    const after = setKnobValue(before, knob, move.to);
    wholeFiles[knob.path] = after;
    const lineIndex = knob.line - 1;
    edits.push({ path: knob.path, search: before.split("\n")[lineIndex], replace: after.split("\n")[lineIndex] });
  }
  // A knob line repeated verbatim elsewhere would make search/replace ambiguous; whole files always apply.
  const checked = applyEdits(files, edits);
  const safeEdits = checked.ok ? edits : Object.entries(wholeFiles).map(([path, content]) => ({ path, content }));

  const searchMoves: SearchMove[] = moves.map((move) => ({
    knob: move.arm.knob.id,
    from: move.arm.knob.value,
    to: move.to,
    direction: move.arm.direction,
  }));
  const assignment = moves[moves.length - 1].assignment;
  const meta: SearchMeta = { ...searchMoves[0], base: current, assignment, moves: searchMoves };
  return {
    kind: "proposal",
    description: moves.map(describeMove).join("; "),
    hypothesis: moves.map(explainMove).join("; also, "),
    edits: safeEdits,
    meta,
  };
}

function shown(knob: Knob, value: KnobValue): string {
  return typeof value === "number" ? formatKnobNumber(knob, value) : value;
}

function describeMove(move: PlannedMove): string {
  const { knob } = move.arm;
  return `${knob.name} ${shown(knob, knob.value)} → ${shown(knob, move.to)} (${knob.path})`;
}

function explainMove(move: PlannedMove): string {
  const { knob, direction, record, momentum } = move.arm;
  if (direction === "choice") {
    const helped = record && record.tries > 0 ? ` (changing ${knob.name} helped in ${record.helped} of ${plural(record.tries, "try", "tries")})` : "";
    return `${knob.name}=${shown(knob, move.to)} has not been tried in this setting yet${helped}`;
  }
  const verb = direction === "up" ? "raising" : "lowering";
  let reason: string;
  if (momentum) reason = `${verb} ${knob.name} was just kept, so continuing that way`;
  else if (!record || record.tries === 0) reason = `${verb} ${knob.name} has not been tried yet`;
  else reason = `${verb} ${knob.name} helped in ${record.helped} of ${plural(record.tries, "try", "tries")}`;
  if (move.level === 0) return reason;
  const spec = knob.spec;
  const step =
    spec.kind === "range" && spec.scale === "log"
      ? `×${1 + Math.pow(0.5, move.level)}`
      : `±${Number((((spec.kind === "range" ? spec.max - spec.min : 0) / 4) * Math.pow(0.5, move.level)).toPrecision(3))}`;
  const misses = record?.consecutiveFailures ?? 0;
  const why = misses > 0 ? `after ${plural(misses, "miss", "misses")} in that direction` : "as larger steps were already tried";
  return `${reason}; smaller step (${step}) ${why}`;
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}
