// The whole preparation: splits, per-profile tokenizers, shards, evaluation rows, and a
// manifest whose checksums catch any change to the files.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { verifyDataDir } from "../src/data/index.ts";
import { prepareData, splitOf, type DataManifest } from "../src/data/prepare.ts";
import { parseDataSpec } from "../src/data/spec.ts";
import { Tokenizer } from "../src/data/tokenizer.ts";
import { REPO_ROOT, runNode, tempDir } from "./helpers/ts-demo.ts";

const SECRET = "5e".repeat(32);
const OTHER_SECRET = "a1".repeat(32);

const work = tempDir("data-prepare");
after(() => work.cleanup());

// 200 small documents with recognisable content, so splits and rows can be checked exactly.
const documents = Array.from({ length: 200 }, (_, i) => `Document ${i} begins.\n${"The quick brown fox jumps over the lazy dog. ".repeat(1 + (i % 5))}\nEnd of ${i}.\n`);
const spec = parseDataSpec({
  data: { sources: [{ type: "jsonl", path: "docs.jsonl" }], val_per_mille: 100, test_per_mille: 100 },
  profiles: {
    small: { tokenizer: { type: "bpe", vocab_size: 300 }, context: 32, eval: { val_tokens: 256, test_tokens: 128 } },
    bytes: { tokenizer: { type: "byte" }, context: 64, eval: { val_tokens: 100000, test_tokens: 100000 } },
  },
});
let manifest: DataManifest;
const dataDir = join(work.path, "data");

/** A token file as numbers (a copy, so the array starts at an aligned offset). */
function uint16(path: string): Uint16Array {
  return new Uint16Array(new Uint8Array(readFileSync(path)).buffer);
}

function prepare(into: string, splitSecret = SECRET) {
  return prepareData({ dataDir: into, spec, splitSecret, projectDir: work.path, cacheDir: join(work.path, "cache"), log: () => {} });
}

/** The documents (by number) a prepared profile's evaluation rows hold, read back from the byte-level rows. */
function documentsIn(dataDir: string, manifest: DataManifest, split: "val" | "test"): number[] {
  const tokens = uint16(join(dataDir, manifest.profiles.bytes[split].path));
  const text = Buffer.from(Array.from(tokens, (token) => (token < 256 ? token : 10))).toString("latin1");
  return [...new Set([...text.matchAll(/Document (\d+) begins/g)].map((match) => Number(match[1])))].sort((a, b) => a - b);
}

before(async () => {
  writeFileSync(join(work.path, "docs.jsonl"), documents.map((text) => JSON.stringify({ text })).join("\n"));
  manifest = await prepare(dataDir);
});

test("documents go to splits by the keyed hash, spread over the data, the same every time", () => {
  const splits = documents.map((text) => splitOf(text, SECRET, 100, 100));
  const count = (split: string) => splits.filter((s) => s === split).length;
  assert.deepEqual(manifest.documents, { train: count("train"), val: count("val"), test: count("test") });
  assert.ok(count("val") >= 10 && count("val") <= 30 && count("test") >= 10 && count("test") <= 30, "about 100 per mille each");
  // Spread, not a block: validation documents come from all over the corpus.
  const valIndices = splits.flatMap((split, index) => (split === "val" ? [index] : []));
  for (let quarter = 0; quarter < 4; quarter++) {
    assert.ok(valIndices.some((index) => Math.floor(index / 50) === quarter), `no validation document in quarter ${quarter + 1}: ${valIndices}`);
  }
});

test("every file is in the manifest with its SHA-256, and a second preparation writes identical bytes", async () => {
  for (const [path, record] of Object.entries(manifest.files)) {
    const content = readFileSync(join(dataDir, path));
    assert.equal(record.bytes, content.length);
    assert.equal(record.sha256, createHash("sha256").update(content).digest("hex"), path);
  }
  assert.deepEqual(Object.keys(manifest.files).sort(), [
    "bytes/test.bin", "bytes/tokenizer.json", "bytes/train_000.bin", "bytes/val.bin",
    "small/test.bin", "small/tokenizer.json", "small/train_000.bin", "small/val.bin",
  ]);
  const again = await prepare(join(work.path, "data-again"));
  assert.deepEqual(again, manifest);
});

test("train shards hold only train documents, each piece led by BOS, and decode back to the text", () => {
  const data = manifest.profiles.small;
  const tokenizer = Tokenizer.fromFile(JSON.parse(readFileSync(join(dataDir, data.tokenizer), "utf8")));
  assert.equal(tokenizer.vocabSize, 300);
  const tokens = uint16(join(dataDir, data.train.shards[0].path));
  assert.equal(tokens.length, data.train.tokens);
  assert.equal(tokens[0], tokenizer.bosId);
  const text = tokenizer.decode(tokens);
  const trainTexts = documents.filter((text) => splitOf(text, SECRET, 100, 100) === "train");
  assert.equal(text, trainTexts.join(""));
  const valIndex = documents.findIndex((text) => splitOf(text, SECRET, 100, 100) === "val");
  assert.ok(!text.includes(`Document ${valIndex} begins.`), "a validation document leaked into the train shard");
});

test("evaluation rows: context + 1 tokens each, BOS first, capped by the profile's token budget", () => {
  const small = manifest.profiles.small;
  assert.equal(small.val.row_tokens, 33);
  assert.equal(small.val.rows, 256 / 32);
  assert.equal(small.test.rows, 128 / 32);
  const rows = uint16(join(dataDir, small.val.path));
  assert.equal(rows.length, small.val.rows * 33);
  for (let row = 0; row < small.val.rows; row++) assert.equal(rows[row * 33], small.bos_id);
  // The byte-level profile asked for more than the split holds: every row it could fill.
  const bytes = manifest.profiles.bytes;
  assert.equal(bytes.vocab_size, 260);
  assert.ok(bytes.val.rows > 10 && bytes.val.rows * 64 < 100000);
  const lengths = JSON.parse(readFileSync(join(dataDir, small.tokenizer), "utf8")).token_byte_lengths as number[];
  let targetBytes = 0;
  for (let row = 0; row < small.val.rows; row++) for (let i = 1; i < 33; i++) targetBytes += lengths[rows[row * 33 + i]];
  assert.equal(small.val.target_bytes, targetBytes);
});

test("verifyDataDir finds a changed shard, a changed tokenizer, and a missing file", async () => {
  assert.deepEqual(await verifyDataDir(dataDir), []);
  const copy = join(work.path, "data-again");
  appendFileSync(join(copy, "small", "val.bin"), Buffer.from([1, 0]));
  const tokenizerPath = join(copy, "bytes", "tokenizer.json");
  writeFileSync(tokenizerPath, readFileSync(tokenizerPath, "utf8").replace('"bos_id":256', '"bos_id":255'));
  writeFileSync(join(copy, "small", "test.bin"), Buffer.alloc(0));
  assert.deepEqual(await verifyDataDir(copy), ["changed: bytes/tokenizer.json", "changed: small/test.bin", "changed: small/val.bin"]);
});

test("a split left empty is an error that says which setting to change", async () => {
  const none = parseDataSpec({ ...spec, data: { ...spec.data, val_per_mille: 0 } });
  await assert.rejects(
    prepareData({ dataDir: join(work.path, "data-none"), spec: none, splitSecret: SECRET, projectDir: work.path, cacheDir: join(work.path, "cache"), log: () => {} }),
    /the val split is empty; add data or raise val_per_mille/,
  );
});

test("another split secret puts other documents in validation and test; the same secret the same ones", async () => {
  const ownVal = documentsIn(dataDir, manifest, "val");
  const ownTest = documentsIn(dataDir, manifest, "test");
  assert.ok(ownVal.length >= 10 && ownTest.length >= 10, `rows hold ${ownVal.length} validation and ${ownTest.length} test documents`);
  const otherDir = join(work.path, "data-other-secret");
  const other = await prepare(otherDir, OTHER_SECRET);
  const otherVal = documentsIn(otherDir, other, "val");
  const otherTest = documentsIn(otherDir, other, "test");
  assert.notDeepEqual(otherVal, ownVal);
  assert.notDeepEqual(otherTest, ownTest);
  // Not a shifted copy either: most held-out documents of one secret are training documents under the other.
  const shared = ownVal.filter((index) => otherVal.includes(index) || otherTest.includes(index)).length;
  assert.ok(shared <= ownVal.length / 2, `${shared} of ${ownVal.length} validation documents are held out under both secrets`);
  // What the source alone gives (the order, an index rule, a guess at the secret) does not reproduce it.
  const guesses = ["", "0".repeat(64), "autoresearch"].map((guess) => documents.flatMap((text, index) => (splitOf(text, guess, 100, 100) === "val" ? [index] : [])));
  for (const guess of guesses) assert.notDeepEqual(guess, documents.flatMap((text, index) => (splitOf(text, SECRET, 100, 100) === "val" ? [index] : [])));
});

test("prepare without AUTORESEARCH_SPLIT_SECRET fails and says how to get one", async () => {
  const into = join(work.path, "data-no-secret");
  const env: Record<string, string> = { AUTORESEARCH_DATA_DIR: into };
  const saved = process.env.AUTORESEARCH_SPLIT_SECRET;
  delete process.env.AUTORESEARCH_SPLIT_SECRET;
  try {
    const result = await runNode(join(REPO_ROOT, "templates", "gpt"), ["prepare.ts"], env, 60_000);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /AUTORESEARCH_SPLIT_SECRET is not set.*autoresearch run.*openssl rand -hex 32/s);
  } finally {
    if (saved !== undefined) process.env.AUTORESEARCH_SPLIT_SECRET = saved;
  }
  await assert.rejects(prepareData({ dataDir: into, spec, splitSecret: "short", projectDir: work.path, cacheDir: join(work.path, "cache"), log: () => {} }), /split secret has 5 characters; expected at least 32/);
});
