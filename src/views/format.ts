// Formatting helpers shared by the terminal view and the dashboard. Pure functions, no I/O.

/** A metric with 6 decimals below 10, 5 below 100, else 4; "—" when missing. */
export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  // Tiny non-zero values would print as 0.000000; exponent notation keeps them readable.
  if (magnitude !== 0 && magnitude < 1e-4) return value.toExponential(3);
  // Decimals step down by magnitude, not per digit, so values either side of 1.0 (common for losses) align.
  const decimals = magnitude < 10 ? 6 : magnitude < 100 ? 5 : 4;
  return value.toFixed(decimals);
}

/** A signed change (e.g. `-0.0123`, `+0.000045`) with enough decimals to show 2–3 significant digits. */
export function formatDelta(delta: number | null | undefined): string {
  if (delta === null || delta === undefined) return "";
  if (!Number.isFinite(delta)) return String(delta);
  if (delta === 0) return "±0";
  const magnitude = Math.abs(delta);
  if (magnitude < 1e-7) return (delta < 0 ? "-" : "+") + magnitude.toExponential(2);
  const decimals = clamp(Math.ceil(-Math.log10(magnitude)) + 1, 4, 8);
  const text = magnitude.toFixed(decimals);
  return (delta < 0 ? "-" : "+") + text;
}

/** Review flags as short labels for narrow views: "implausible score, slow evaluation". */
export function formatFlags(flags: readonly { kind: string }[] | null | undefined): string {
  return (flags ?? []).map((flag) => flag.kind.replace(/_/g, " ")).join(", ");
}

/** A percentage with one decimal, e.g. `25.0%`; "—" when the denominator is zero. */
export function formatPercent(numerator: number, denominator: number): string {
  if (denominator === 0) return "—";
  return `${((numerator / denominator) * 100).toFixed(1)}%`;
}

/** A wall-clock duration: `850ms`, `31.2s`, `5m02s`, `2h05m`. */
export function formatDuration(milliseconds: number): string {
  if (!Number.isFinite(milliseconds) || milliseconds < 0) return "—";
  if (milliseconds < 1000) return `${Math.round(milliseconds)}ms`;
  const tenths = Math.round(milliseconds / 100);
  // Compare after rounding so 59.96 s prints as 1m00s, not 60.0s.
  if (tenths < 600) return `${(tenths / 10).toFixed(1)}s`;
  const seconds = Math.round(milliseconds / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${pad2(seconds % 60)}s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}h${pad2(minutes % 60)}m`;
}

/** Experiments per hour, one decimal; "—" before any time has passed. */
export function formatRate(count: number, elapsedMilliseconds: number): string {
  if (elapsedMilliseconds <= 0) return "—";
  return `${(count / (elapsedMilliseconds / 3_600_000)).toFixed(1)}/h`;
}

/** One line of at most `width` characters: line breaks become spaces, overflow ends in "…". */
export function truncate(text: string, width: number): string {
  const flat = text.replace(/[\r\n\t]+/g, " ");
  if (!Number.isFinite(width)) return flat;
  const characters = Array.from(flat);
  if (characters.length <= width) return flat;
  if (width <= 0) return "";
  return characters.slice(0, width - 1).join("") + "…";
}

/** Pads to `width` visible characters (counting code points, not UTF-16 units). */
export function padEnd(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - visibleLength(text)));
}

export function padStart(text: string, width: number): string {
  return " ".repeat(Math.max(0, width - visibleLength(text))) + text;
}

export function visibleLength(text: string): number {
  return Array.from(stripAnsi(text)).length;
}

/** A bar of exactly `width` cells for a fraction in [0, 1] (values outside are clamped). */
export function progressBar(fraction: number, width: number): string {
  const cells = Math.max(0, Math.floor(width));
  const safe = Number.isFinite(fraction) ? clamp(fraction, 0, 1) : 0;
  const filled = Math.round(safe * cells);
  return "█".repeat(filled) + "░".repeat(cells - filled);
}

export type Colour = "green" | "red" | "yellow" | "magenta" | "cyan" | "gray" | "bold";

const colourCodes: Record<Colour, [number, number]> = {
  green: [32, 39],
  red: [31, 39],
  yellow: [33, 39],
  magenta: [35, 39],
  cyan: [36, 39],
  gray: [90, 39],
  bold: [1, 22],
};

/** Wraps text in an ANSI colour when enabled; returns it unchanged otherwise. */
export function paint(text: string, colour: Colour, enabled: boolean): string {
  if (!enabled) return text;
  const [open, close] = colourCodes[colour];
  return `\x1b[${open}m${text}\x1b[${close}m`;
}

// Matches CSI sequences (colours, cursor movement, clearing).
const ansiPattern = /\x1b\[[0-9;?]*[A-Za-z]/g;

export function stripAnsi(text: string): string {
  return text.replace(ansiPattern, "");
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

function pad2(value: number): string {
  return String(value).padStart(2, "0");
}
