// Turns a raw output stream into the lines a person would see in a terminal, so
// log files and live tails stay readable when a workload draws progress bars.

/** Lines longer than this are split: one runaway line must not grow memory without bound. */
export const MAX_LINE_CHARS = 4096;

/**
 * Feeds decoded text in, emits complete lines out (without the trailing newline).
 * Within one line only the last `\r`-segment survives, as on a terminal;
 * `\r\n` counts as a plain line end.
 */
export class LineNormaliser {
  #emit: (line: string) => void;
  #maxLineChars: number;
  #segment = "";
  #carriageReturnPending = false;
  // Whether anything has arrived since the last emitted line (an empty segment after `\r` still counts).
  #lineOpen = false;
  #lineOpenedAt = 0;
  // Set after a long line was split, so a newline right at the split point adds no empty line.
  #splitAtEnd = false;

  constructor(emit: (line: string) => void, maxLineChars = MAX_LINE_CHARS) {
    this.#emit = emit;
    this.#maxLineChars = maxLineChars;
  }

  push(text: string, now = Date.now()): void {
    let start = 0;
    const breaks = /[\r\n]/g;
    for (let match = breaks.exec(text); match !== null; match = breaks.exec(text)) {
      this.#append(text.slice(start, match.index), now);
      start = match.index + 1;
      if (match[0] === "\n") {
        this.#endLine();
      } else {
        this.#carriageReturnPending = true;
        this.#open(now);
      }
    }
    this.#append(text.slice(start), now);
  }

  /** Emits a line that has stayed open for at least `maxAgeMs` (output that never ends a line). */
  flushIfOlderThan(maxAgeMs: number, now = Date.now()): void {
    if (this.#lineOpen && now - this.#lineOpenedAt >= maxAgeMs) this.flush();
  }

  /** Emits whatever is pending as a line (at exit, or periodically). */
  flush(): void {
    if (this.#lineOpen && this.#segment !== "") this.#endLine();
    this.#reset();
  }

  #append(text: string, now: number): void {
    if (text === "") return;
    if (this.#carriageReturnPending) {
      // Text after a bare `\r` overwrites the line: keep only the newest segment.
      this.#segment = "";
      this.#carriageReturnPending = false;
    }
    this.#open(now);
    this.#segment += text;
    this.#splitAtEnd = false;
    while (this.#segment.length >= this.#maxLineChars) {
      const head = this.#segment.slice(0, this.#maxLineChars);
      this.#segment = this.#segment.slice(this.#maxLineChars);
      this.#emit(head);
      this.#splitAtEnd = this.#segment === "";
    }
  }

  #open(now: number): void {
    if (!this.#lineOpen) {
      this.#lineOpen = true;
      this.#lineOpenedAt = now;
    }
  }

  #endLine(): void {
    if (!(this.#splitAtEnd && this.#segment === "")) this.#emit(this.#segment);
    this.#reset();
  }

  #reset(): void {
    this.#segment = "";
    this.#splitAtEnd = false;
    this.#carriageReturnPending = false;
    this.#lineOpen = false;
  }
}
