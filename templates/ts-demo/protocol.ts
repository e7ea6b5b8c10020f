// Protected: the wire format between the scorer (evaluate.ts) and a model server (serve.ts).
// Binary, little-endian, length-framed; one server answers one request at a time, in order.
//
//   greeting (server -> scorer, once): u32 GREETING, f64 the model's parameter count (NaN if it gives none)
//   request  (scorer -> server):       u32 rows, u32 cols, then rows*cols bytes (row-major)
//   answer   (server -> scorer):       u32 rows, u32 cols, u32 vocab, then rows*cols*vocab float32:
//                                       answer[r][c][v] = ln p(byte v at column c | columns 0..c-1 of row r)
//   end of the request stream: the server exits.
//
// The scorer checks every answer itself (shape, finite, normalised) and trusts nothing else in it.
import type { Readable } from "node:stream";

export const GREETING = 0x31534454; // "TDS1"
export const GREETING_BYTES = 12;
export const REQUEST_HEADER_BYTES = 8;
export const ANSWER_HEADER_BYTES = 12;

/** Reads exact byte counts from a stream, holding at most a bounded amount ahead of the reader. */
export class ByteReader {
  readonly #stream: Readable;
  readonly #highWaterBytes: number;
  readonly #chunks: Buffer[] = [];
  #buffered = 0;
  #ended = false;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(stream: Readable, highWaterBytes = 16 * 1024 * 1024) {
    this.#stream = stream;
    this.#highWaterBytes = highWaterBytes;
    stream.on("data", (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered > this.#highWaterBytes) stream.pause();
      this.#wake?.();
    });
    stream.on("end", () => this.#finish());
    stream.on("close", () => this.#finish());
    stream.on("error", (error: Error) => this.#finish(error));
  }

  #finish(error?: Error): void {
    this.#ended = true;
    this.#failure ??= error;
    this.#wake?.();
  }

  /** The next `length` bytes, or null when the stream ended first (an error counts as an end). */
  async read(length: number): Promise<Buffer | null> {
    while (this.#buffered < length) {
      if (this.#ended) return null;
      if (this.#stream.isPaused()) this.#stream.resume();
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
    const all = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks);
    const taken = all.subarray(0, length);
    const rest = all.subarray(length);
    this.#chunks.length = 0;
    if (rest.length > 0) this.#chunks.push(rest);
    this.#buffered = rest.length;
    if (this.#buffered <= this.#highWaterBytes && this.#stream.isPaused()) this.#stream.resume();
    return taken;
  }

  /** Why the stream ended, if it failed. */
  get failure(): Error | undefined {
    return this.#failure;
  }
}
