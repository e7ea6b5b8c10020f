// Means, differences and rates with their confidence intervals: what `finalize`, the reports and
// the acceptance benchmark print. Pure.
import { chiSquareQuantile, normalQuantile, studentTQuantile } from "./distributions.ts";

export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

export interface MeanSummary extends Interval {
  n: number;
  /** Sample standard deviation (n − 1); null for a single value. */
  sd: number | null;
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("the mean of no values is undefined");
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

export function sampleSd(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  const centre = mean(values);
  return Math.sqrt(values.reduce((sum, value) => sum + (value - centre) ** 2, 0) / (values.length - 1));
}

/** The mean with a two-sided t interval; a single value has the interval [value, value] only if nothing is known of its noise, so it is ±∞. */
export function meanInterval(values: readonly number[], confidence = 0.95): MeanSummary {
  checkConfidence(confidence);
  const estimate = mean(values);
  const sd = sampleSd(values);
  if (sd === null) return { n: values.length, estimate, low: Number.NEGATIVE_INFINITY, high: Number.POSITIVE_INFINITY, sd };
  const half = studentTQuantile(1 - (1 - confidence) / 2, values.length - 1) * (sd / Math.sqrt(values.length));
  return { n: values.length, estimate, low: estimate - half, high: estimate + half, sd };
}

export interface DifferenceInterval extends Interval {
  standardError: number;
  degreesOfFreedom: number;
}

/**
 * mean(a) − mean(b) with a two-sided interval. With a known pooled σ (and its degrees of freedom, from
 * every repeated measurement of the session) the standard error is σ·√(1/na + 1/nb); without one the
 * two samples' own spread is used (Welch–Satterthwaite), which needs two values on each side.
 */
export function differenceInterval(
  a: readonly number[],
  b: readonly number[],
  options: { confidence?: number; sigma?: number; degreesOfFreedom?: number } = {},
): DifferenceInterval {
  const confidence = options.confidence ?? 0.95;
  checkConfidence(confidence);
  const estimate = mean(a) - mean(b);
  let standardError: number;
  let degreesOfFreedom: number;
  if (options.sigma !== undefined) {
    standardError = options.sigma * Math.sqrt(1 / a.length + 1 / b.length);
    degreesOfFreedom = options.degreesOfFreedom ?? Number.POSITIVE_INFINITY;
  } else {
    const sdA = sampleSd(a);
    const sdB = sampleSd(b);
    if (sdA === null || sdB === null) {
      return { estimate, low: Number.NEGATIVE_INFINITY, high: Number.POSITIVE_INFINITY, standardError: Number.POSITIVE_INFINITY, degreesOfFreedom: 0 };
    }
    const varianceA = (sdA * sdA) / a.length;
    const varianceB = (sdB * sdB) / b.length;
    standardError = Math.sqrt(varianceA + varianceB);
    degreesOfFreedom = standardError === 0
      ? a.length + b.length - 2
      : (varianceA + varianceB) ** 2 / (varianceA ** 2 / (a.length - 1) + varianceB ** 2 / (b.length - 1));
  }
  const half = standardError === 0 ? 0 : studentTQuantile(1 - (1 - confidence) / 2, degreesOfFreedom) * standardError;
  return { estimate, low: estimate - half, high: estimate + half, standardError, degreesOfFreedom };
}

/** A proportion with its Wilson score interval (sound at 0 and at small counts, unlike ±1.96·√(p(1−p)/n)). */
export function proportionInterval(successes: number, trials: number, confidence = 0.95): Interval {
  checkConfidence(confidence);
  if (!(Number.isInteger(successes) && Number.isInteger(trials) && trials > 0 && successes >= 0 && successes <= trials)) {
    throw new RangeError(`a proportion needs integers 0 <= successes <= trials, trials > 0 (got ${successes} of ${trials})`);
  }
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = successes / trials;
  const denominator = 1 + (z * z) / trials;
  const centre = (p + (z * z) / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + (z * z) / (4 * trials * trials))) / denominator;
  return { estimate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

function checkConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be strictly between 0 and 1 (got ${confidence})`);
}

/** A pooled standard deviation's interval from its degrees of freedom (σ̂²·df/σ² is chi-square): how little σ from 2 runs says. */
export function sigmaInterval(sigma: number, degreesOfFreedom: number, confidence = 0.95): Interval {
  checkConfidence(confidence);
  if (!(degreesOfFreedom > 0)) return { estimate: sigma, low: 0, high: Number.POSITIVE_INFINITY };
  const tail = (1 - confidence) / 2;
  return {
    estimate: sigma,
    low: sigma * Math.sqrt(degreesOfFreedom / chiSquareQuantile(1 - tail, degreesOfFreedom)),
    high: sigma * Math.sqrt(degreesOfFreedom / chiSquareQuantile(tail, degreesOfFreedom)),
  };
}
