// Document sources: the bundled Brown corpus, local text / JSONL / parquet files.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readBrownCorpus } from "../src/data/brown.ts";
import { readSource, type SourceContext } from "../src/data/sources.ts";
import { parseDataSpec, type SourceSpec } from "../src/data/spec.ts";
import { parquetFile } from "./helpers/gpt-data.ts";
import { tempDir } from "./helpers/ts-demo.ts";

const work = tempDir("data-sources");
after(() => work.cleanup());
const ctx: SourceContext = { projectDir: work.path, cacheDir: join(work.path, "cache"), log: () => {} };

async function read(source: Record<string, unknown>): Promise<string[]> {
  const spec = parseDataSpec({ data: { sources: [source] }, profiles: { p: { tokenizer: { type: "byte" }, context: 16, eval: { val_tokens: 1, test_tokens: 1 } } } });
  const documents: string[] = [];
  for await (const text of readSource(spec.data.sources[0] as SourceSpec, ctx)) documents.push(text);
  return documents;
}

test("the Brown corpus reads as 500 documents of plain English without tags", () => {
  const documents = readBrownCorpus();
  assert.equal(documents.length, 500);
  const text = documents.map((document) => document.text).join("\n");
  assert.doesNotMatch(text, /\w\/(at|nn|in|vbd|np)\b/, "part-of-speech tags left in the text");
  // '' after a digit is inches (4' 10''); anywhere else it would be an unjoined closing quote.
  assert.doesNotMatch(text, /``|(?<!\d)''| [.,;:?!](?= |$)/m, "quotes not rejoined or punctuation not attached");
  assert.match(text, /"[A-Z][^"\n]*[.,?!]"/, "no quoted speech found");
});

test("text files: one document per file, or split at a separator; directories are read in name order", async () => {
  mkdirSync(join(work.path, "texts"));
  writeFileSync(join(work.path, "texts", "b.txt"), "second file\n");
  writeFileSync(join(work.path, "texts", "a.txt"), "first file\n");
  writeFileSync(join(work.path, "texts", ".hidden"), "skipped\n");
  assert.deepEqual(await read({ type: "text", path: "texts" }), ["first file\n", "second file\n"]);
  writeFileSync(join(work.path, "stories.txt"), "Once.<|endoftext|>\nTwice.\n<|endoftext|><|endoftext|>Thrice.");
  assert.deepEqual(await read({ type: "text", path: join(work.path, "stories.txt"), separator: "<|endoftext|>" }), ["Once.", "Twice.", "Thrice."]);
  assert.deepEqual(await read({ type: "text", path: "texts", max_documents: 1 }), ["first file\n"]);
});

test("JSONL: the configured field of each line; a broken line is named with its number", async () => {
  writeFileSync(join(work.path, "docs.jsonl"), `{"text": "one"}\n\n{"text": "two", "id": 2}\n`);
  assert.deepEqual(await read({ type: "jsonl", path: "docs.jsonl" }), ["one", "two"]);
  writeFileSync(join(work.path, "content.jsonl"), `{"content": "a"}\n{"content": 5}\n`);
  await assert.rejects(read({ type: "jsonl", path: "content.jsonl", field: "content" }), /content\.jsonl:2: field "content" is a number/);
  writeFileSync(join(work.path, "broken.jsonl"), `{"text": "a"}\n{not json\n`);
  await assert.rejects(read({ type: "jsonl", path: "broken.jsonl" }), /broken\.jsonl:2: not valid JSON/);
});

test("parquet: plain and zstd-compressed pages, several row groups, a missing column named", async () => {
  const texts = Array.from({ length: 25 }, (_, i) => `row ${i}: ${"naïve ".repeat(i % 7)}`);
  mkdirSync(join(work.path, "shards"));
  writeFileSync(join(work.path, "shards", "part-0.parquet"), parquetFile(texts.slice(0, 12), { rowsPerGroup: 5 }));
  writeFileSync(join(work.path, "shards", "part-1.parquet"), parquetFile(texts.slice(12), { rowsPerGroup: 4, compression: "zstd" }));
  assert.deepEqual(await read({ type: "parquet", path: "shards" }), texts);
  await assert.rejects(read({ type: "parquet", path: "shards", column: "content" }), /has no column "content" \(it has text\)/);
});

test("a missing path and a bad source are reported with what to do", async () => {
  await assert.rejects(read({ type: "text", path: "nowhere.txt" }), /nowhere\.txt does not exist .*absolute path/);
  assert.throws(() => parseDataSpec({ data: { sources: [{ type: "web" }] }, profiles: {} }), /data\.sources\.0\.type/);
  assert.throws(
    () => parseDataSpec({ data: { sources: [{ type: "remote-parquet" }] }, profiles: { p: { tokenizer: { type: "byte" }, context: 16, eval: { val_tokens: 1, test_tokens: 1 } } } }),
    /needs "files" \(URLs\) or "url_template" with "indices"/,
  );
});
