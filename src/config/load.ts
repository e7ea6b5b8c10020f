// Config in stages: read -> parse JSON -> zod safeParse -> normalize -> cross-field rules.
// Every problem is reported as "file: path.to.field: what is wrong, what was expected".
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import picomatch from "picomatch";
import type { z } from "zod";
import { ConfigError } from "../errors.ts";
import { deviceKind, type DeviceKind } from "./device-kind.ts";
import { configSchema, type ParsedConfig } from "./schema.ts";
import { CONFIG_FILE } from "../project/paths.ts";

export { CONFIG_FILE };

export interface ResearchConfig extends ParsedConfig {
  projectDir: string;
  configPath: string;
}

/** What the train phase of an experiment on one device kind gets. */
export interface TrainLimits {
  /** Training wall clock, handed to the workload (AUTORESEARCH_BUDGET_SECONDS). */
  budgetSeconds: number;
  /** Seconds past the budget for start-up and the final save; the stated allowance every view shows. */
  startupSeconds: number;
  /** The hard limit, budget + allowance: a train phase still running then is killed and the run is "timeout". */
  timeoutSeconds: number;
}

type LimitFields = Pick<ResearchConfig, "budgetSeconds" | "budgetByDevice" | "startupSeconds" | "startupByDevice" | "timeoutSeconds">;

/** The training budget, its start-up allowance and the hard limit for an experiment on this device. */
export function budgetFor(config: LimitFields, device: string): TrainLimits {
  const kind = deviceKind(device);
  const budgetSeconds = budgetOf(config, kind);
  // An explicit timeoutSeconds can only tighten the allowance (crossFieldProblems refuses more).
  const timeoutSeconds = config.timeoutSeconds ?? tidy(budgetSeconds + allowanceOf(config, kind));
  return { budgetSeconds, startupSeconds: tidy(timeoutSeconds - budgetSeconds), timeoutSeconds };
}

/**
 * The train limits at another budget than the config's (the cascade's smoke stage, `promote`'s longer runs):
 * the same start-up allowance rule (an explicit timeoutSeconds keeps its allowance over the budget).
 */
export function limitsAtBudget(config: LimitFields, device: string, budgetSeconds: number): TrainLimits {
  const kind = deviceKind(device);
  const startupSeconds = config.startupByDevice?.[kind] ?? config.startupSeconds
    ?? (config.timeoutSeconds !== undefined ? budgetFor(config, device).startupSeconds : defaultStartupSeconds(budgetSeconds));
  return { budgetSeconds, startupSeconds, timeoutSeconds: tidy(budgetSeconds + startupSeconds) };
}

/** budgetFor for each device kind among `devices`, in order of first appearance (what the session header shows). */
export function trainLimitsByKind(config: LimitFields, devices: readonly string[]): Array<TrainLimits & { kind: DeviceKind }> {
  const kinds = [...new Set(devices.map(deviceKind))];
  return kinds.map((kind) => ({ kind, ...budgetFor(config, kind) }));
}

/**
 * The default start-up allowance: 10 s for an interpreter and its imports, data loading and the
 * final save, plus 5% of the budget for what grows with a run (a larger checkpoint); 25 s at 300 s.
 */
export function defaultStartupSeconds(budgetSeconds: number): number {
  return Math.round((10 + 0.05 * budgetSeconds) * 10) / 10;
}

function budgetOf(config: LimitFields, kind: DeviceKind): number {
  const budget = config.budgetByDevice?.[kind] ?? config.budgetSeconds;
  // crossFieldProblems makes every config with a train phase name a budget; a measure-only one has no train limits.
  if (budget === undefined) throw new Error("no train budget: a measure-only study has no train phase");
  return budget;
}

function allowanceOf(config: LimitFields, kind: DeviceKind): number {
  return config.startupByDevice?.[kind] ?? config.startupSeconds ?? defaultStartupSeconds(budgetOf(config, kind));
}

/** Sums of seconds without floating-point dust (0.4 + 10 is 10.4, not 10.400000000000002). */
function tidy(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

export function loadConfig(projectDir: string): ResearchConfig {
  const configPath = join(projectDir, CONFIG_FILE);
  if (!existsSync(configPath)) {
    throw new ConfigError(
      [`${configPath}: not found`],
      "In a git repository of yours, `autoresearch init --here --measure CMD ...` makes it a project; `autoresearch init <dir> --template ts-demo` creates a new one; or cd into a project.",
    );
  }
  return parseConfig(readFileSync(configPath, "utf8"), configPath, projectDir);
}

export function parseConfig(text: string, configPath: string, projectDir: string): ResearchConfig {
  const file = basename(configPath);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${file}: not valid JSON: ${(error as Error).message}`], "Fix the JSON syntax (a JSON linter shows the spot).");
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => formatIssue(file, issue, raw)), `See README.md "Config reference" for every field.`);
  }
  const config = normalize({ ...result.data, projectDir, configPath }, raw as Record<string, unknown>);
  const problems = crossFieldProblems(config).map((problem) => `${file}: ${problem}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * Baseline runs a measure-only study gets unless its config says otherwise: timings are noisier than
 * a training run's validation loss, and σ from two runs is a poor estimate of their spread.
 */
export const MEASURE_BASELINE_RUNS = 5;

/** The measure command's hard limit when measure.timeoutSeconds is not set (the baselines' times then tighten it). */
export const DEFAULT_MEASURE_TIMEOUT_SECONDS = 600;

/** Defaults that depend on other fields (the schema's defaults cannot see them). */
function normalize(config: ResearchConfig, raw: Record<string, unknown>): ResearchConfig {
  const acceptance = raw.acceptance as Record<string, unknown> | undefined;
  if (config.measure && !config.train && acceptance?.baselineRuns === undefined) {
    return { ...config, acceptance: { ...config.acceptance, baselineRuns: MEASURE_BASELINE_RUNS } };
  }
  return config;
}

/** The phases: a train phase with its budget, a measure command, or both; measure and evaluate do not mix. */
function workloadProblems(config: ResearchConfig): string[] {
  if (!config.train && !config.measure) {
    return [`train: missing; expected {"command": "..."} that runs the mutable code under the budget, or "measure": {"command": "..."} for a study without training (a protected command that measures the mutable code)`];
  }
  const problems: string[] = [];
  if (config.measure && config.evaluate) {
    problems.push(`measure: a study scores with either "measure" or "evaluate", not both; expected one of them (keep "evaluate" with "train" for a trained model, "measure" to time or size the code)`);
  }
  if (config.train && config.budgetSeconds === undefined) {
    problems.push(`budgetSeconds: missing; the train phase needs its wall-clock budget in seconds (e.g. 300)`);
  }
  if (!config.train) {
    const trainOnly = (["budgetSeconds", "budgetByDevice", "startupSeconds", "startupByDevice", "timeoutSeconds"] as const).filter((field) => config[field] !== undefined);
    for (const field of trainOnly) {
      problems.push(`${field}: limits the train phase, but there is none (a measure-only study); remove ${field}, or set measure.timeoutSeconds to limit the measure command`);
    }
  }
  return problems;
}

function crossFieldProblems(config: ResearchConfig): string[] {
  const problems = workloadProblems(config);
  if (problems.length > 0) return problems;
  problems.push(...timeoutProblems(config));
  problems.push(...cascadeProblems(config));
  if (config.promote !== undefined && !config.train) {
    problems.push(`promote: a measure-only study has no train budget to lengthen; remove "promote" (it needs "train" with a budget)`);
  }
  problems.push(...overlapProblems(config, literalPaths(config)));
  for (const [index, glob] of config.mutable.entries()) {
    if (glob === CONFIG_FILE || glob === config.program) {
      problems.push(`mutable[${index}]: "${glob}" can never be mutable; expected globs of the files proposers may change (the config and ${config.program} are always protected)`);
    }
    if (glob.startsWith("/") || glob.split("/").includes("..")) {
      problems.push(`mutable[${index}]: "${glob}" must be relative to the project root, without ".."`);
    }
  }
  for (const [index, glob] of config.protected.entries()) {
    if (glob.startsWith("/") || glob.split("/").includes("..")) {
      problems.push(`protected[${index}]: "${glob}" must be relative to the project root, without ".."`);
    }
  }
  if (config.hideFromTrain.length > 0 && !config.prepare) {
    problems.push(`hideFromTrain: lists files of the prepared data, but there is no prepare step; add "prepare" or remove hideFromTrain`);
  }
  for (const [index, glob] of config.hideFromTrain.entries()) {
    if (glob.startsWith("/") || glob.split("/").includes("..")) {
      problems.push(`hideFromTrain[${index}]: "${glob}" must be relative to the prepared data directory, without ".."`);
    }
  }
  if (config.proposer.name === "replay" && !config.proposer.file) {
    problems.push(`proposer.file: missing; expected the path of the replay file (the replay proposer applies its scripted patches)`);
  }
  if (config.proposer.name === "llm") problems.push(...llmProposerProblems(config.proposer));
  // On a cluster the devices are the nodes' (each job gets its own), not this machine's.
  if (Array.isArray(config.devices) && config.executor.kind === "local") {
    const gpus = config.devices.filter((device) => device.startsWith("cuda:"));
    if (gpus.length > 0 && config.slots > gpus.length) {
      problems.push(`slots: ${config.slots} slots but only ${gpus.length} GPU device(s) listed in devices; expected one GPU per slot`);
    }
    if (new Set(config.devices).size !== config.devices.length) {
      problems.push(`devices: lists a device twice; expected each device once`);
    }
  }
  if (config.stop.target !== undefined && !Number.isFinite(config.stop.target)) {
    problems.push(`stop.target: expected a finite number`);
  }
  return problems;
}

/**
 * What needs the project's files (at the session's base commit): every mutable glob matches a file, and
 * no file is both mutable and protected. Each problem as "path.to.field: what is wrong, what was expected".
 */
export function scopeProblems(config: ResearchConfig, files: readonly string[]): string[] {
  const problems = overlapProblems(config, files);
  for (const [index, glob] of config.mutable.entries()) {
    const matches = picomatch(glob, { dot: true });
    if (!files.some((file) => matches(file))) {
      problems.push(`mutable[${index}]: "${glob}" matches no committed file; expected a glob of files that exist (a typo? commit a first version of a file proposers should create)`);
    }
  }
  return problems;
}

/** The mutable and protected entries that are plain paths, not globs: overlaps among them are known without the files. */
function literalPaths(config: ResearchConfig): string[] {
  return [...config.mutable, ...config.protected].filter((entry) => !picomatch.scan(entry).isGlob);
}

function overlapProblems(config: ResearchConfig, files: readonly string[]): string[] {
  const mutable = config.mutable.map((glob) => picomatch(glob, { dot: true }));
  const guarded = config.protected.map((glob) => ({ glob, test: picomatch(glob, { dot: true }) }));
  // One problem per pair of globs, naming its first file and how many there are.
  const overlaps = new Map<string, { mutableIndex: number; protectedGlob: string; files: string[] }>();
  for (const file of new Set(files)) {
    const mutableIndex = mutable.findIndex((test) => test(file));
    const protectedMatch = guarded.find((entry) => entry.test(file));
    if (mutableIndex < 0 || !protectedMatch) continue;
    const key = `${mutableIndex}\0${protectedMatch.glob}`;
    const overlap = overlaps.get(key) ?? { mutableIndex, protectedGlob: protectedMatch.glob, files: [] };
    overlap.files.push(file);
    overlaps.set(key, overlap);
  }
  return [...overlaps.values()].map(({ mutableIndex, protectedGlob, files: both }) =>
    `mutable[${mutableIndex}]: "${config.mutable[mutableIndex]}" makes ${both[0]}${both.length > 1 ? ` (and ${both.length - 1} more)` : ""} mutable, ` +
    `but protected "${protectedGlob}" protects it; expected each file to be either mutable or protected (narrow one of the globs)`);
}

/**
 * An explicit timeoutSeconds applies to every device kind: it must leave each budget whole, and
 * must not let a run train past its budget by more than the stated start-up allowance.
 */
/** The cascade shortens a train phase: a study without one cannot have it, and its smoke budget is below every full one. */
function cascadeProblems(config: ResearchConfig): string[] {
  const { cascade } = config;
  if (cascade === undefined) return [];
  if (!config.train) {
    return [`cascade: a measure-only study has no train phase to shorten, so a smoke stage would run the whole measurement twice; remove "cascade" (it needs "train" with a budget)`];
  }
  if (config.ledger.kind !== "sqlite") {
    return [`cascade: not yet available in a shared study (ledger.kind "${config.ledger.kind}"): its decisions do not know smoke runs yet; remove "cascade" or use the local ledger`];
  }
  if ((cascade.budgetSeconds === undefined) === (cascade.budgetFraction === undefined)) {
    return [`cascade: expected exactly one of budgetSeconds (the smoke stage's seconds, e.g. 5) or budgetFraction (of the full budget, e.g. 0.1)`];
  }
  const budgets = [config.budgetSeconds, config.budgetByDevice?.cpu, config.budgetByDevice?.cuda].filter((budget): budget is number => budget !== undefined);
  const shortest = Math.min(...budgets);
  if (cascade.budgetSeconds !== undefined && cascade.budgetSeconds >= shortest) {
    return [`cascade.budgetSeconds: ${cascade.budgetSeconds} is not shorter than the full budget (${shortest} s); expected a smoke stage of a few seconds, or use budgetFraction`];
  }
  return [];
}

function timeoutProblems(config: ResearchConfig): string[] {
  const timeout = config.timeoutSeconds;
  if (timeout === undefined) return [];
  const problems = new Set<string>();
  for (const kind of ["cuda", "cpu"] as const) {
    const budget = budgetOf(config, kind);
    const budgetField = config.budgetByDevice?.[kind] !== undefined ? `budgetByDevice.${kind}` : "budgetSeconds";
    const allowance = allowanceOf(config, kind);
    const onKind = config.budgetByDevice?.[kind] !== undefined || config.startupByDevice?.[kind] !== undefined ? ` on ${kind}` : "";
    const allowanceField = config.startupByDevice?.[kind] !== undefined ? `startupByDevice.${kind}` : config.startupSeconds !== undefined ? "startupSeconds" : "the default 10 + 5% of the budget";
    if (timeout < budget) {
      problems.add(`timeoutSeconds: ${timeout} is shorter than ${budgetField} (${budget}); expected a hard limit above every budget, or leave timeoutSeconds out (each device kind then gets its budget plus its start-up allowance)`);
    } else if (timeout > tidy(budget + allowance)) {
      problems.add(
        `timeoutSeconds: ${timeout} would let a run${onKind} go ${tidy(timeout - budget)}s past its budget (${budgetField}: ${budget}), more than its start-up allowance of ${allowance}s (${allowanceField}); ` +
          `expected at most ${tidy(budget + allowance)}, or leave timeoutSeconds out and set startupSeconds${config.budgetByDevice?.[kind] !== undefined ? ` or startupByDevice.${kind}` : ""} to the start-up time runs need`,
      );
    }
  }
  return [...problems];
}

/** The llm proposer needs to know which API and model to call. */
function llmProposerProblems(proposer: ResearchConfig["proposer"]): string[] {
  const problems: string[] = [];
  if (!proposer.provider) problems.push(`proposer.provider: missing; the llm proposer needs one of: anthropic, openai, openai-compatible`);
  if (!proposer.model) problems.push(`proposer.model: missing; expected the model id, e.g. "claude-sonnet-4-5" or "gpt-5"`);
  if (proposer.provider === "openai-compatible" && !proposer.baseURL) {
    problems.push(`proposer.baseURL: missing; an openai-compatible server needs its URL, e.g. "http://localhost:11434/v1" for Ollama`);
  }
  return problems;
}

type Issue = z.core.$ZodIssue;

/** What a field is for, said when it is missing or of the wrong type (keyed by its path without indices). */
const FIELD_MEANINGS: Record<string, string> = {
  mutable: 'globs of the files proposers may change, e.g. ["train.py"]',
  train: 'the command that trains a candidate under the budget, e.g. {"command": "python train.py"}',
  "train.command": 'the shell command that trains a candidate, e.g. "python train.py"',
  measure: 'the protected command that measures the mutable code and prints or writes the metric, e.g. {"command": "node bench.js"}',
  "measure.command": 'the protected shell command that measures the mutable code, e.g. "node bench.js"',
  evaluate: 'the protected command that scores a trained candidate, e.g. {"command": "python evaluate.py"}',
  "evaluate.command": 'the protected shell command that writes the metrics file, e.g. "python evaluate.py"',
  "prepare.command": 'the shell command that prepares the data once, e.g. "python prepare.py"',
  metric: 'the metric that decides, e.g. {"name": "val_loss", "direction": "min"}',
  "metric.name": 'the metric\'s name in the metrics file or the output, e.g. "val_loss"',
  "metric.direction": '"min" when lower is better, "max" when higher is',
  budgetSeconds: "the train phase's wall-clock budget in seconds, e.g. 300",
};

const EXPECTED_NOUNS: Record<string, string> = {
  object: "an object", number: "a number", int: "a whole number", string: "a string", boolean: "true or false", array: "a list",
};

/** Each zod issue as "file: path: what is wrong; expected what; found what", in the user's terms. */
function formatIssue(file: string, issue: Issue, raw: unknown): string {
  const path = formatPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    const expected = knownKeys(issue.path);
    return issue.keys
      .map((key) => `${file}: ${path ? `${path}.` : ""}${key}: unknown key; expected one of: ${expected.join(", ")}`)
      .join("\n");
  }
  const where = `${file}: ${path || "(top level)"}`;
  const value = valueAt(raw, issue.path);
  const meaning = FIELD_MEANINGS[issue.path.filter((part) => typeof part === "string").join(".")];
  if (issue.code === "invalid_type") {
    const expected = EXPECTED_NOUNS[issue.expected] ?? issue.expected;
    if (value === undefined) return `${where}: required; expected ${meaning ?? expected}`;
    return `${where}: expected ${expected}${meaning ? ` (${meaning})` : ""}; found ${describeFound(value)}`;
  }
  if (issue.code === "invalid_value") {
    return `${where}: expected one of ${issue.values.map((option) => JSON.stringify(option)).join(", ")}; found ${describeFound(value)}`;
  }
  if ((issue.code === "too_small" || issue.code === "too_big") && issue.origin === "number" && /^Too (small|big)/.test(issue.message)) {
    const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
    const side = issue.code === "too_small" ? (issue.inclusive ? "at least" : "above") : (issue.inclusive ? "at most" : "below");
    return `${where}: expected a number ${side} ${String(bound)}${meaning ? ` (${meaning})` : ""}; found ${describeFound(value)}`;
  }
  // The schema's own messages ("must be a non-empty shell command"), or zod's.
  return `${where}: ${issue.message}; found ${describeFound(value)}`;
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let value = raw;
  for (const part of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

function describeFound(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return value.length === 0 ? "an empty list" : `a list (${shorten(JSON.stringify(value))})`;
  if (typeof value === "object" && value !== null) return `an object (${shorten(JSON.stringify(value))})`;
  if (typeof value === "string") return `the string ${shorten(JSON.stringify(value))}`;
  return String(value);
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function formatPath(path: PropertyKey[]): string {
  return path
    .map((part, index) => (typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`))
    .join("");
}

/** The keys the schema accepts at a path, for "unknown key" messages. */
function knownKeys(path: PropertyKey[]): string[] {
  let schema: unknown = configSchema;
  for (const part of path) {
    schema = unwrap(schema);
    const def = (schema as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (def.type === "object") schema = (def.shape as Record<string, unknown>)[String(part)];
    else if (def.type === "array") schema = def.element;
    else return [];
  }
  const def = (unwrap(schema) as { _zod: { def: Record<string, unknown> } })._zod.def;
  return def.type === "object" ? Object.keys(def.shape as object) : [];
}

function unwrap(schema: unknown): unknown {
  let current = schema as { _zod: { def: { type: string; innerType?: unknown; in?: unknown } } };
  for (;;) {
    const def = current._zod.def;
    if (def.innerType && ["optional", "default", "nullable", "prefault", "readonly"].includes(def.type)) current = def.innerType as typeof current;
    else if (def.type === "pipe" && def.in) current = def.in as typeof current;
    else return current;
  }
}
