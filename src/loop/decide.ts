// Acceptance policies: given a candidate's metric runs and the current best, keep or
// discard (or ask for a confirmation run). Pure: no I/O, unit-tested with plain values.
import type { z } from "zod";
import type { acceptanceSchema } from "../config/schema.ts";

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
  /** Noise-aware with confirm=true and only one run: re-run before accepting. */
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

export function createAcceptancePolicy(config: AcceptanceConfig): AcceptancePolicy {
  if (config.policy === "greedy") return greedyPolicy();
  return noiseAwarePolicy({ z: config.z, minDelta: config.minDelta, confirm: config.confirm });
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
