// Everything one session's loop needs, gathered once and passed around explicitly.
import type { ResearchConfig } from "../config/load.ts";
import type { EventBus } from "../events/types.ts";
import type { Executor } from "../executors/types.ts";
import type { SlotDevice } from "../executors/devices.ts";
import type { Ledger } from "../ledger/sqlite.ts";
import type { ProjectPaths } from "../project/paths.ts";
import type { DirectorySnapshot } from "../guard/checksums.ts";
import type { Isolation } from "./sandboxes.ts";
import type { ShareSession } from "../share/worker.ts";

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface SessionContext {
  config: ResearchConfig;
  paths: ProjectPaths;
  tag: string;
  branch: string;
  /** Marks every process of this session (env var value), so a resume can find and kill leftovers. */
  sessionKey: string;
  ledger: Ledger;
  executor: Executor;
  bus: EventBus;
  clock: Clock;
  /** The harness's environment through the allow-list (guard/env.ts, config env.pass); phases add the contract variables. */
  baseEnv: Record<string, string>;
  /** config.protected plus the files that are always protected (the config, program.md). */
  protectedGlobs: string[];
  /** Checksums of the prepared data, verified around every experiment; null without a prepare step. */
  dataSnapshot: DirectorySnapshot | null;
  slots: SlotDevice[];
  /** Absolute paths of prepared files the train phase cannot read (config hideFromTrain, where hiding works). */
  hiddenFromTrain: string[];
  /** Whether (and how) the phases that run mutable code are sandboxed. */
  isolation: Isolation;
  /** sha256 of every protected file at the session's base: each job's checkout must match it before it runs. */
  protectedChecksums: Record<string, string>;
  /** The shared study this worker belongs to (config ledger.kind "postgres"); absent for a local ledger. */
  share?: ShareSession;
}

export function isoAt(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}
