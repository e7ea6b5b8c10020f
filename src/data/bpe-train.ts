// Trains a byte-level BPE tokenizer: count the pre-tokenized chunks of the training text, then
// repeatedly merge the most frequent adjacent pair. Only the words that contain the merged
// pair are touched per merge, and a max-heap with lazy deletion finds the next pair, so a
// vocabulary of a few thousand on a few MB takes seconds.
import { SPECIAL_TOKENS, SPLIT_PATTERN, Tokenizer, compilePattern, pairKey } from "./tokenizer.ts";

export interface BpeTrainingOptions {
  /** Total vocabulary including the 256 bytes and the special tokens. */
  vocabSize: number;
  pattern?: string;
}

/** Chunk counts from documents; feed it text, then train. Keeps memory to the distinct chunks. */
export class ChunkCounter {
  readonly counts = new Map<string, number>();
  characters = 0;
  private readonly regex: RegExp;

  constructor(pattern = SPLIT_PATTERN) {
    this.regex = compilePattern(pattern);
  }

  add(text: string): void {
    this.characters += text.length;
    for (const chunk of text.match(this.regex) ?? []) this.counts.set(chunk, (this.counts.get(chunk) ?? 0) + 1);
  }
}

export function trainBpe(counter: ChunkCounter, options: BpeTrainingOptions): Tokenizer {
  const pattern = options.pattern ?? SPLIT_PATTERN;
  const targetMerges = options.vocabSize - 256 - SPECIAL_TOKENS.length;
  if (targetMerges < 0) throw new Error(`a BPE vocabulary must hold at least ${256 + SPECIAL_TOKENS.length} tokens (256 bytes and ${SPECIAL_TOKENS.length} special), got ${options.vocabSize}`);
  if (options.vocabSize > 2_000_000) throw new Error(`vocabulary ${options.vocabSize} is too large (at most 2,000,000)`);

  const encoder = new TextEncoder();
  const words: number[][] = [];
  const weights: number[] = [];
  for (const [chunk, count] of counter.counts) {
    const bytes = encoder.encode(chunk);
    if (bytes.length < 2) continue; // a single byte never takes part in a merge
    words.push(Array.from(bytes));
    weights.push(count);
  }

  const pairCounts = new Map<number, number>();
  const wordsWithPair = new Map<number, Set<number>>();
  const note = (key: number, word: number, delta: number) => {
    pairCounts.set(key, (pairCounts.get(key) ?? 0) + delta);
    if (delta > 0) {
      let set = wordsWithPair.get(key);
      if (!set) wordsWithPair.set(key, (set = new Set()));
      set.add(word);
    }
  };
  words.forEach((tokens, word) => {
    for (let i = 0; i + 1 < tokens.length; i++) note(pairKey(tokens[i], tokens[i + 1]), word, weights[word]);
  });
  const heap = new PairHeap();
  for (const [key, count] of pairCounts) heap.push(count, key);

  const merges: Array<[number, number]> = [];
  while (merges.length < targetMerges) {
    const top = heap.pop();
    if (!top) break; // the text has no pairs left: the vocabulary ends up smaller
    const current = pairCounts.get(top.key) ?? 0;
    if (current !== top.count) {
      if (current > 0) heap.push(current, top.key); // stale entry: requeue with the true count
      continue;
    }
    if (current < 1) break;
    const left = Math.floor(top.key / 2_097_152);
    const right = top.key % 2_097_152;
    const id = 256 + merges.length;
    merges.push([left, right]);
    const touched = new Set<number>();
    for (const word of wordsWithPair.get(top.key) ?? []) {
      const tokens = words[word];
      if (!containsPair(tokens, left, right)) continue;
      const weight = weights[word];
      for (let i = 0; i + 1 < tokens.length; i++) {
        const key = pairKey(tokens[i], tokens[i + 1]);
        note(key, word, -weight);
        touched.add(key);
      }
      const merged: number[] = [];
      for (let i = 0; i < tokens.length; i++) {
        if (i + 1 < tokens.length && tokens[i] === left && tokens[i + 1] === right) {
          merged.push(id);
          i++;
        } else merged.push(tokens[i]);
      }
      words[word] = merged;
      for (let i = 0; i + 1 < merged.length; i++) {
        const key = pairKey(merged[i], merged[i + 1]);
        note(key, word, weight);
        touched.add(key);
      }
    }
    wordsWithPair.delete(top.key);
    pairCounts.delete(top.key);
    // Counts that went down are fixed lazily at pop time; only increases need a fresh entry.
    for (const key of touched) {
      const count = pairCounts.get(key) ?? 0;
      if (count > 0) heap.push(count, key);
      else pairCounts.delete(key);
    }
  }
  return new Tokenizer("bpe", merges, pattern);
}

function containsPair(tokens: number[], left: number, right: number): boolean {
  for (let i = 0; i + 1 < tokens.length; i++) if (tokens[i] === left && tokens[i + 1] === right) return true;
  return false;
}

/** Max-heap of (count, pair); equal counts go to the smaller pair key, so training is deterministic. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; key: number } | undefined {
    if (this.counts.length === 0) return undefined;
    const top = { count: this.counts[0], key: this.keys[0] };
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let best = i;
        if (left < this.counts.length && this.before(left, best)) best = left;
        if (right < this.counts.length && this.before(right, best)) best = right;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }

  private before(a: number, b: number): boolean {
    return this.counts[a] > this.counts[b] || (this.counts[a] === this.counts[b] && this.keys[a] < this.keys[b]);
  }

  private swap(a: number, b: number): void {
    [this.counts[a], this.counts[b]] = [this.counts[b], this.counts[a]];
    [this.keys[a], this.keys[b]] = [this.keys[b], this.keys[a]];
  }
}
