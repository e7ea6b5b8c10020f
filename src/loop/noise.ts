// Run-to-run noise: how much the metric moves when the SAME code runs again.
// Pure; the loop feeds it the baseline's repeated runs and every confirmation pair.

export interface NoiseEstimate {
  /** Pooled standard deviation; null until some group has two finite values. */
  sigma: number | null;
  /** How many measurements went into the estimate. */
  samples: number;
  /** Sum over groups of (size - 1): how trustworthy sigma is. */
  degreesOfFreedom: number;
}

/**
 * Pooled standard deviation over groups of repeated measurements of the same code.
 * Each group contributes its squared deviations from its own mean, so differences
 * between groups (real effects) never inflate the estimate. Non-finite values are
 * dropped (a crashed run has no metric); groups left with fewer than two are ignored.
 */
export function estimateNoise(groups: number[][]): NoiseEstimate {
  let sumOfSquares = 0;
  let samples = 0;
  let degreesOfFreedom = 0;
  for (const group of groups) {
    const values = group.filter((value) => Number.isFinite(value));
    if (values.length < 2) continue;
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    for (const value of values) sumOfSquares += (value - mean) ** 2;
    samples += values.length;
    degreesOfFreedom += values.length - 1;
  }
  if (degreesOfFreedom === 0) return { sigma: null, samples: 0, degreesOfFreedom: 0 };
  return { sigma: Math.sqrt(sumOfSquares / degreesOfFreedom), samples, degreesOfFreedom };
}
