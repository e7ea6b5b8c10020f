// What the loop asks an experiment slot to run: a baseline, a candidate, a further run of one, or a
// measurement of existing code. Plain data and their constructors, so the pure reducer and the views
// that rebuild its state (status) need not load the experiment runner's dependencies.
import { isMeasurement, type MeasurementKind } from "../core/experiment.ts";

export type Job =
  | { kind: "baseline"; commit: string; description: string }
  | { kind: "candidate"; parentCommit: string; proposer: string; description: string; hypothesis: string; meta: unknown; files: Record<string, string>; proposeMs: number; usage: { inputTokens: number; outputTokens: number; costUsd: number | null } | null }
  | { kind: "confirmation"; confirms: number; commit: string; description: string }
  /**
   * A run of existing code that decides nothing (core/experiment.ts): `of` is the experiment it measures, if any;
   * `budgetSeconds` a train budget other than the config's (`promote`'s longer runs; a smoke run's is the cascade's).
   */
  | { kind: MeasurementKind; commit: string; of: number | null; description: string; meta: unknown; budgetSeconds?: number };

export function isMeasurementJob(job: Job): job is Extract<Job, { kind: MeasurementKind }> {
  return isMeasurement(job.kind);
}

/** The re-run that confirms (or not) the would-be keep `id`. */
export function confirmationJob(id: number, commit: string, description: string): Extract<Job, { kind: "confirmation" }> {
  return { kind: "confirmation", confirms: id, commit, description: `confirm #${id}: ${description}` };
}

