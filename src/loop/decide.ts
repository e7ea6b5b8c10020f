// Acceptance policies: given a candidate's metric runs and the current best, keep or
// discard (or ask for a confirmation run). Pure: no I/O, unit-tested with plain values.
import type { z } from "zod";
import type { acceptanceSchema } from "../config/schema.ts";
import { studentTQuantile } from "../stats/distributions.ts";

export type AcceptanceConfig = z.output<typeof acceptanceSchema>;

export interface AcceptanceInput {
  direction: "min" | "max";
  /** Current best metric (the mean of its runs); null = nothing yet, so the first result becomes the best. */
  best: number | null;
  /** Run-to-run standard deviation estimate; null if unknown. */
  noiseSigma: number | null;
  /** This candidate's metric values: one run, or [first, confirmation]. */
  runs: number[];
  /** Shown in the rationale (e.g. "val_bpb"); defaults to "metric". */
  metricName?: string;
  /** How many measurements noiseSigma came from, shown in the rationale when given. */
  noiseSamples?: number;
  /** The degrees of freedom behind noiseSigma (sequential: the t quantile's). */
  noiseDegreesOfFreedom?: number;
  /** How many fresh runs the best's value is the mean of (sequential: its share of the uncertainty). */
  bestRuns?: number;
}

interface Judged {
  metric: number;
  /** Signed so that positive is better for either direction. */
  improvement: number;
  threshold: number;
  rationale: string;
}

export type AcceptanceOutcome =
  | ({ decision: "keep" | "discard" } & Judged)
  /** Run the candidate once more before deciding (noise-aware with confirm; sequential in between its bounds). */
  | ({ decision: "confirm" } & Judged);

export interface AcceptancePolicy {
  readonly name: string;
  decide(input: AcceptanceInput): AcceptanceOutcome;
}

/** Keep iff strictly better than the best: the original autoresearch rule. */
export function greedyPolicy(): AcceptancePolicy {
  return {
    name: "greedy",
    decide(input) {
      return judge(input, 0, "greedy: any improvement", false);
    },
  };
}

/** Keep only if the improvement clears max(minDelta, z·σ); optionally confirm a would-be keep with a second run. */
export function noiseAwarePolicy(options: { z: number; minDelta: number; confirm: boolean }): AcceptancePolicy {
  if (!(options.z >= 0) || !(options.minDelta >= 0)) {
    throw new RangeError(`noise-aware acceptance needs z >= 0 and minDelta >= 0 (got z=${options.z}, minDelta=${options.minDelta})`);
  }
  return {
    name: "noise-aware",
    decide(input) {
      const { threshold, explanation } = noiseThreshold(options.z, options.minDelta, input.noiseSigma, input.noiseSamples);
      const askToConfirm = options.confirm && input.runs.length === 1;
      return judge(input, threshold, explanation, askToConfirm);
    },
  };
}

export interface SequentialOptions {
  /** The one-sided error allowed at each look (each run of a candidate). */
  lookAlpha: number;
  /** A candidate gets at most this many runs; undecided at the last one, it is discarded. */
  maxRuns: number;
  /** Discard after any run whose improvement is below futility standard errors (a change far from helping). */
  futility: number;
  minDelta: number;
}

/**
 * Sequential: after each run of a candidate, t = improvement / (σ̂·√(1/n + 1/m)) with n the candidate's runs
 * and m the best's fresh runs. Keep when t clears the Student-t quantile for σ̂'s degrees of freedom at
 * 1 − lookAlpha; discard when t is below `futility` or at the last run; otherwise run again. The looks
 * are correlated and futility stops most nulls after one run, so the overall false-keep rate is not the
 * sum of the looks' errors: bench/acceptance.ts measures it (about 4.5% at the defaults: lookAlpha 0.025, 4 runs at most). Without a noise estimate it cannot judge noise at all and asks for more runs,
 * deciding like noise-aware (any improvement beyond minDelta) only at the last.
 */
export function sequentialPolicy(options: SequentialOptions): AcceptancePolicy {
  if (!(options.lookAlpha > 0 && options.lookAlpha < 0.5)) throw new RangeError(`sequential acceptance needs 0 < lookAlpha < 0.5 (got ${options.lookAlpha})`);
  if (!(Number.isInteger(options.maxRuns) && options.maxRuns >= 1)) throw new RangeError(`sequential acceptance needs an integer maxRuns >= 1 (got ${options.maxRuns})`);
  return {
    name: "sequential",
    decide(input) {
      const n = input.runs.length;
      const last = n >= options.maxRuns;
      const sigma = input.noiseSigma;
      if (sigma === null || sigma === 0 || input.best === null) {
        const bound = sigma === 0 ? "σ=0: the runs do not vary, so any improvement beyond minDelta counts" : "noise unknown";
        const judged = judge(input, options.minDelta, bound, false);
        if (judged.decision === "keep" && !last && input.best !== null && sigma === null) return { ...judged, decision: "confirm", rationale: `${judged.rationale.replace(/: keep$/, "")}: run again (noise unknown)` };
        return judged;
      }
      const bestRuns = Math.max(1, input.bestRuns ?? 1);
      const standardError = sigma * Math.sqrt(1 / n + 1 / bestRuns);
      const degrees = input.noiseDegreesOfFreedom ?? Number.POSITIVE_INFINITY;
      const critical = studentTQuantile(1 - options.lookAlpha, degrees > 0 ? degrees : 1);
      const keepBar = Math.max(options.minDelta, critical * standardError);
      const futilityBar = options.futility * standardError;
      const samples = input.noiseSamples === undefined ? "" : ` from ${input.noiseSamples} runs`;
      const how = `t(${formatDegrees(degrees)} df) ${critical.toFixed(2)} × SE ${formatNumber(standardError)}; σ=${formatNumber(sigma)}${samples}; best from ${bestRuns} run${bestRuns === 1 ? "" : "s"}; run ${n} of at most ${options.maxRuns}`;
      const judged = judge(input, keepBar, how, false);
      if (judged.decision === "keep" || last) return judged;
      if (judged.improvement < futilityBar) {
        return { ...judged, rationale: `${judged.rationale.replace(/: discard$/, "")}; below the futility bound ${formatNumber(futilityBar)}: discard` };
      }
      return { ...judged, decision: "confirm", rationale: `${judged.rationale.replace(/: discard$/, "")}; between the futility bound ${formatNumber(futilityBar)} and the keep bar: run again` };
    },
  };
}

export function createAcceptancePolicy(config: AcceptanceConfig): AcceptancePolicy {
  if (config.policy === "greedy") return greedyPolicy();
  if (config.policy === "sequential") {
    return sequentialPolicy({ lookAlpha: config.lookAlpha, maxRuns: config.maxRuns, futility: config.futility, minDelta: config.minDelta });
  }
  return noiseAwarePolicy({ z: config.z, minDelta: config.minDelta, confirm: config.confirm });
}

/** How often the unchanged code runs before the first candidate: the config's, or the policy's default. */
export function baselineRunsFor(config: AcceptanceConfig): number {
  if (config.policy === "greedy") return 1;
  return config.baselineRuns ?? (config.policy === "sequential" ? 4 : 2);
}

/** When the best is re-measured with fresh runs: after a keep, and one run every `every` decided candidates up to `upTo` runs. */
export interface RemeasurePlan {
  afterKeep: number;
  every: number;
  upTo: number;
}

export function remeasurePlanFor(config: AcceptanceConfig): RemeasurePlan {
  if (config.policy !== "sequential") return { afterKeep: 0, every: 0, upTo: 0 };
  return { afterKeep: config.remeasureRuns, every: config.remeasureEvery, upTo: config.remeasureUpTo };
}

function formatDegrees(degrees: number): string {
  return degrees === Number.POSITIVE_INFINITY ? "∞" : String(Math.round(degrees * 10) / 10);
}

function noiseThreshold(z: number, minDelta: number, sigma: number | null, samples: number | undefined): { threshold: number; explanation: string } {
  if (sigma === null) {
    const why = minDelta > 0 ? "minDelta; noise unknown" : "noise unknown, so any improvement counts";
    return { threshold: minDelta, explanation: why };
  }
  const fromSamples = samples === undefined ? "" : ` from ${samples} samples`;
  const noise = `${z.toFixed(1)}σ, σ=${formatNumber(sigma)}${fromSamples}`;
  const noiseBound = z * sigma;
  if (minDelta > noiseBound) return { threshold: minDelta, explanation: `minDelta; ${noise} = ${formatNumber(noiseBound)}` };
  return { threshold: noiseBound, explanation: noise };
}

function judge(input: AcceptanceInput, threshold: number, explanation: string, askToConfirm: boolean): AcceptanceOutcome {
  validate(input);
  const metric = mean(input.runs);
  const name = input.metricName ?? "metric";
  const shown = input.runs.length > 1
    ? `${name} ${formatNumber(metric)} (mean of ${input.runs.map(formatNumber).join(", ")})`
    : `${name} ${formatNumber(metric)}`;

  if (input.best === null) {
    return { decision: "keep", metric, improvement: 0, threshold: 0, rationale: `${shown} is the first result: keep as the best` };
  }
  const best = formatNumber(input.best);
  const improvement = input.direction === "min" ? input.best - metric : metric - input.best;
  const bar = `threshold ${formatNumber(threshold)} (${explanation})`;
  const base = { metric, improvement, threshold };

  if (improvement > threshold) {
    const beats = `${shown} beats best ${best} by ${formatNumber(improvement)} > ${bar}`;
    if (askToConfirm) return { decision: "confirm", ...base, rationale: `${beats}: re-run once to confirm before keeping` };
    return { decision: "keep", ...base, rationale: `${beats}: keep` };
  }
  if (improvement > 0) {
    return { decision: "discard", ...base, rationale: `${shown} beats best ${best} by only ${formatNumber(improvement)}, not more than ${bar}: discard` };
  }
  if (improvement === 0) {
    return { decision: "discard", ...base, rationale: `${shown} equals best ${best}, no improvement: discard` };
  }
  return { decision: "discard", ...base, rationale: `${shown} is worse than best ${best} by ${formatNumber(-improvement)}: discard` };
}

/** A NaN here means the runner let a broken metric through; judging it would corrupt the best. */
function validate(input: AcceptanceInput): void {
  if (input.runs.length === 0) {
    throw new RangeError("acceptance: no metric runs to judge; an experiment without a metric must be recorded as no_metric, not decided");
  }
  input.runs.forEach((value, index) => {
    if (!Number.isFinite(value)) {
      throw new RangeError(`acceptance: run ${index + 1} of ${input.runs.length} has metric ${value}; only finite metrics can be judged (record the experiment as no_metric instead)`);
    }
  });
  if (input.best !== null && !Number.isFinite(input.best)) {
    throw new RangeError(`acceptance: the current best is ${input.best}; it must be a finite number or null`);
  }
  if (input.noiseSigma !== null && !(Number.isFinite(input.noiseSigma) && input.noiseSigma >= 0)) {
    throw new RangeError(`acceptance: noise sigma is ${input.noiseSigma}; it must be a finite number >= 0 or null`);
  }
}

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Five significant digits: enough to see a difference, short enough to read. */
export function formatNumber(value: number): string {
  if (value === 0) return "0";
  return String(Number(value.toPrecision(5)));
}
