// Turning documents into training/evaluation rows. A document longer than a row is cut into
// pieces at line ends, each starting with BOS, so nothing is thrown away; rows are then packed
// best-fit as in the original: every row starts with BOS, the largest piece that fits the
// space left goes next, and when none fits the shortest is cropped to fill the row exactly.
import type { Tokenizer } from "./tokenizer.ts";

/** Pieces of one document: BOS + tokens, each at most `capacity` tokens long (BOS included). */
export function documentPieces(tokenizer: Tokenizer, text: string, capacity: number): Uint32Array[] {
  const limit = capacity - 1;
  if (limit < 1) throw new Error(`a row of ${capacity} tokens has no room after BOS`);
  const pieces: Uint32Array[] = [];
  let current: number[] = [];
  let lastLineEnd = 0; // length of `current` right after the last chunk that ended a line
  const emit = (end: number) => {
    const piece = new Uint32Array(end + 1);
    piece[0] = tokenizer.bosId;
    for (let i = 0; i < end; i++) piece[i + 1] = current[i];
    pieces.push(piece);
    current = current.slice(end);
    lastLineEnd = 0;
  };
  for (const chunk of tokenizer.chunks(text)) {
    const tokens = tokenizer.encodeChunk(chunk);
    if (current.length + tokens.length > limit) {
      if (lastLineEnd > 0) emit(lastLineEnd);
      if (current.length > 0 && current.length + tokens.length > limit) emit(current.length);
    }
    for (const token of tokens) current.push(token);
    while (current.length > limit) emit(limit); // one chunk longer than a row: cut it anywhere
    if (chunk.endsWith("\n")) lastLineEnd = current.length;
  }
  if (current.length > 0) emit(current.length);
  return pieces;
}

export interface PackOptions {
  /** Tokens per row (the model's context + 1: inputs are row[:-1], targets row[1:]). */
  rowLength: number;
  maxRows: number;
  /** Pieces held to choose from, as the original's loader (1000). */
  bufferSize?: number;
}

/** Best-fit packing of `pieces` (in order) into full rows; an incomplete last row is dropped. */
export function packRows(pieces: Iterable<Uint32Array>, options: PackOptions): Uint32Array[] {
  const bufferSize = options.bufferSize ?? 1000;
  const source = pieces[Symbol.iterator]();
  const buffer: Uint32Array[] = [];
  let exhausted = false;
  const refill = () => {
    while (!exhausted && buffer.length < bufferSize) {
      const next = source.next();
      if (next.done) exhausted = true;
      else if (next.value.length > 0) buffer.push(next.value);
    }
  };
  const rows: Uint32Array[] = [];
  while (rows.length < options.maxRows) {
    const row = new Uint32Array(options.rowLength);
    let position = 0;
    while (position < options.rowLength) {
      refill();
      if (buffer.length === 0) return rows;
      const remaining = options.rowLength - position;
      let best = -1;
      let shortest = 0;
      for (let i = 0; i < buffer.length; i++) {
        const length = buffer[i].length;
        if (length <= remaining && (best < 0 || length > buffer[best].length)) best = i;
        if (length < buffer[shortest].length) shortest = i;
      }
      const index = best >= 0 ? best : shortest;
      const [piece] = buffer.splice(index, 1);
      const take = Math.min(piece.length, remaining);
      row.set(piece.subarray(0, take), position);
      position += take;
    }
    rows.push(row);
  }
  return rows;
}
