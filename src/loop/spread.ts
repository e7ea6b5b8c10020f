// Spreading the pool's first starts. Experiments have a fixed budget, so slots that start together end
// together, and on one machine their process start-ups, checks and decisions then queue for the same
// processors every cycle. Starting the pool's first candidates one cycle's share apart keeps them apart.

/** The most time between two of the pool's first starts: with long experiments a few seconds apart suffice. */
export const MAX_START_SPACING_MS = 10_000;

/**
 * How far apart the pool's first candidates start: one experiment's length (the median of the baselines'
 * `totalMs`) shared among the slots, at most MAX_START_SPACING_MS; 0 with one slot or no baseline timed.
 */
export function startSpacingMs(baselineTotalsMs: readonly number[], slots: number): number {
  const totals = baselineTotalsMs.filter((value) => Number.isFinite(value) && value > 0).sort((a, b) => a - b);
  if (slots < 2 || totals.length === 0) return 0;
  const middle = Math.floor(totals.length / 2);
  const median = totals.length % 2 === 1 ? totals[middle]! : (totals[middle - 1]! + totals[middle]!) / 2;
  return Math.min(MAX_START_SPACING_MS, Math.round(median / slots));
}

/** Hands out each of the first `slots` launches its delay: the k-th starts k spacings after the first. */
export class StartSpreader {
  #first: number | null = null;
  #given = 0;
  readonly #slots: number;
  readonly #spacingMs: () => number;
  #spacing = 0;

  constructor(slots: number, spacingMs: () => number) {
    this.#slots = slots;
    this.#spacingMs = spacingMs;
  }

  /** The delay (ms) before the next launch, given the time now; 0 once the first `slots` launches are out. */
  next(nowMs: number): number {
    if (this.#given >= this.#slots) return 0;
    if (this.#first === null) {
      this.#first = nowMs;
      this.#spacing = this.#spacingMs();
    }
    const delay = Math.max(0, this.#first + this.#given * this.#spacing - nowMs);
    this.#given += 1;
    return delay;
  }
}
