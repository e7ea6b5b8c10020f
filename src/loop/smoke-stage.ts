// A candidate's smoke stage (the cascade's first stage): its job spec at the short budget, run through the
// same executor as its full run (sandbox, integrity checks, evaluator), then judged (loop/cascade.ts).
// Its log is the candidate's log while it may end the candidate (a crash's tail is what proposers learn
// from); once it passes, it moves to logs/<id>.smoke.log and the full run writes the candidate's log.
import { appendFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { limitsAtBudget } from "../config/load.ts";
import type { SlotDevice } from "../executors/devices.ts";
import type { JobResult, JobSpec } from "../job/spec.ts";
import { ENV_BUDGET_SECONDS, ENV_OUTPUT_DIR } from "../project/contract.ts";
import { judgeSmoke, smokeBudgetSeconds, smokeReference, type SmokeStage } from "./cascade.ts";
import type { SessionContext } from "./context.ts";

/** The smoke stage's log once it passed, beside the candidate's. */
export function smokeLogPath(logPath: string): string {
  return logPath.replace(/\.log$/, "") + ".smoke.log";
}

/**
 * Runs the smoke stage of the candidate whose full job is `spec`, or returns null when the cascade is off for
 * it (not configured, or the unchanged code's smoke runs are missing or failed: loop/cascade.ts smokeReference).
 * `run` submits a spec and waits for its result, as the full run is submitted.
 */
export async function runSmokeStage(
  ctx: SessionContext,
  spec: JobSpec,
  slot: SlotDevice,
  run: (spec: JobSpec) => Promise<JobResult>,
): Promise<{ stage: SmokeStage; result: JobResult } | null> {
  const { cascade } = ctx.config;
  if (cascade === undefined || spec.train === null) return null;
  const reference = smokeReference(ctx.ledger.listExperiments({ tag: ctx.tag, kind: ["smoke"] }), slot.device);
  if (reference.state !== "on") return null;
  const smoke = smokeSpec(ctx, spec, slot, smokeBudgetSeconds(cascade, spec.train.budgetSeconds));
  const startedMs = ctx.clock.now();
  appendFileSync(spec.logPath, `--- smoke stage: train budget ${smoke.train!.budgetSeconds} s (the cascade's first stage; the full run follows if it passes)\n`);
  const result = await run(smoke);
  const wallMs = ctx.clock.now() - startedMs;
  const budgetSeconds = smoke.train!.budgetSeconds;
  if (result.status !== "ok" || result.metric === null) {
    return { result, stage: { budgetSeconds, metric: null, verdict: "failed", rationale: `smoke stage (${budgetSeconds} s): ${result.status}${result.reason ? `: ${result.reason}` : ""}`, wallMs } };
  }
  const judged = judgeSmoke(result.metric, reference.values, {
    alpha: cascade.alpha, minMargin: cascade.minMargin, direction: ctx.config.metric.direction, metricName: ctx.config.metric.name, budgetSeconds,
  });
  if (judged.verdict !== "screened" && existsSync(spec.logPath)) renameSync(spec.logPath, smokeLogPath(spec.logPath));
  return { result, stage: { budgetSeconds, metric: result.metric, verdict: judged.verdict, rationale: judged.rationale, wallMs } };
}

/** The smoke run of a job: the short budget, its own run directory (inside the experiment's, replaced by the full run). */
function smokeSpec(ctx: SessionContext, spec: JobSpec, slot: SlotDevice, budgetSeconds: number): JobSpec {
  const limits = limitsAtBudget(ctx.config, slot.device, budgetSeconds);
  const runDir = join(spec.runDir, "smoke");
  const outputDir = join(runDir, "out");
  mkdirSync(outputDir, { recursive: true });
  const smoke: JobSpec = {
    ...spec,
    train: { ...spec.train!, budgetSeconds: limits.budgetSeconds, timeoutSeconds: limits.timeoutSeconds },
    env: { ...spec.env, [ENV_OUTPUT_DIR]: outputDir, [ENV_BUDGET_SECONDS]: String(limits.budgetSeconds) },
    runDir,
    outputDir,
    resultPath: join(runDir, "result.json"),
  };
  writeFileSync(join(runDir, "job.json"), `${JSON.stringify(smoke, null, 2)}\n`);
  return smoke;
}
