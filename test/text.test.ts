// The one sanitiser for text that workloads and proposers wrote: nothing that acts on a terminal survives.
import assert from "node:assert/strict";
import { test } from "node:test";
import { safeJson, safeLine, safeText, visibleControl } from "../src/text/safe-text.ts";

/** Every character a terminal or a bidi-aware renderer acts on, except newline and tab. */
const ACTIVE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

test("safeText: escape sequences, C0, DEL, C1 and bidi controls become visible stand-ins; newlines and tabs stay", () => {
  const diff = "+x = 1\x1b[2K\x1b[1A\r-secret line\n+\tprint('\x1b]0;pwned\x07')\x7f\x9b31m\u202eevil\u202c\u2066iso\u2069\x00";
  const shown = safeText(diff);
  assert.doesNotMatch(shown, ACTIVE);
  assert.equal(shown, "+x = 1␛[2K␛[1A␍-secret line\n+\tprint('␛]0;pwned␇')␡⟨U+009B⟩31m⟨U+202E⟩evil⟨U+202C⟩⟨U+2066⟩iso⟨U+2069⟩␀");
  // Nothing is lost: a reader sees that the sequence was there.
  assert.ok(shown.includes("-secret line"));
});

test("safeText: ordinary text, including non-Latin scripts and emoji, is unchanged", () => {
  const text = "val_bpb 1.93 → 1.90 · σ ≈ 0.004\nüber 日本語 עברית 🙂\ttab";
  assert.equal(safeText(text), text);
});

test("safeLine: line breaks and tabs become spaces, so one field cannot fake another line", () => {
  assert.equal(safeLine("lr 0.04\r\n#9 keep 0.0001\nfake\tcell\u2028x"), "lr 0.04 #9 keep 0.0001 fake cell x");
  assert.equal(safeLine("a\rb"), "a b");
  assert.doesNotMatch(safeLine("\x1b[31mred\x1b[0m\v\f"), ACTIVE);
  assert.equal(safeLine("\x1b[31mred"), "␛[31mred");
});

test("visibleControl: control pictures for C0 and DEL, code points for the rest", () => {
  assert.equal(visibleControl("\x1b"), "␛");
  assert.equal(visibleControl("\x00"), "␀");
  assert.equal(visibleControl("\x7f"), "␡");
  assert.equal(visibleControl("\x85"), "⟨U+0085⟩");
  assert.equal(visibleControl("\u2067"), "⟨U+2067⟩");
});

test("safeJson: the same value to a JSON reader, with nothing a terminal acts on in the text", () => {
  const value = { description: "x\x1b[2J\u202eevil\x9b\u2028", nested: [{ line: "a\x07b\x7f" }] };
  const json = safeJson(value);
  assert.doesNotMatch(json, ACTIVE);
  assert.doesNotMatch(json, /[\u2028\u2029]/);
  assert.deepEqual(JSON.parse(json), value);
  assert.deepEqual(JSON.parse(safeJson(value, 2)), value);
  assert.equal(safeJson({ plain: "ok" }), JSON.stringify({ plain: "ok" }));
});
