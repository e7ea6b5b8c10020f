// The environment a workload's commands see: the scrubbed harness environment,
// the workload contract, the slot's device, and a marker to find its processes by.
import { dirname } from "node:path";
import { budgetFor } from "../config/load.ts";
import type { SlotDevice } from "../executors/devices.ts";
import { ENV_BUDGET_SECONDS, ENV_DATA_DIR, ENV_DEVICE, ENV_HOME, ENV_SPLIT_SECRET } from "../project/contract.ts";
import { harnessHome } from "../project/paths.ts";
import { MARKER_ENV, SESSION_MARKER_ENV } from "../runner/markers.ts";
import type { SessionContext } from "./context.ts";

export { MARKER_ENV, SESSION_MARKER_ENV, sessionKey } from "../runner/markers.ts";

export function runMarker(ctx: SessionContext, id: number | "prepare"): { name: string; value: string } {
  return { name: MARKER_ENV, value: `${ctx.sessionKey}/${id}` };
}

export function sessionMarker(ctx: SessionContext): { name: string; value: string } {
  return { name: SESSION_MARKER_ENV, value: ctx.sessionKey };
}

export function phaseEnvironment(
  ctx: SessionContext,
  slot: SlotDevice | null,
  phase: "prepare" | "train" | "evaluate" | "serve" | "measure",
  extra: Record<string, string>,
  markerId: number | "prepare",
): Record<string, string> {
  const env: Record<string, string> = { ...ctx.baseEnv };
  // `node` in a workload's command is the Node that runs the harness (Node 24 here), whatever PATH says.
  env.PATH = [dirname(process.execPath), env.PATH ?? ""].filter(Boolean).join(":");
  if (!process.features.typescript) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ""} --experimental-strip-types --no-warnings`.trim();
  // A measure-only study has no training budget to hand out.
  if (ctx.config.train) env[ENV_BUDGET_SECONDS] = String(budgetFor(ctx.config, slot?.device ?? "cpu").budgetSeconds);
  env[ENV_DATA_DIR] = ctx.paths.dataDir;
  env[ENV_HOME] = harnessHome();
  env[ENV_DEVICE] = slot?.device ?? "cpu";
  Object.assign(env, slot?.env ?? {});
  Object.assign(env, extra);
  // The split secret is the prepare step's alone, even when the harness itself was started with one.
  if (phase !== "prepare") delete env[ENV_SPLIT_SECRET];
  env[MARKER_ENV] = runMarker(ctx, markerId).value;
  env[SESSION_MARKER_ENV] = sessionMarker(ctx).value;
  return env;
}
