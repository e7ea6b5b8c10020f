// Text that a workload or a proposer wrote (diffs, descriptions, reasons, metric names, notes, log
// lines) is shown to people and to models only through these functions. Control characters could
// otherwise move the cursor, clear lines, recolour or retitle a terminal, or (bidi overrides) make a
// diff read differently from what it does. Nothing is dropped silently: every such character
// becomes a visible stand-in, so an escape sequence shows as "␛[2K" and a reader sees the attempt.

/**
 * C0 controls, DEL, C1 controls, and the Unicode bidi embeddings, overrides and isolates
 * (U+202A–U+202E, U+2066–U+2069). Newline and tab are decided by the caller.
 */
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_OR_BREAK = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/**
 * The visible stand-in of one unsafe character: C0 and DEL as their Unicode control pictures
 * (ESC → ␛, CR → ␍, BEL → ␇, DEL → ␡), everything else as ⟨U+XXXX⟩ (e.g. ⟨U+202E⟩, ⟨U+009B⟩).
 */
export function visibleControl(character: string): string {
  const code = character.charCodeAt(0);
  if (code < 0x20) return String.fromCharCode(0x2400 + code);
  if (code === 0x7f) return "\u2421";
  return `⟨U+${code.toString(16).toUpperCase().padStart(4, "0")}⟩`;
}

/** Multi-line text (a diff, a log tail, notes.md): newlines and tabs stay, every other control character is made visible. */
export function safeText(text: string): string {
  return text.replace(UNSAFE, visibleControl);
}

// Colour and style (SGR: ESC [ ... m) is the one escape that ordinary training output is full of
// (progress bars, coloured logs); in a log it is dropped rather than shown. It moves nothing, but it
// could hide text (conceal, black on black), so it never reaches a view either way.
const STYLING = /\x1b\[[0-9;:]*m/g;

/** A log's text: styling dropped, every other control character made visible (safeText). */
export function safeLogText(text: string): string {
  return safeText(text.replace(STYLING, ""));
}

/** One line (a table cell, a header field): line breaks and tabs become a space, other control characters visible. */
export function safeLine(text: string): string {
  return text.replace(/\r\n|[\r\n\t\u2028\u2029]/g, " ").replace(UNSAFE_OR_BREAK, visibleControl);
}

/** True when `text` holds a character `safeText` would replace. */
export function hasUnsafeCharacters(text: string): boolean {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text);
}

// JSON escapes C0 controls itself; these it leaves raw, and a terminal or a browser acts on them.
const JSON_UNSAFE = /[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON.stringify, with DEL, C1 controls, bidi controls and the line/paragraph separators written as
 * \uXXXX escapes: the same value to any JSON reader, inert on a terminal (`--json` outputs).
 */
export function safeJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(JSON_UNSAFE, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
