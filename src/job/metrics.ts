// Turning an evaluator's metrics file (or, without an evaluator, the train output) into numbers. Pure.

export interface MetricNames {
  name: string;
  heldOut?: string;
  secondary: string[];
}

export type MetricsReading =
  | { kind: "ok"; metric: number; heldOut: number | null; secondary: Record<string, number>; memoryGb: number | null }
  | { kind: "invalid"; reason: string }
  | { kind: "no_metric"; reason: string };

const MEMORY_KEYS: Array<[string, number]> = [["memory_gb", 1], ["peak_vram_mb", 1 / 1024], ["peak_memory_mb", 1 / 1024]];

export function readMetricsJson(text: string, names: MetricNames): MetricsReading {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    parsed = parseWithNonFinite(text);
    if (parsed === undefined) return { kind: "no_metric", reason: `the evaluator's metrics file is not valid JSON: ${(error as Error).message}` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { kind: "no_metric", reason: "the evaluator's metrics file must hold a JSON object" };
  }
  const values = parsed as Record<string, unknown>;
  if (values.invalid !== undefined && values.invalid !== false && values.invalid !== null) {
    return { kind: "invalid", reason: `the evaluator judged the model invalid: ${String(values.invalid)}` };
  }
  const selfReported = isRecord(values.self_reported) ? values.self_reported : {};
  return reading(values, selfReported, names, "the metrics file");
}

// Python's json.dump writes NaN, Infinity and -Infinity, which JSON.parse refuses.
const NON_FINITE_TOKEN = /"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)/g;
const NON_FINITE_MARK = "\u0000autoresearch-non-finite:";

/** The metrics file with Python's non-finite tokens read as numbers (so the message can name them), or undefined. */
function parseWithNonFinite(text: string): unknown {
  if (text.length > 10_000_000) return undefined;
  const marked = text.replace(NON_FINITE_TOKEN, (whole, token: string | undefined) => (token ? JSON.stringify(NON_FINITE_MARK + token) : whole));
  if (marked === text) return undefined;
  try {
    return JSON.parse(marked, (_key, value: unknown) =>
      typeof value === "string" && value.startsWith(NON_FINITE_MARK) ? Number(value.slice(NON_FINITE_MARK.length)) : value);
  } catch {
    return undefined;
  }
}

const SELF_REPORTED_LINE = /^\s*([A-Za-z_][\w.]*)\s*[:=]\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|NaN|inf|-inf)\s*$/;

/**
 * Without an evaluator: the last `name: value` line of the train output for each name (self-reported).
 * Fed line by line as the output is written, so a metric is found wherever it was printed,
 * even in a part of the log that the log cap cut out, and the output is never held in memory.
 */
export class SelfReportedScanner {
  readonly #found: Record<string, number> = {};

  push(line: string): void {
    if (line.length > 1000) return; // a metric line is short; skip the regex on huge lines
    const match = SELF_REPORTED_LINE.exec(line);
    if (match) this.#found[match[1]!] = Number(match[2]!.replace(/^(-?)inf$/i, "$1Infinity"));
  }

  /** `source` names the output in a no_metric reason: "the train output", "the measure output". */
  reading(names: MetricNames, source = "the train output"): MetricsReading {
    return reading(this.#found, {}, names, source);
  }
}

/** readSelfReported over a whole text (tests, small outputs); the loop streams through SelfReportedScanner. */
export function readSelfReported(output: string, names: MetricNames): MetricsReading {
  const scanner = new SelfReportedScanner();
  for (const line of output.split("\n")) scanner.push(line);
  return scanner.reading(names);
}

function reading(values: Record<string, unknown>, selfReported: Record<string, unknown>, names: MetricNames, source: string): MetricsReading {
  const metric = values[names.name];
  if (metric === undefined) return { kind: "no_metric", reason: `${source} has no "${names.name}"; ${presentKeys(values)}` };
  if (typeof metric !== "number" || !Number.isFinite(metric)) {
    return { kind: "no_metric", reason: `"${names.name}" in ${source} is not a finite number (${describeValue(metric)})` };
  }
  const heldOutValue = names.heldOut ? values[names.heldOut] : undefined;
  const secondary: Record<string, number> = {};
  for (const name of names.secondary) {
    const value = values[name] ?? selfReported[name];
    if (typeof value === "number" && Number.isFinite(value)) secondary[name] = value;
  }
  for (const [name, value] of Object.entries(selfReported)) {
    if (typeof value === "number" && Number.isFinite(value)) secondary[`self_reported.${name}`] = value;
  }
  let memoryGb: number | null = null;
  for (const [key, scale] of MEMORY_KEYS) {
    const value = values[key] ?? selfReported[key];
    if (typeof value === "number" && Number.isFinite(value)) {
      memoryGb = value * scale;
      break;
    }
  }
  return {
    kind: "ok",
    metric,
    heldOut: typeof heldOutValue === "number" && Number.isFinite(heldOutValue) ? heldOutValue : null,
    secondary,
    memoryGb,
  };
}

const LISTED_KEYS = 20;

/** What a source without the metric did hold, so a misspelt name (val_los, valLoss) shows at once. */
function presentKeys(values: Record<string, unknown>): string {
  const keys = Object.keys(values).filter((key) => key !== "self_reported");
  if (keys.length === 0) return "it has no values at all (expected {\"<name>\": <number>} in the metrics file, or a `<name>: <number>` line in the output)";
  const listed = keys.slice(0, LISTED_KEYS).map((key) => JSON.stringify(key.length > 60 ? `${key.slice(0, 57)}...` : key)).join(", ");
  return `it has ${listed}${keys.length > LISTED_KEYS ? ` and ${keys.length - LISTED_KEYS} more` : ""} (metric.name in the config must be one of them)`;
}

/** How a refused metric value reads in a message: nan, inf, -inf for numbers, JSON (shortened) otherwise. */
function describeValue(value: unknown): string {
  if (typeof value === "number") return Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
