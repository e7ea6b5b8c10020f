// The project config (autoresearch.config.json), as a zod schema. Unknown keys are errors.
import { z } from "zod";

const command = z.strictObject({
  command: z.string().min(1, "must be a non-empty shell command"),
  timeoutSeconds: z.number().positive().optional(),
});

export const proposerSchema = z.strictObject({
  /** search (offline, default) | replay (scripted patches from `file`). */
  name: z.string().min(1).default("search"),
  /** search: the random seed. */
  seed: z.number().int().optional(),
  /** replay: a JSON file of proposals, relative to the project root. */
  file: z.string().optional(),
  /** How many proposals to prepare ahead of free slots. Defaults to the number of slots. */
  queueDepth: z.number().int().positive().optional(),
});

export const acceptanceSchema = z.strictObject({
  policy: z.enum(["noise-aware", "greedy"]).default("noise-aware"),
  /** noise-aware: how many times the baseline runs to estimate run-to-run noise. */
  baselineRuns: z.number().int().min(1).max(20).default(2),
  /** noise-aware: a keep must beat the best by more than max(minDelta, z * sigma). */
  z: z.number().min(0).default(2),
  minDelta: z.number().min(0).default(0),
  /** noise-aware: re-run a would-be keep once and judge the mean of both runs. */
  confirm: z.boolean().default(false),
});

export const stopSchema = z.strictObject({
  maxExperiments: z.number().int().positive().optional(),
  maxHours: z.number().positive().optional(),
  /** Stop once the best reaches this value (<= for min, >= for max). */
  target: z.number().optional(),
  /** Pause after this many failures in a row (crash, timeout, rejected, no_metric, invalid). */
  maxConsecutiveFailures: z.number().int().positive().default(5),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  /** A name for the study, shown in views. */
  name: z.string().min(1).optional(),
  /** The human's instructions to the agent. */
  program: z.string().default("program.md"),
  /** Globs (relative to the project root) of files proposers may change. */
  mutable: z.array(z.string().min(1)).min(1, "needs at least one glob of files proposers may change"),
  /** Globs of files that must never change: evaluator, data preparation, constants. */
  protected: z.array(z.string().min(1)).default([]),
  /** Read-only files a proposer may read for context (not changeable). */
  context: z.array(z.string().min(1)).default([]),
  /** Run once per project before the first experiment; writes into AUTORESEARCH_DATA_DIR, which is then checksummed. */
  prepare: command.optional(),
  /** Runs the mutable code under the budget. */
  train: command,
  /** Protected; writes the metrics JSON to AUTORESEARCH_METRICS_FILE. Without it, metrics are read from train output and marked self-reported. */
  evaluate: command.optional(),
  metric: z.strictObject({
    name: z.string().min(1),
    direction: z.enum(["min", "max"]),
    /** A held-out metric the evaluator also writes (e.g. test_bpb); recorded, never shown to proposers. */
    heldOut: z.string().min(1).optional(),
    /** Other numbers to record from the metrics file. */
    secondary: z.array(z.string().min(1)).default([]),
  }),
  /** Training wall clock handed to the workload as AUTORESEARCH_BUDGET_SECONDS. */
  budgetSeconds: z.number().positive(),
  /** Hard limit for the train command; default budgetSeconds * 1.25 + 15. */
  timeoutSeconds: z.number().positive().optional(),
  /** Between SIGTERM and SIGKILL of a process group. */
  killGraceSeconds: z.number().min(0).default(5),
  /** Experiments run at once. */
  slots: z.number().int().positive().default(1),
  /** "auto" (one GPU per slot when nvidia-smi lists GPUs, else cpu) or explicit devices ("cpu", "cuda:0", ...). */
  devices: z.union([z.literal("auto"), z.array(z.string().regex(/^(cpu|cuda:\d+)$/, 'must be "cpu" or "cuda:N"')).min(1)]).default("auto"),
  proposer: proposerSchema.default({ name: "search" }),
  acceptance: acceptanceSchema.default({ policy: "noise-aware", baselineRuns: 2, z: 2, minDelta: 0, confirm: false }),
  stop: stopSchema.default({ maxConsecutiveFailures: 5 }),
  /** How many recent experiments a proposer sees. */
  historyLimit: z.number().int().positive().default(50),
});

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
