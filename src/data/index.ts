// Data preparation for language-model workloads (the GPT template's prepare.ts imports this
// from the autoresearch installation through AUTORESEARCH_HOME).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DATA_FORMAT, MANIFEST_FILE, prepareData, type DataManifest } from "./prepare.ts";
import { verifyFiles } from "./shards.ts";
import { defaultCacheDir } from "./sources.ts";
import { readDataSpec } from "./spec.ts";
import { ENV_SPLIT_SECRET } from "../project/contract.ts";

export { ChunkCounter, trainBpe } from "./bpe-train.ts";
export { brownToText, findBrownCorpus, readBrownCorpus } from "./brown.ts";
export { download, DownloadError, sha256File, type DownloadOptions, type DownloadResult } from "./download.ts";
export { documentPieces, packRows } from "./packing.ts";
export { DATA_FORMAT, MANIFEST_FILE, MIN_SPLIT_SECRET_LENGTH, prepareData, splitOf, type DataManifest, type PrepareOptions, type ProfileData } from "./prepare.ts";
export { dtypeFor, ShardWriter, verifyFiles } from "./shards.ts";
export { defaultCacheDir, expandTemplate, parquetDocuments, readSource } from "./sources.ts";
export { parseDataSpec, readDataSpec, type DataSpec, type SourceSpec } from "./spec.ts";
export { byteTokenizer, SPECIAL_TOKENS, SPLIT_PATTERN, Tokenizer, type TokenizerFile } from "./tokenizer.ts";

const MISSING_SPLIT_SECRET =
  `prepare: ${ENV_SPLIT_SECRET} is not set. Documents are assigned to train/validation/test by a keyed hash, so that the ` +
  "held-out rows cannot be rebuilt from the public source; `autoresearch run` draws the key once per project " +
  "(.autoresearch/split-secret) and hands it to prepare. To prepare by hand, set it yourself, e.g. " +
  `${ENV_SPLIT_SECRET}=$(openssl rand -hex 32) (the splits then differ from the harness's).`;

/**
 * What a template's `node prepare.ts` calls: prepares into $AUTORESEARCH_DATA_DIR from the
 * given constants file. Returns the process exit code; problems are printed as one clear line.
 */
export async function runPrepare(constantsPath: string, projectDir = process.cwd()): Promise<number> {
  const dataDir = process.env.AUTORESEARCH_DATA_DIR;
  if (!dataDir) {
    console.error("prepare: AUTORESEARCH_DATA_DIR is not set; run it through `autoresearch run`, or set it to the directory to write the data into.");
    return 1;
  }
  const splitSecret = process.env[ENV_SPLIT_SECRET];
  if (!splitSecret) {
    console.error(MISSING_SPLIT_SECRET);
    return 1;
  }
  try {
    const spec = readDataSpec(constantsPath);
    const started = performance.now();
    await prepareData({ dataDir, spec, splitSecret, projectDir, cacheDir: defaultCacheDir(), log: (line) => console.log(line) });
    console.log(`prepare: wrote ${dataDir}/${MANIFEST_FILE} (${((performance.now() - started) / 1000).toFixed(1)}s)`);
    return 0;
  } catch (error) {
    console.error(`prepare: ${(error as Error).message}`);
    return 1;
  }
}

/** Problems with a prepared data directory ("changed: cpu/val.bin", ...); empty when it matches its manifest. */
export async function verifyDataDir(dataDir: string): Promise<string[]> {
  let manifest: DataManifest;
  try {
    manifest = JSON.parse(readFileSync(join(dataDir, MANIFEST_FILE), "utf8")) as DataManifest;
  } catch (error) {
    return [`unreadable: ${MANIFEST_FILE} (${(error as Error).message})`];
  }
  if (manifest.format !== DATA_FORMAT) return [`${MANIFEST_FILE} has format ${JSON.stringify(manifest.format)}, expected ${DATA_FORMAT}`];
  return verifyFiles(dataDir, manifest.files);
}
