// Binary token files and the manifest that lists every file with its SHA-256. Token files are
// raw little-endian uint16 (vocabularies up to 65,536) or uint32, with no header: numpy reads
// them with np.fromfile / np.memmap and the dtype recorded in the manifest.
import { createHash } from "node:crypto";
import { appendFileSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256File } from "./download.ts";

export type TokenDtype = "uint16" | "uint32";

export function dtypeFor(vocabSize: number): TokenDtype {
  return vocabSize <= 65_536 ? "uint16" : "uint32";
}

export function tokenBytes(tokens: ArrayLike<number>, dtype: TokenDtype): Buffer {
  const array = dtype === "uint16" ? Uint16Array.from(tokens) : Uint32Array.from(tokens);
  // Typed arrays use the platform's byte order; every platform Node and PyTorch run on is little-endian.
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

export interface ShardInfo {
  path: string;
  tokens: number;
  pieces: number;
}

/** Appends pieces to numbered shard files (`<prefix>_000.bin`, ...), starting a new one after `shardTokens`. */
export class ShardWriter {
  readonly shards: ShardInfo[] = [];
  private pending: number[] = [];
  private current: ShardInfo | null = null;
  private readonly dataDir: string;
  private readonly prefix: string;
  private readonly dtype: TokenDtype;
  private readonly shardTokens: number;

  constructor(dataDir: string, prefix: string, dtype: TokenDtype, shardTokens: number) {
    this.dataDir = dataDir;
    this.prefix = prefix;
    this.dtype = dtype;
    this.shardTokens = shardTokens;
  }

  add(piece: ArrayLike<number>): void {
    if (!this.current || (this.current.tokens > 0 && this.current.tokens + piece.length > this.shardTokens)) this.startShard();
    const shard = this.current!;
    for (let i = 0; i < piece.length; i++) this.pending.push(piece[i]);
    shard.tokens += piece.length;
    shard.pieces++;
    if (this.pending.length >= 1 << 20) this.flush();
  }

  finish(): ShardInfo[] {
    this.flush();
    return this.shards;
  }

  private startShard(): void {
    this.flush();
    this.current = { path: `${this.prefix}_${String(this.shards.length).padStart(3, "0")}.bin`, tokens: 0, pieces: 0 };
    this.shards.push(this.current);
    writeFileSync(join(this.dataDir, this.current.path), new Uint8Array(0));
  }

  private flush(): void {
    if (!this.current || this.pending.length === 0) return;
    appendFileSync(join(this.dataDir, this.current.path), tokenBytes(this.pending, this.dtype));
    this.pending = [];
  }
}

export interface FileRecord {
  sha256: string;
  bytes: number;
}

/** SHA-256 and size of each file (paths relative to dataDir). */
export async function recordFiles(dataDir: string, paths: string[]): Promise<Record<string, FileRecord>> {
  const files: Record<string, FileRecord> = {};
  for (const path of [...paths].sort()) {
    files[path] = { sha256: await sha256File(join(dataDir, path)), bytes: statSync(join(dataDir, path)).size };
  }
  return files;
}

/** Paths whose content no longer matches the manifest's record, as "changed: x" / "missing: y". */
export async function verifyFiles(dataDir: string, files: Record<string, FileRecord>): Promise<string[]> {
  const problems: string[] = [];
  for (const [path, record] of Object.entries(files)) {
    let content: Buffer;
    try {
      content = readFileSync(join(dataDir, path));
    } catch {
      problems.push(`missing: ${path}`);
      continue;
    }
    if (content.length !== record.bytes || createHash("sha256").update(content).digest("hex") !== record.sha256) problems.push(`changed: ${path}`);
  }
  return problems;
}
