// A size cap for the log of one command: a workload that prints 200 MB must not make a 200 MB log
// (or fill the disk overnight). The head is written as it comes, the tail is held in a bounded
// rolling buffer and written when the command ends, with one line saying what was cut between.
import type { WriteStream } from "node:fs";

/** What is kept of one command's output: its first and its last bytes. */
export const LOG_HEAD_BYTES = 2 * 1024 * 1024;
export const LOG_TAIL_BYTES = 2 * 1024 * 1024;

export interface LogCap {
  headBytes: number;
  tailBytes: number;
}

export class CappedLog {
  readonly #stream: WriteStream;
  readonly #cap: LogCap;
  #headBytes = 0;
  #headFull = false;
  // The rolling tail: lines from #tailStart on, #tailBytes in all (each with its newline).
  #tail: string[] = [];
  #tailStart = 0;
  #tailBytes = 0;
  #cutBytes = 0;
  #cutLines = 0;

  constructor(stream: WriteStream, cap: LogCap = { headBytes: LOG_HEAD_BYTES, tailBytes: LOG_TAIL_BYTES }) {
    this.#stream = stream;
    this.#cap = cap;
  }

  /** Adds one line (without its newline). False when the stream asks the writer to wait for "drain". */
  write(line: string): boolean {
    const text = `${line}\n`;
    const bytes = Buffer.byteLength(text);
    if (!this.#headFull && this.#headBytes + bytes <= this.#cap.headBytes) {
      this.#headBytes += bytes;
      return this.#stream.write(text);
    }
    this.#headFull = true;
    this.#tail.push(text);
    this.#tailBytes += bytes;
    while (this.#tailBytes > this.#cap.tailBytes && this.#tailStart < this.#tail.length) {
      const dropped = this.#tail[this.#tailStart]!;
      this.#tail[this.#tailStart] = "";
      this.#tailStart += 1;
      const droppedBytes = Buffer.byteLength(dropped);
      this.#tailBytes -= droppedBytes;
      this.#cutBytes += droppedBytes;
      this.#cutLines += 1;
    }
    if (this.#tailStart > 1024 && this.#tailStart * 2 > this.#tail.length) {
      this.#tail = this.#tail.slice(this.#tailStart);
      this.#tailStart = 0;
    }
    return true;
  }

  /** Writes the marker (when something was cut) and the tail, then closes the stream. */
  async end(): Promise<void> {
    if (this.#cutBytes > 0) {
      this.#stream.write(`[... ${this.#cutBytes} bytes (${this.#cutLines} lines) cut: the log keeps the first ${formatMiB(this.#cap.headBytes)} and the last ${formatMiB(this.#cap.tailBytes)} of each command's output ...]\n`);
    }
    for (let index = this.#tailStart; index < this.#tail.length; index++) this.#stream.write(this.#tail[index]!);
    this.#tail = [];
    this.#tailStart = 0;
    await new Promise<void>((resolve) => this.#stream.end(resolve));
  }
}

function formatMiB(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}
