// The whole data preparation of the GPT template: read the sources, assign documents to
// train/val/test splits by a keyed hash (the project's split secret), train each profile's tokenizer on the train split, write train shards
// and packed evaluation rows per profile, and a manifest with the SHA-256 of every file.
import { createHmac } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ChunkCounter, trainBpe } from "./bpe-train.ts";
import { documentPieces, packRows } from "./packing.ts";
import { ShardWriter, dtypeFor, recordFiles, tokenBytes, type FileRecord, type ShardInfo, type TokenDtype } from "./shards.ts";
import { readSource, type SourceContext } from "./sources.ts";
import type { DataSpec, ProfileSpec, Split, TokenizerSpec } from "./spec.ts";
import { byteTokenizer, SPLIT_PATTERN, type Tokenizer } from "./tokenizer.ts";

export const MANIFEST_FILE = "manifest.json";
export const DATA_FORMAT = "autoresearch-gpt-data/1";

export interface EvalRowsInfo {
  path: string;
  rows: number;
  row_tokens: number;
  /** UTF-8 bytes the rows' targets stand for (what bits per byte divides by). */
  target_bytes: number;
}

export interface ProfileData {
  tokenizer: string;
  tokenizer_type: "byte" | "bpe";
  vocab_size: number;
  bos_id: number;
  context: number;
  dtype: TokenDtype;
  train: { shards: ShardInfo[]; tokens: number; pieces: number };
  val: EvalRowsInfo;
  test: EvalRowsInfo;
}

export interface DataManifest {
  format: string;
  sources: DataSpec["data"]["sources"];
  downloads: Record<string, FileRecord>;
  documents: Record<Split, number>;
  profiles: Record<string, ProfileData>;
  files: Record<string, FileRecord>;
}

export interface PrepareOptions extends SourceContext {
  dataDir: string;
  spec: DataSpec;
  /** The project's split secret (AUTORESEARCH_SPLIT_SECRET): keys the train/val/test assignment. */
  splitSecret: string;
}

/** A split secret shorter than this is refused (the harness hands 64 hex digits). */
export const MIN_SPLIT_SECRET_LENGTH = 32;

/**
 * Which split a document goes to: HMAC-SHA256 keyed by the split secret over the document's text,
 * read as a uniform number in [0, 1000). Without the secret the assignment cannot be recomputed
 * from the source; the same text always lands in the same split, so exact duplicates never
 * straddle train and held-out.
 */
export function splitOf(text: string, splitSecret: string, valPerMille: number, testPerMille: number): Split {
  const digest = createHmac("sha256", splitSecret).update(text).digest();
  const point = (digest.readUIntBE(0, 6) / 2 ** 48) * 1000;
  return point < valPerMille ? "val" : point < valPerMille + testPerMille ? "test" : "train";
}

/** Every document with its split, in a fixed order. */
async function* splitDocuments(options: PrepareOptions): AsyncGenerator<{ text: string; split: Split }> {
  const { val_per_mille: val, test_per_mille: test } = options.spec.data;
  for (const source of options.spec.data.sources) {
    for await (const text of readSource(source, options)) {
      yield { text, split: source.split ?? splitOf(text, options.splitSecret, val, test) };
    }
  }
}

export async function prepareData(options: PrepareOptions): Promise<DataManifest> {
  const { dataDir, spec, log } = options;
  if (options.splitSecret.length < MIN_SPLIT_SECRET_LENGTH) {
    throw new Error(`the split secret has ${options.splitSecret.length} characters; expected at least ${MIN_SPLIT_SECRET_LENGTH} (the harness hands 64 hex digits)`);
  }
  mkdirSync(dataDir, { recursive: true });
  options.downloaded ??= new Map();

  // Pass 1: count documents per split and, for BPE profiles, the train split's chunks.
  const needsBpe = Object.values(spec.profiles).some((profile) => profile.tokenizer.type === "bpe");
  const counter = new ChunkCounter(SPLIT_PATTERN);
  const documents: Record<Split, number> = { train: 0, val: 0, test: 0 };
  let started = performance.now();
  for await (const { text, split } of splitDocuments(options)) {
    documents[split]++;
    if (needsBpe && split === "train" && counter.characters < spec.data.tokenizer_training_chars) {
      counter.add(text.slice(0, spec.data.tokenizer_document_chars));
    }
  }
  log(`prepare: ${documents.train} train, ${documents.val} validation, ${documents.test} test documents (${seconds(started)})`);
  for (const split of ["train", "val", "test"] as const) {
    if (documents[split] === 0) throw new Error(`the ${split} split is empty; add data or raise ${split === "train" ? "the sources" : `${split}_per_mille`} in constants.json`);
  }

  const tokenizers = new Map<string, Tokenizer>();
  const tokenizerFor = (tokenizerSpec: TokenizerSpec): Tokenizer => {
    const key = JSON.stringify(tokenizerSpec);
    let tokenizer = tokenizers.get(key);
    if (!tokenizer) {
      started = performance.now();
      tokenizer = tokenizerSpec.type === "byte" ? byteTokenizer() : trainBpe(counter, { vocabSize: tokenizerSpec.vocab_size });
      if (tokenizerSpec.type === "bpe") {
        log(`prepare: trained a BPE tokenizer of ${tokenizer.vocabSize} tokens on ${counter.characters} characters (${seconds(started)})`);
      }
      tokenizers.set(key, tokenizer);
    }
    return tokenizer;
  };

  const profiles: Record<string, ProfileData> = {};
  const written: string[] = [];
  for (const [name, profile] of Object.entries(spec.profiles)) {
    started = performance.now();
    const tokenizer = tokenizerFor(profile.tokenizer);
    profiles[name] = await writeProfile(options, name, profile, tokenizer, written);
    const data = profiles[name];
    log(
      `prepare: profile ${name}: vocabulary ${data.vocab_size}, context ${data.context}; train ${data.train.tokens} tokens in ${data.train.shards.length} shard(s); ` +
        `validation ${data.val.rows} rows, test ${data.test.rows} rows (${seconds(started)})`,
    );
  }

  const manifest: DataManifest = {
    format: DATA_FORMAT,
    sources: spec.data.sources,
    downloads: Object.fromEntries(options.downloaded),
    documents,
    profiles,
    files: await recordFiles(dataDir, written),
  };
  writeFileSync(join(dataDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}

async function writeProfile(options: PrepareOptions, name: string, profile: ProfileSpec, tokenizer: Tokenizer, written: string[]): Promise<ProfileData> {
  const { dataDir, spec } = options;
  mkdirSync(join(dataDir, name), { recursive: true });
  const tokenizerPath = `${name}/tokenizer.json`;
  writeFileSync(join(dataDir, tokenizerPath), `${JSON.stringify(tokenizer.toFile())}\n`);
  written.push(tokenizerPath);

  const dtype = dtypeFor(tokenizer.vocabSize);
  const rowLength = profile.context + 1;
  const train = new ShardWriter(dataDir, `${name}/train`, dtype, spec.data.shard_tokens);
  // Evaluation keeps only what its rows need (with room for best-fit to choose from).
  const held: Record<"val" | "test", { pieces: Uint32Array[]; tokens: number; cap: number }> = {
    val: { pieces: [], tokens: 0, cap: 2 * profile.eval.val_tokens + 1000 * rowLength },
    test: { pieces: [], tokens: 0, cap: 2 * profile.eval.test_tokens + 1000 * rowLength },
  };
  let trainTokens = 0;
  let trainPieces = 0;
  for await (const { text, split } of splitDocuments(options)) {
    if (split !== "train" && held[split].tokens >= held[split].cap) continue;
    for (const piece of documentPieces(tokenizer, text, rowLength)) {
      if (split === "train") {
        train.add(piece);
        trainTokens += piece.length;
        trainPieces++;
      } else {
        held[split].pieces.push(piece);
        held[split].tokens += piece.length;
      }
    }
  }
  const shards = train.finish();
  written.push(...shards.map((shard) => shard.path));

  const lengths = tokenizer.byteLengths();
  const evalRows = (split: "val" | "test", tokens: number): EvalRowsInfo => {
    const maxRows = Math.max(1, Math.floor(tokens / profile.context));
    const rows = packRows(held[split].pieces, { rowLength, maxRows });
    if (rows.length === 0) throw new Error(`profile ${name}: the ${split} split holds too little text for one row of ${rowLength} tokens; add data or raise ${split}_per_mille`);
    const flat = new Uint32Array(rows.length * rowLength);
    rows.forEach((row, index) => flat.set(row, index * rowLength));
    let targetBytes = 0;
    for (const row of rows) for (let i = 1; i < row.length; i++) targetBytes += lengths[row[i]];
    const path = `${name}/${split}.bin`;
    writeFileSync(join(dataDir, path), tokenBytes(flat, dtype));
    written.push(path);
    return { path, rows: rows.length, row_tokens: rowLength, target_bytes: targetBytes };
  };
  return {
    tokenizer: tokenizerPath, tokenizer_type: tokenizer.type, vocab_size: tokenizer.vocabSize, bos_id: tokenizer.bosId,
    context: profile.context, dtype,
    train: { shards, tokens: trainTokens, pieces: trainPieces },
    val: evalRows("val", profile.eval.val_tokens),
    test: evalRows("test", profile.eval.test_tokens),
  };
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)}s`;
}
