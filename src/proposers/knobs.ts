// Hyperparameter "knob" markers: a value on one line, annotated with its search range.
//   const LEARNING_RATE = 0.003; // @knob min=0.0001 max=0.3 scale=log
//   LR = 0.04  # @knob min=1e-4 max=1 scale=log

export type KnobValue = number | string;

export type KnobSpec =
  | { kind: "range"; min: number; max: number; scale: "linear" | "log"; int: boolean }
  | { kind: "choices"; choices: KnobValue[] };

export interface Knob {
  /** "path:NAME", unique across the mutable files. */
  id: string;
  path: string;
  name: string;
  /** 1-based line number. */
  line: number;
  /** The value literal as written, quotes included. */
  raw: string;
  value: KnobValue;
  spec: KnobSpec;
}

export interface ParsedKnobs {
  knobs: Knob[];
  /** One line each, "path:line: what is wrong; what to write instead". */
  errors: string[];
}

/** Shown to users who have no markers yet. */
export const KNOB_SYNTAX_HELP = [
  "const LEARNING_RATE = 0.003; // @knob min=0.0001 max=0.3 scale=log",
  "const HIDDEN_SIZE = 32; // @knob min=8 max=512 scale=log int",
  'const ACTIVATION = "tanh"; // @knob choices=tanh,relu',
  "LR = 0.04  # @knob min=1e-4 max=1 scale=log",
].join("\n");

const NUMBER = String.raw`[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?`;
// The marker is a comment that starts with @knob; "@knob" elsewhere in a comment is just prose.
const MARKER = /^(?<code>.*?)(?:\/\/|#)\s*@knob(?<options>(?:\s.*)?)$/;
const DECLARATION = new RegExp(
  String.raw`^\s*(?:export\s+)?(?:(?:const|let|var)\s+)?(?<name>[A-Za-z_$][\w$]*)\s*(?::\s*[A-Za-z_$][\w$.]*\s*)?[=:]\s*` +
    String.raw`(?<value>${NUMBER}|"[^"\\]*"|'[^'\\]*')\s*[;,]?\s*$`,
  "d",
);
const NUMBER_ONLY = new RegExp(`^${NUMBER}$`);

export function parseKnobs(path: string, content: string): ParsedKnobs {
  const knobs: Knob[] = [];
  const errors: string[] = [];
  const lines = content.split("\n");
  for (const [index, rawLine] of lines.entries()) {
    const text = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    const marker = MARKER.exec(text);
    if (!marker?.groups) continue;
    const where = `${path}:${index + 1}`;
    const declaration = DECLARATION.exec(marker.groups.code);
    if (!declaration?.groups) {
      errors.push(
        `${where}: a @knob marker must end a line of the form NAME = value (a number or a quoted string), ` +
          `e.g. "const LEARNING_RATE = 0.003; // @knob min=0.0001 max=0.3 scale=log"`,
      );
      continue;
    }
    const { name, value: raw } = declaration.groups;
    if (knobs.some((knob) => knob.name === name)) {
      errors.push(`${where}: ${name} has a second @knob marker in this file; give each knob a unique name`);
      continue;
    }
    const parsed = parseSpec(raw, marker.groups.options.trim());
    if (typeof parsed === "string") {
      errors.push(`${where}: ${name}: ${parsed}`);
      continue;
    }
    knobs.push({ id: `${path}:${name}`, path, name, line: index + 1, raw, value: parsed.value, spec: parsed.spec });
  }
  return { knobs, errors };
}

function parseSpec(raw: string, options: string): { value: KnobValue; spec: KnobSpec } | string {
  const quoted = raw.startsWith('"') || raw.startsWith("'");
  const value: KnobValue = quoted ? raw.slice(1, -1) : Number(raw);
  const fields = new Map<string, string>();
  let int = false;
  for (const token of options.split(/\s+/).filter(Boolean)) {
    if (token === "int") {
      int = true;
      continue;
    }
    const match = /^(min|max|scale|choices)=(.+)$/.exec(token);
    if (!match) return `unknown @knob option "${token}"; expected min=N max=N [scale=log|linear] [int], or choices=a,b,c`;
    if (fields.has(match[1])) return `@knob option ${match[1]} is given twice`;
    fields.set(match[1], match[2]);
  }
  const choices = fields.get("choices");
  if (choices !== undefined) {
    if (fields.has("min") || fields.has("max") || fields.has("scale") || int) {
      return `choices= cannot be combined with min/max/scale/int; use either choices=a,b,c or a numeric range`;
    }
    return parseChoices(value, choices.split(","));
  }
  if (quoted) return `a string value needs choices, e.g. "// @knob choices=${value},other"`;
  const min = fields.get("min");
  const max = fields.get("max");
  if (min === undefined || max === undefined) return `missing ${min === undefined ? "min" : "max"}=; a numeric knob needs min=N max=N`;
  if (!NUMBER_ONLY.test(min) || !NUMBER_ONLY.test(max)) return `min and max must be numbers (got min=${min} max=${max})`;
  const scale = fields.get("scale") ?? "linear";
  if (scale !== "linear" && scale !== "log") return `scale=${scale} is not supported; expected scale=log or scale=linear`;
  const spec: KnobSpec = { kind: "range", min: Number(min), max: Number(max), scale, int };
  if (!(spec.min < spec.max)) return `min (${min}) must be below max (${max})`;
  if (scale === "log" && spec.min <= 0) return `scale=log needs min > 0 (got min=${min})`;
  if (int && (!Number.isInteger(spec.min) || !Number.isInteger(spec.max) || !Number.isInteger(value))) {
    return `int needs integer min, max and value (got min=${min} max=${max} value=${raw})`;
  }
  if ((value as number) < spec.min || (value as number) > spec.max) return `value ${raw} is outside min=${min} max=${max}`;
  return { value, spec };
}

function parseChoices(value: KnobValue, tokens: string[]): { value: KnobValue; spec: KnobSpec } | string {
  if (tokens.some((token) => token.length === 0)) return `choices has an empty entry; expected choices=a,b,c`;
  if (new Set(tokens).size !== tokens.length) return `choices lists a value twice`;
  if (tokens.length < 2) return `choices needs at least two values, e.g. choices=${tokens[0]},other`;
  let choices: KnobValue[] = tokens;
  if (typeof value === "number") {
    if (!tokens.every((token) => NUMBER_ONLY.test(token))) return `the value is a number, so every choice must be a number (got ${tokens.join(",")})`;
    choices = tokens.map(Number);
  } else if (tokens.some((token) => /["'\\]/.test(token))) {
    return `choices must not contain quotes or backslashes`;
  }
  if (!choices.includes(value)) return `current value ${String(value)} is not among choices=${tokens.join(",")}; add it to the list`;
  return { value, spec: { kind: "choices", choices } };
}

/**
 * The literal that `setKnobValue` would write for a number: ints as ints, others with three
 * significant digits (bounds exactly), in exponent style when the original literal used one.
 */
export function formatKnobNumber(knob: Knob, value: number): string {
  const spec = knob.spec;
  if (spec.kind === "choices") return String(value);
  if (spec.int) return String(Math.round(value));
  // A bound is written exactly, so rounding never steps outside [min, max].
  const rounded = value === spec.min || value === spec.max ? value : Number(value.toPrecision(3));
  const exponent = /e/i.exec(knob.raw);
  if (exponent) {
    let text = rounded.toExponential();
    if (!/e\+/i.test(knob.raw)) text = text.replace("e+", "e");
    return exponent[0] === "E" ? text.toUpperCase() : text;
  }
  const text = String(rounded);
  // Keep a float a float: in Python "lr = 1" would turn it into an int.
  return knob.raw.includes(".") && !/[.e]/i.test(text) ? `${text}.0` : text;
}

/** The value as it reads back after being written, so comparisons see what the file will hold. */
export function normalizeKnobValue(knob: Knob, value: KnobValue): KnobValue {
  return typeof value === "number" ? Number(formatKnobNumber(knob, value)) : value;
}

/** Rewrites only the value literal on the knob's line; the rest of the file stays byte-for-byte. */
export function setKnobValue(content: string, knob: Knob, value: KnobValue): string {
  const lines = content.split("\n");
  const rawLine = lines[knob.line - 1];
  const text = rawLine?.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
  const marker = text === undefined ? null : MARKER.exec(text);
  const declaration = marker?.groups ? DECLARATION.exec(marker.groups.code) : null;
  const span = declaration?.indices?.groups?.value;
  if (!declaration?.groups || !span || declaration.groups.name !== knob.name) {
    throw new Error(`${knob.path}:${knob.line}: the @knob line for ${knob.name} is no longer there; re-read the knobs from the current file`);
  }
  let literal: string;
  if (typeof value === "number") {
    literal = formatKnobNumber(knob, value);
  } else {
    const quote = knob.raw.startsWith("'") ? "'" : '"';
    if (/["'\\\n]/.test(value)) throw new Error(`knob ${knob.id}: value ${JSON.stringify(value)} contains a quote, backslash or newline`);
    literal = `${quote}${value}${quote}`;
  }
  lines[knob.line - 1] = rawLine.slice(0, span[0]) + literal + rawLine.slice(span[1]);
  return lines.join("\n");
}
