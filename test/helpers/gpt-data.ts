// Fixtures for the data-preparation tests: a minimal parquet writer (one UTF-8 text column,
// PLAIN encoding, optionally zstd-compressed pages) and a file server on 127.0.0.1 that serves
// byte ranges and can drop connections in the middle of a body.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { zstdCompressSync } from "node:zlib";

/** Thrift compact protocol, just what parquet's footer and page headers need. */
class CompactWriter {
  private bytes: number[] = [];
  private lastField: number[] = [0];

  varint(value: bigint | number): this {
    let v = BigInt(value);
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
    return this;
  }

  private zigzag(value: number): bigint {
    const v = BigInt(value);
    return v >= 0n ? v << 1n : ((-v) << 1n) - 1n;
  }

  private field(id: number, type: number): void {
    const delta = id - this.lastField[this.lastField.length - 1];
    if (delta > 0 && delta <= 15) this.bytes.push((delta << 4) | type);
    else {
      this.bytes.push(type);
      this.varint(this.zigzag(id));
    }
    this.lastField[this.lastField.length - 1] = id;
  }

  i32(id: number, value: number): this {
    this.field(id, 5);
    return this.varint(this.zigzag(value));
  }

  i64(id: number, value: number): this {
    this.field(id, 6);
    return this.varint(this.zigzag(value));
  }

  binary(id: number, value: Uint8Array | string): this {
    this.field(id, 8);
    return this.rawBinary(value);
  }

  private rawBinary(value: Uint8Array | string): this {
    const data = typeof value === "string" ? Buffer.from(value, "utf8") : value;
    this.varint(data.length);
    for (const byte of data) this.bytes.push(byte);
    return this;
  }

  struct(id: number, body: (writer: this) => void): this {
    this.field(id, 12);
    return this.structBody(body);
  }

  private structBody(body: (writer: this) => void): this {
    this.lastField.push(0);
    body(this);
    this.bytes.push(0);
    this.lastField.pop();
    return this;
  }

  private listHeader(size: number, elementType: number): void {
    if (size < 15) this.bytes.push((size << 4) | elementType);
    else {
      this.bytes.push(0xf0 | elementType);
      this.varint(size);
    }
  }

  listI32(id: number, values: number[]): this {
    this.field(id, 9);
    this.listHeader(values.length, 5);
    for (const value of values) this.varint(this.zigzag(value));
    return this;
  }

  listBinary(id: number, values: string[]): this {
    this.field(id, 9);
    this.listHeader(values.length, 8);
    for (const value of values) this.rawBinary(value);
    return this;
  }

  listStruct<T>(id: number, items: T[], body: (writer: this, item: T) => void): this {
    this.field(id, 9);
    this.listHeader(items.length, 12);
    for (const item of items) this.structBody((writer) => body(writer, item));
    return this;
  }

  /** A top-level struct (no field header of its own). */
  static message(body: (writer: CompactWriter) => void): Buffer {
    const writer = new CompactWriter();
    body(writer);
    writer.bytes.push(0);
    return Buffer.from(writer.bytes);
  }
}

export interface ParquetOptions {
  column?: string;
  rowsPerGroup?: number;
  compression?: "none" | "zstd";
}

/** A parquet file with one required UTF-8 column holding `texts`. */
export function parquetFile(texts: string[], options: ParquetOptions = {}): Buffer {
  const column = options.column ?? "text";
  const rowsPerGroup = options.rowsPerGroup ?? texts.length;
  const codec = options.compression === "zstd" ? 6 : 0;
  const parts: Buffer[] = [Buffer.from("PAR1")];
  let offset = 4;
  const groups: Array<{ rows: number; offset: number; uncompressed: number; compressed: number }> = [];
  for (let start = 0; start < texts.length; start += rowsPerGroup) {
    const rows = texts.slice(start, start + rowsPerGroup);
    const values = Buffer.concat(rows.flatMap((text) => {
      const bytes = Buffer.from(text, "utf8");
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.length);
      return [length, bytes];
    }));
    const body = codec === 6 ? zstdCompressSync(values) : values;
    const header = CompactWriter.message((w) => {
      w.i32(1, 0).i32(2, values.length).i32(3, body.length)
        .struct(5, (page) => page.i32(1, rows.length).i32(2, 0).i32(3, 3).i32(4, 3));
    });
    groups.push({ rows: rows.length, offset, uncompressed: header.length + values.length, compressed: header.length + body.length });
    parts.push(header, body);
    offset += header.length + body.length;
  }
  const footer = CompactWriter.message((w) => {
    w.i32(1, 1)
      .listStruct(2, [null, column], (element, name) => {
        if (name === null) element.binary(4, "schema").i32(5, 1);
        else element.i32(1, 6).i32(3, 0).binary(4, name).i32(6, 0);
      })
      .i64(3, texts.length)
      .listStruct(4, groups, (group, info) => {
        group.listStruct(1, [info], (chunk, c) => {
          chunk.i64(2, c.offset).struct(3, (meta) => {
            meta.i32(1, 6).listI32(2, [0]).listBinary(3, [column]).i32(4, codec)
              .i64(5, c.rows).i64(6, c.uncompressed).i64(7, c.compressed).i64(9, c.offset);
          });
        }).i64(2, info.uncompressed).i64(3, info.rows);
      });
  });
  const length = Buffer.alloc(4);
  length.writeUInt32LE(footer.length);
  parts.push(footer, length, Buffer.from("PAR1"));
  return Buffer.concat(parts);
}

export interface FileServerOptions {
  files: Record<string, Buffer>;
  /** The first `drops` requests send only this many body bytes, then the connection is cut. */
  dropAfterBytes?: number;
  drops?: number;
  /** Answer every request with the whole file (200), as servers without Range support do. */
  ignoreRange?: boolean;
}

export interface FileServer {
  url(path: string): string;
  /** Each request: the path and its Range header. */
  requests: Array<{ path: string; range: string | undefined }>;
  close(): Promise<void>;
}

export async function startFileServer(options: FileServerOptions): Promise<FileServer> {
  const requests: FileServer["requests"] = [];
  let drops = options.drops ?? 0;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    requests.push({ path, range: request.headers.range });
    const file = options.files[path];
    if (!file) {
      response.writeHead(404).end("not found");
      return;
    }
    const match = /^bytes=(\d+)-$/.exec(request.headers.range ?? "");
    let body = file;
    if (match && !options.ignoreRange) {
      const start = Number(match[1]);
      if (start >= file.length) {
        response.writeHead(416, { "content-range": `bytes */${file.length}` }).end();
        return;
      }
      body = file.subarray(start);
      response.writeHead(206, { "content-length": body.length, "content-range": `bytes ${start}-${file.length - 1}/${file.length}`, "accept-ranges": "bytes" });
    } else {
      response.writeHead(200, { "content-length": body.length, "accept-ranges": "bytes" });
    }
    if (drops > 0 && options.dropAfterBytes !== undefined && options.dropAfterBytes < body.length) {
      drops--;
      // Send part of the body, then cut the connection: the client sees a truncated transfer.
      response.write(body.subarray(0, options.dropAfterBytes), () => response.socket?.destroy());
      return;
    }
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
