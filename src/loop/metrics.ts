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
    return { kind: "no_metric", reason: `the evaluator's metrics file is not valid JSON: ${(error as Error).message}` };
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

/** Without an evaluator: the last `name: value` line of the train output for each name (self-reported). */
export function readSelfReported(output: string, names: MetricNames): MetricsReading {
  const found: Record<string, number> = {};
  const pattern = /^\s*([A-Za-z_][\w.]*)\s*[:=]\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|NaN|inf|-inf)\s*$/;
  for (const line of output.split("\n")) {
    const match = pattern.exec(line);
    if (match) found[match[1]!] = Number(match[2]!.replace(/^(-?)inf$/i, "$1Infinity"));
  }
  return reading(found, {}, names, "the train output");
}

function reading(values: Record<string, unknown>, selfReported: Record<string, unknown>, names: MetricNames, source: string): MetricsReading {
  const metric = values[names.name];
  if (metric === undefined) return { kind: "no_metric", reason: `${source} has no "${names.name}"` };
  if (typeof metric !== "number" || !Number.isFinite(metric)) {
    return { kind: "no_metric", reason: `"${names.name}" in ${source} is ${JSON.stringify(metric) ?? String(metric)}, not a finite number` };
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
