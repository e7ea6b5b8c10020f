// When a session ends by itself. Pure: the loop passes its counters and the clock
// reading; CLI overrides (--max-experiments, ...) are merged into the rules by the caller.
import { formatNumber } from "./decide.ts";

export interface StopState {
  /** Experiments finished in this session (whatever their outcome). */
  experiments: number;
  startedAtMs: number;
  nowMs: number;
  best: number | null;
  direction: "min" | "max";
  /** Failures in a row: crash, timeout, rejected, no_metric, invalid. */
  consecutiveFailures: number;
  /** The latest failed experiment, named in the pause message so the user knows where to look. */
  lastFailureId?: number;
}

/** The `stop` config section (maxConsecutiveFailures defaults to 5, as in the schema). */
export interface StopRules {
  maxExperiments?: number;
  maxHours?: number;
  target?: number;
  maxConsecutiveFailures?: number;
}

export type StopVerdict = null | { action: "stop" | "pause"; reason: string };

const DEFAULT_MAX_CONSECUTIVE_FAILURES = 5;

/**
 * null = keep going. Reaching the target, the experiment count or the time limit stops
 * (the session is done); a run of failures pauses (something is broken and needs a human).
 */
export function checkStopRules(state: StopState, rules: StopRules): StopVerdict {
  if (rules.target !== undefined && state.best !== null) {
    const reached = state.direction === "min" ? state.best <= rules.target : state.best >= rules.target;
    if (reached) {
      const comparison = state.direction === "min" ? "<=" : ">=";
      return { action: "stop", reason: `target reached: best ${formatNumber(state.best)} ${comparison} target ${formatNumber(rules.target)}` };
    }
  }
  if (rules.maxExperiments !== undefined && state.experiments >= rules.maxExperiments) {
    return { action: "stop", reason: `ran the maximum of ${rules.maxExperiments} experiments (stop.maxExperiments)` };
  }
  if (rules.maxHours !== undefined) {
    const elapsedHours = (state.nowMs - state.startedAtMs) / 3_600_000;
    if (elapsedHours >= rules.maxHours) {
      return { action: "stop", reason: `ran for ${formatNumber(elapsedHours)} hours, the limit is ${formatNumber(rules.maxHours)} (stop.maxHours)` };
    }
  }
  const maxFailures = rules.maxConsecutiveFailures ?? DEFAULT_MAX_CONSECUTIVE_FAILURES;
  if (state.consecutiveFailures >= maxFailures) {
    const where = state.lastFailureId === undefined
      ? "look at `autoresearch show <id>` for the failed experiments and their logs"
      : `look at \`autoresearch show ${state.lastFailureId}\` and its log`;
    return {
      action: "pause",
      reason: `paused after ${state.consecutiveFailures} failed experiments in a row (crash, timeout, rejected, no_metric or invalid): ` +
        `${where}. A cause outside the project (disk, driver, a missing package): fix it and run \`autoresearch run\` again to resume. ` +
        "A fix to the project's code, evaluator or config needs a new session, since a session keeps the config and protected files of its base commit: " +
        "commit the fix and run `autoresearch run --tag <new tag>`",
    };
  }
  return null;
}
