// The evaluation's time limit, once the session knows how long the unchanged code takes to evaluate:
// a model server that stalls (to leak time, or to wait out a check) is stopped long before the
// configured ceiling. Generous on purpose: a legitimately bigger model evaluates slower, and the
// review flags (review-flags.ts) already point out evaluations several times the baseline's.

/** The limit is at least this many times the slowest baseline's evaluation... */
export const EVALUATION_LIMIT_FACTOR = 10;
/** ...and never below this, so a fast baseline on a busy machine does not time out its successors. */
export const EVALUATION_LIMIT_FLOOR_SECONDS = 60;

/** Seconds the evaluate phase may take: the configured limit, tightened by the baselines' evaluation times where there are any. */
export function evaluationLimitSeconds(configuredSeconds: number, baselineEvaluateMs: readonly number[]): number {
  const measured = baselineEvaluateMs.filter((ms) => Number.isFinite(ms) && ms > 0);
  if (measured.length === 0) return configuredSeconds;
  const derived = Math.max(EVALUATION_LIMIT_FLOOR_SECONDS, (EVALUATION_LIMIT_FACTOR * Math.max(...measured)) / 1000);
  return Math.min(configuredSeconds, Math.ceil(derived));
}
