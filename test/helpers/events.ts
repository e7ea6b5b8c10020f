// A scripted session as the engine would emit it, for tests of event subscribers (views, dashboard).
import type { ExperimentKind } from "../../src/core/experiment.ts";
import type { EngineEvent, SessionSummary } from "../../src/events/types.ts";

export const sessionStartMs = Date.parse("2025-03-05T10:00:00.000Z");

/** ISO timestamp `seconds` after the scripted session started. */
export function at(seconds: number): string {
  return new Date(sessionStartMs + seconds * 1000).toISOString();
}

export const scriptedSummary: SessionSummary = {
  tag: "mar5",
  experiments: 6,
  kept: 2,
  discarded: 2,
  failed: 2,
  baseline: 1.0234,
  best: 1.0111,
  bestCommit: "c3c3c3c3d4d4d4d4e5e5e5e5f6f6f6f6a7a7a7a7",
  noiseSigma: 0.0012,
  elapsedSeconds: 1800,
  experimentsPerHour: 12,
};

export function sessionStarted(): EngineEvent {
  return {
    type: "session_started", at: at(0), tag: "mar5", branch: "autoresearch/mar5", baseCommit: "abc1234def5678abc1234def5678abc1234def56",
    resumed: false, slots: 2, devices: ["cuda:0", "cuda:1"], metric: "val_bpb", direction: "min", policy: "noise-aware", projectDir: "/tmp/project", isolation: "sandbox",
  };
}

export function started(id: number, seconds: number, description: string, kind: ExperimentKind = "candidate"): EngineEvent {
  return {
    type: "experiment_started", at: at(seconds), id, kind, slot: id % 2, device: `cuda:${id % 2}`,
    parentCommit: "abc1234def5678abc1234def5678abc1234def56", candidateCommit: `${id}`.repeat(40).slice(0, 40), description, budgetSeconds: 300,
  };
}

export function finished(id: number, seconds: number, status: "ok" | "crash" | "rejected" | "timeout", metric: number | null, wallMs: number, reason?: string): EngineEvent {
  const event: EngineEvent = { type: "experiment_finished", at: at(seconds), id, status, metric, heldOutMetric: null, selfReported: false, wallMs };
  return reason === undefined ? event : { ...event, reason };
}

export function decided(id: number, seconds: number, decision: "keep" | "discard", metric: number, best: number | null, delta: number | null): EngineEvent {
  return { type: "decision", at: at(seconds), id, decision, metric, best, delta, rationale: `${decision}: scripted` };
}

/** Baselines, a noise estimate, then a keep, a discard, a crash and a guard rejection. */
export function scriptedSession(): EngineEvent[] {
  return [
    sessionStarted(),
    { type: "prepare_started", at: at(0), command: "python prepare.py" },
    { type: "prepare_finished", at: at(4), ok: true, files: 3, wallMs: 4200, reused: false },
    started(1, 5, "baseline", "baseline"),
    { type: "experiment_phase", at: at(5), id: 1, phase: "train" },
    { type: "experiment_log", at: at(6), id: 1, line: "step 1 loss 3.2" },
    { type: "experiment_phase", at: at(300), id: 1, phase: "evaluate" },
    finished(1, 307, "ok", 1.0234, 302_000),
    started(2, 308, "baseline", "baseline"),
    finished(2, 610, "ok", 1.0246, 302_000),
    { type: "noise_estimated", at: at(610), sigma: 0.0012, samples: 2, baseline: 1.024 },
    { type: "best_updated", at: at(610), id: 2, commit: "abc1234def5678abc1234def5678abc1234def56", metric: 1.024, previous: null },
    { type: "proposal_requested", at: at(610), proposer: "search" },
    { type: "proposal_ready", at: at(611), proposer: "search", description: "increase learning rate to 0.04", latencyMs: 900 },
    started(3, 611, "increase learning rate to 0.04"),
    finished(3, 913, "ok", 1.0111, 302_000),
    decided(3, 913, "keep", 1.0111, 1.0234, -0.0123),
    { type: "best_updated", at: at(913), id: 3, commit: scriptedSummary.bestCommit!, metric: 1.0111, previous: 1.0234 },
    started(4, 914, "swap GELU for ReLU squared"),
    finished(4, 1216, "ok", 1.015, 302_000),
    decided(4, 1216, "discard", 1.015, 1.0111, 0.0039),
    started(5, 1217, "fuse attention kernels"),
    finished(5, 1229, "crash", null, 12_300, "train exited with code 1"),
    started(6, 1230, "edit the evaluator"),
    finished(6, 1230, "rejected", null, 40, "changed protected file evaluate.py"),
    { type: "warning", at: at(1231), message: "the proposer returned an empty diff; asking again" },
    { type: "session_stopped", at: at(1800), reason: "reached stop.maxExperiments (6)", summary: scriptedSummary },
  ];
}
