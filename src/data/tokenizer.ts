// Byte-level and BPE tokenizers over UTF-8 bytes. Token ids: 0-255 are the bytes, then one id
// per learned merge, then the special tokens (BOS first). Special tokens are never produced by
// encoding text; prepare inserts BOS at the start of every document piece.

/** GPT-4's pre-tokenization pattern with numbers split into runs of 1-2 digits (as the original). */
export const SPLIT_PATTERN =
  String.raw`'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,2}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`;

/** The reserved special tokens; the first is BOS. */
export const SPECIAL_TOKENS = ["<|bos|>", "<|reserved_1|>", "<|reserved_2|>", "<|reserved_3|>"];

export const TOKENIZER_FORMAT = "autoresearch-tokenizer/1";

/** What tokenizer.json holds (read by evaluate.py and train.py too). */
export interface TokenizerFile {
  format: string;
  type: "byte" | "bpe";
  pattern: string | null;
  vocab_size: number;
  /** Merge i creates token 256 + i from the pair [left, right]. */
  merges: Array<[number, number]>;
  special_tokens: Record<string, number>;
  bos_id: number;
  /** UTF-8 bytes each token stands for; 0 for special tokens (excluded from bits per byte). */
  token_byte_lengths: number[];
}

/**
 * JavaScript has no possessive quantifiers; here they change nothing, because what follows
 * them can never match the characters they would give back.
 */
export function compilePattern(pattern: string): RegExp {
  return new RegExp(pattern.replaceAll("?+", "?").replaceAll("++", "+"), "gu");
}

const encoder = new TextEncoder();

export class Tokenizer {
  readonly type: "byte" | "bpe";
  readonly pattern: string | null;
  readonly merges: Array<[number, number]>;
  readonly vocabSize: number;
  readonly bosId: number;
  readonly specialTokens: Record<string, number>;
  /** The bytes of every non-special token. */
  private readonly tokenBytes: Uint8Array[];
  private readonly ranks = new Map<number, number>();
  private readonly regex: RegExp | null;
  private readonly cache = new Map<string, Uint32Array>();

  constructor(type: "byte" | "bpe", merges: Array<[number, number]>, pattern: string | null = type === "bpe" ? SPLIT_PATTERN : null) {
    this.type = type;
    this.pattern = pattern;
    this.merges = merges;
    this.regex = pattern ? compilePattern(pattern) : null;
    this.tokenBytes = Array.from({ length: 256 }, (_, byte) => Uint8Array.of(byte));
    merges.forEach(([left, right], index) => {
      const id = 256 + index;
      if (left >= id || right >= id) throw new Error(`tokenizer: merge ${index} uses token ${Math.max(left, right)}, which does not exist yet`);
      const bytes = new Uint8Array(this.tokenBytes[left].length + this.tokenBytes[right].length);
      bytes.set(this.tokenBytes[left]);
      bytes.set(this.tokenBytes[right], this.tokenBytes[left].length);
      this.tokenBytes.push(bytes);
      this.ranks.set(pairKey(left, right), index);
    });
    const firstSpecial = 256 + merges.length;
    this.specialTokens = Object.fromEntries(SPECIAL_TOKENS.map((name, index) => [name, firstSpecial + index]));
    this.bosId = firstSpecial;
    this.vocabSize = firstSpecial + SPECIAL_TOKENS.length;
  }

  static fromFile(file: TokenizerFile): Tokenizer {
    if (file.format !== TOKENIZER_FORMAT) throw new Error(`tokenizer: unknown format ${JSON.stringify(file.format)} (expected ${TOKENIZER_FORMAT})`);
    return new Tokenizer(file.type, file.merges, file.pattern);
  }

  /** Byte length of every token id; special tokens 0. */
  byteLengths(): number[] {
    const lengths = this.tokenBytes.map((bytes) => bytes.length);
    for (let i = 0; i < SPECIAL_TOKENS.length; i++) lengths.push(0);
    return lengths;
  }

  toFile(): TokenizerFile {
    return {
      format: TOKENIZER_FORMAT, type: this.type, pattern: this.pattern, vocab_size: this.vocabSize, merges: this.merges,
      special_tokens: this.specialTokens, bos_id: this.bosId, token_byte_lengths: this.byteLengths(),
    };
  }

  /** Pre-tokenized pieces of `text`; lines for a byte-level tokenizer (so long documents can be cut at line ends). */
  chunks(text: string): string[] {
    return text.match(this.regex ?? /[^\n]*\n|[^\n]+/g) ?? [];
  }

  /** Tokens of one pre-tokenized chunk (cached: text repeats the same words). */
  encodeChunk(chunk: string): Uint32Array {
    const cached = this.cache.get(chunk);
    if (cached) return cached;
    const tokens = this.applyMerges(Array.from(encoder.encode(chunk)));
    const result = Uint32Array.from(tokens);
    if (this.type === "bpe" && this.cache.size < 1_000_000) this.cache.set(chunk, result);
    return result;
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const chunk of this.chunks(text)) for (const token of this.encodeChunk(chunk)) out.push(token);
    return out;
  }

  decodeBytes(tokens: ArrayLike<number>): Uint8Array {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i];
      if (token >= this.tokenBytes.length) {
        if (token < this.vocabSize) continue; // special tokens stand for no text
        throw new Error(`tokenizer: token ${token} is outside the vocabulary of ${this.vocabSize}`);
      }
      parts.push(this.tokenBytes[token]);
      length += this.tokenBytes[token].length;
    }
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (const part of parts) {
      bytes.set(part, offset);
      offset += part.length;
    }
    return bytes;
  }

  decode(tokens: ArrayLike<number>): string {
    return new TextDecoder().decode(this.decodeBytes(tokens));
  }

  /** Repeatedly merges the adjacent pair with the lowest rank, as training learned them. */
  private applyMerges(tokens: number[]): number[] {
    if (this.ranks.size === 0) return tokens;
    while (tokens.length > 1) {
      let bestRank = Infinity;
      for (let i = 0; i + 1 < tokens.length; i++) {
        const rank = this.ranks.get(pairKey(tokens[i], tokens[i + 1]));
        if (rank !== undefined && rank < bestRank) bestRank = rank;
      }
      if (bestRank === Infinity) break;
      const [left, right] = this.merges[bestRank];
      const merged: number[] = [];
      for (let i = 0; i < tokens.length; i++) {
        if (i + 1 < tokens.length && tokens[i] === left && tokens[i + 1] === right) {
          merged.push(256 + bestRank);
          i++;
        } else merged.push(tokens[i]);
      }
      tokens = merged;
    }
    return tokens;
  }
}

/** One number per ordered pair of token ids (ids stay below 2^21, so this is exact). */
export function pairKey(left: number, right: number): number {
  return left * 2_097_152 + right;
}

export function byteTokenizer(): Tokenizer {
  return new Tokenizer("byte", [], null);
}
