// The tokenizers of src/data: BPE trained in TypeScript, byte-level, and the byte-length table
// bits per byte is computed with.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChunkCounter, trainBpe } from "../src/data/bpe-train.ts";
import { readBrownCorpus } from "../src/data/brown.ts";
import { byteTokenizer, SPECIAL_TOKENS, Tokenizer } from "../src/data/tokenizer.ts";

const brown = readBrownCorpus();
const sample = brown.slice(0, 40).map((document) => document.text);
const tricky = [
  "Numbers: 1, 22, 333, 4444 and 2024-03-15.",
  "Ünïcödé — naïve café, 你好世界, emoji 🙂👍🏽 and tabs\tand\r\nCRLF",
  "  leading spaces, trailing spaces   \n\n\n  and blank lines",
  "It's, we'll, they've, I'M, you're, she'd",
  "",
];

function trained(vocabSize: number, texts = sample): Tokenizer {
  const counter = new ChunkCounter();
  for (const text of texts) counter.add(text);
  return trainBpe(counter, { vocabSize });
}

test("BPE trained on English round-trips any text, including text it never saw", () => {
  const tokenizer = trained(600);
  assert.equal(tokenizer.vocabSize, 600);
  assert.equal(tokenizer.merges.length, 600 - 256 - SPECIAL_TOKENS.length);
  for (const text of [...tricky, brown[300].text]) {
    const tokens = tokenizer.encode(text);
    assert.equal(tokenizer.decode(tokens), text);
    assert.ok(tokens.every((token) => token < tokenizer.bosId), "text never encodes to a special token");
  }
  // It compresses: English of a held-out document needs far fewer tokens than bytes.
  const held = brown[300].text;
  assert.ok(tokenizer.encode(held).length < 0.6 * Buffer.byteLength(held), "BPE should save at least 40% over bytes on English");
});

test("training is deterministic and learns frequent English pieces first", () => {
  const first = trained(400);
  const second = trained(400);
  assert.deepEqual(first.merges, second.merges);
  const learned = first.merges.slice(0, 40).map((_, index) => first.decode([256 + index]));
  assert.ok(learned.includes(" t") || learned.includes("th") || learned.includes(" th"), `first merges: ${JSON.stringify(learned)}`);
  assert.ok(learned.includes("e ") === false, "the split pattern keeps a space at the start of a word, never at the end");
});

test("numbers are split into runs of at most two digits, as the original", () => {
  const tokenizer = trained(2000, [...sample, "1234567890 ".repeat(500)]);
  assert.deepEqual(tokenizer.chunks("in 12345 days"), ["in", " ", "12", "34", "5", " days"]);
  for (const token of tokenizer.encode("12345 67 8")) {
    const text = tokenizer.decode([token]);
    assert.ok(!/\d{3}/.test(text), `token ${JSON.stringify(text)} holds three digits`);
  }
});

test("the byte-length table makes bits per byte exact: lengths sum to the UTF-8 size, specials count 0", () => {
  const tokenizer = trained(700);
  const lengths = tokenizer.byteLengths();
  assert.equal(lengths.length, tokenizer.vocabSize);
  for (const text of [...tricky, brown[7].text]) {
    const tokens = tokenizer.encode(text);
    assert.equal(tokens.reduce((sum, token) => sum + lengths[token], 0), Buffer.byteLength(text, "utf8"));
  }
  for (const [name, id] of Object.entries(tokenizer.specialTokens)) assert.equal(lengths[id], 0, `${name} must have byte length 0`);
  assert.equal(tokenizer.bosId, tokenizer.vocabSize - SPECIAL_TOKENS.length);
  assert.equal(tokenizer.decode([tokenizer.bosId, ...tokenizer.encode("ok")]), "ok");
});

test("a tokenizer file reloads to the same tokenizer", () => {
  const tokenizer = trained(500);
  const file = JSON.parse(JSON.stringify(tokenizer.toFile()));
  const reloaded = Tokenizer.fromFile(file);
  assert.deepEqual(reloaded.encode(brown[11].text), tokenizer.encode(brown[11].text));
  assert.deepEqual(file.token_byte_lengths, tokenizer.byteLengths());
  assert.throws(() => Tokenizer.fromFile({ ...file, format: "other/9" }), /unknown format/);
});

test("the byte-level tokenizer maps bytes to themselves and cuts at line ends", () => {
  const tokenizer = byteTokenizer();
  assert.equal(tokenizer.vocabSize, 256 + SPECIAL_TOKENS.length);
  assert.equal(tokenizer.bosId, 256);
  assert.deepEqual(tokenizer.encode("Aé\n"), [65, 0xc3, 0xa9, 10]);
  assert.deepEqual(tokenizer.chunks("one\ntwo\n\nthree"), ["one\n", "two\n", "\n", "three"]);
  assert.equal(tokenizer.decode(tokenizer.encode(tricky[1])), tricky[1]);
});

test("a vocabulary too small for the bytes and special tokens is refused with the minimum", () => {
  const counter = new ChunkCounter();
  counter.add("hello");
  assert.throws(() => trainBpe(counter, { vocabSize: 100 }), /at least 260 tokens/);
});
