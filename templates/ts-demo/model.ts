// Mutable: a byte-level language model. A Bengio-style MLP: embed each of the last
// CONTEXT_BYTES bytes, concatenate, one hidden layer, then a two-level softmax: first which
// of 16 groups (byte >> 4) comes next, then which byte within that group. Training only
// needs the target's group, so the output layer costs 32 rows per example instead of 256.
// Float64Array math with hand-written backprop (weights saved as float32).
// Importing this file does no work.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const CONTEXT_BYTES = 3; // @knob min=1 max=32 scale=log int
export const EMBED_SIZE = 8; // @knob min=2 max=64 scale=log int
export const HIDDEN_SIZE = 32; // @knob min=8 max=512 scale=log int
export const ACTIVATION = "tanh"; // @knob choices=tanh,relu
export const INIT_SCALE = 1.0; // @knob min=0.1 max=10 scale=log

/** Stands in for bytes before the start of the text (a newline, like a document start). */
const PAD_BYTE = 10;
const WEIGHTS_FILE = "model.bin";
const HEADER_FILE = "model.json";
const GROUPS = 16;
const EMPTY = new Float64Array(0);

export interface ModelConfig {
  contextBytes: number;
  embedSize: number;
  hiddenSize: number;
  activation: "tanh" | "relu";
}

export const DEFAULT_CONFIG: ModelConfig = {
  contextBytes: CONTEXT_BYTES,
  embedSize: EMBED_SIZE,
  hiddenSize: HIDDEN_SIZE,
  activation: ACTIVATION as ModelConfig["activation"],
};

/** A named slice of the parameter vector; `decay` marks matrices (weight decay applies). */
export interface Segment { name: string; offset: number; length: number; decay: boolean }

type ScratchName = "x" | "xT" | "hidden" | "dHidden" | "dHiddenT" | "dx" | "groupLogits" | "byteLogits";

export class ByteMLP {
  readonly config: ModelConfig;
  /** All parameters in one buffer (the optimizer and save() treat them as one vector). */
  readonly params: Float64Array;
  readonly segments: Segment[];
  readonly parameterCount: number;
  private readonly views: Float64Array[];
  private readonly w1T: Float64Array; // refreshed each step so every product is a row-by-row dot
  private scratchSize = 0;
  private readonly scratch: Record<ScratchName, Float64Array> = {
    x: EMPTY, xT: EMPTY, hidden: EMPTY, dHidden: EMPTY, dHiddenT: EMPTY, dx: EMPTY, groupLogits: EMPTY, byteLogits: EMPTY,
  };

  constructor(config: ModelConfig, params?: Float64Array) {
    this.config = config;
    const { contextBytes: C, embedSize: E, hiddenSize: H } = config;
    const sizes: [string, number, boolean][] = [
      ["embed", 256 * E, false], ["w1", H * C * E, true], ["b1", H, false],
      ["groupW", GROUPS * H, true], ["groupB", GROUPS, false], ["byteW", 256 * H, true], ["byteB", 256, false],
    ];
    this.segments = [];
    let offset = 0;
    for (const [name, length, decay] of sizes) {
      this.segments.push({ name, offset, length, decay });
      offset += length;
    }
    this.parameterCount = offset;
    if (params && params.length !== offset) {
      throw new Error(`the saved weights hold ${params.length} numbers but this configuration needs ${offset}; retrain the model`);
    }
    this.params = params ?? new Float64Array(offset);
    this.views = this.segments.map((s) => this.params.subarray(s.offset, s.offset + s.length));
    this.w1T = new Float64Array(this.views[1].length);
  }

  /** Gaussian-ish init (sum of uniforms), fan-in scaled, times INIT_SCALE; biases zero. */
  initialize(seed: number, initScale = INIT_SCALE): void {
    const random = makeRandom(seed);
    const normal = () => (random() + random() + random() + random() - 2) * Math.sqrt(3);
    const { contextBytes: C, embedSize: E, hiddenSize: H } = this.config;
    const [embed, w1, , groupW, , byteW] = this.views;
    const fill = (a: Float64Array, scale: number) => { for (let i = 0; i < a.length; i++) a[i] = normal() * scale; };
    fill(embed, 0.5 * initScale);
    fill(w1, initScale / Math.sqrt(C * E));
    fill(groupW, (0.5 * initScale) / Math.sqrt(H));
    fill(byteW, (0.5 * initScale) / Math.sqrt(H));
  }

  private ensureScratch(batch: number): void {
    if (batch <= this.scratchSize) return;
    const { contextBytes: C, embedSize: E, hiddenSize: H } = this.config;
    const sizes: Record<ScratchName, number> = {
      x: C * E, xT: C * E, hidden: H, dHidden: H, dHiddenT: H, dx: C * E, groupLogits: GROUPS, byteLogits: 256,
    };
    for (const name of Object.keys(sizes) as ScratchName[]) this.scratch[name] = new Float64Array(batch * sizes[name]);
    this.scratchSize = batch;
  }

  /** Embeds the packed contexts (batch * contextBytes bytes, oldest first) into scratch.hidden. */
  private forwardHidden(contexts: Uint8Array, batch: number): void {
    const { contextBytes: C, embedSize: E, hiddenSize: H, activation } = this.config;
    const CE = C * E;
    const { x, hidden } = this.scratch;
    const [embed, w1, b1] = this.views;
    for (let b = 0; b < batch; b++) {
      for (let c = 0; c < C; c++) {
        const from = contexts[b * C + c] * E;
        const to = b * CE + c * E;
        for (let e = 0; e < E; e++) x[to + e] = embed[from + e];
      }
    }
    matmulTransposed(x, w1, hidden, batch, H, CE);
    const relu = activation === "relu";
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < H; h++) {
        const z = hidden[b * H + h] + b1[h];
        hidden[b * H + h] = relu ? (z > 0 ? z : 0) : Math.tanh(z);
      }
    }
  }

  /**
   * One minibatch: forward, mean cross-entropy (nats), and the gradient of that mean
   * written into `grads` (same layout as params). Contexts are packed as in forwardHidden.
   */
  trainStep(contexts: Uint8Array, targets: Uint8Array, grads: Float64Array): number {
    const batch = targets.length;
    this.ensureScratch(batch);
    this.forwardHidden(contexts, batch);
    const { contextBytes: C, embedSize: E, hiddenSize: H, activation } = this.config;
    const CE = C * E;
    const { x, xT, hidden, dHidden, dHiddenT, dx } = this.scratch;
    const [, w1, , groupW, groupB, byteW, byteB] = this.views;
    const [gEmbed, gW1, gB1, gGroupW, gGroupB, gByteW, gByteB] = this.segments.map((s) => grads.subarray(s.offset, s.offset + s.length));
    grads.fill(0);
    dHidden.fill(0, 0, batch * H);
    const probs = new Float64Array(GROUPS);
    let loss = 0;
    for (let b = 0; b < batch; b++) {
      const ho = b * H;
      const target = targets[b];
      // Level 1 over the 16 groups, then level 2 over the 16 bytes of the target's group.
      loss += softmaxLayer(groupW, groupB, 0, target >> 4, hidden, ho, H, gGroupW, gGroupB, dHidden, batch, probs);
      loss += softmaxLayer(byteW, byteB, target & ~15, target & 15, hidden, ho, H, gByteW, gByteB, dHidden, batch, probs);
    }
    // Through the activation (computed from its output), then the hidden layer.
    const relu = activation === "relu";
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < H; h++) {
        const a = hidden[b * H + h];
        gB1[h] += dHidden[b * H + h] *= relu ? (a > 0 ? 1 : 0) : 1 - a * a;
      }
    }
    transpose(dHidden, batch, H, dHiddenT);
    transpose(x, batch, CE, xT);
    matmulTransposed(dHiddenT, xT, gW1, H, CE, batch);
    transpose(w1, H, CE, this.w1T);
    matmulTransposed(dHidden, this.w1T, dx, batch, CE, H);
    for (let b = 0; b < batch; b++) {
      for (let c = 0; c < C; c++) {
        const to = contexts[b * C + c] * E;
        const from = b * CE + c * E;
        for (let e = 0; e < E; e++) gEmbed[to + e] += dx[from + e];
      }
    }
    return loss / batch;
  }

  /** Next-byte distributions for several contexts (most recent byte last): n x 256. */
  predictBatch(contexts: Uint8Array[]): Float32Array {
    const { contextBytes: C, hiddenSize: H } = this.config;
    const n = contexts.length;
    this.ensureScratch(n);
    const packed = new Uint8Array(n * C).fill(PAD_BYTE);
    for (let b = 0; b < n; b++) {
      const context = contexts[b];
      const take = Math.min(C, context.length);
      packed.set(context.subarray(context.length - take), b * C + C - take);
    }
    this.forwardHidden(packed, n);
    const { hidden, groupLogits, byteLogits } = this.scratch;
    const [, , , groupW, groupB, byteW, byteB] = this.views;
    matmulTransposed(hidden, groupW, groupLogits, n, GROUPS, H);
    matmulTransposed(hidden, byteW, byteLogits, n, 256, H);
    const out = new Float32Array(n * 256);
    const groupProbs = new Float64Array(GROUPS);
    const byteProbs = new Float64Array(GROUPS);
    for (let b = 0; b < n; b++) {
      softmax(groupLogits, b * GROUPS, groupB, 0, groupProbs);
      for (let g = 0; g < GROUPS; g++) {
        softmax(byteLogits, b * 256 + g * GROUPS, byteB, g * GROUPS, byteProbs);
        for (let j = 0; j < GROUPS; j++) out[b * 256 + g * GROUPS + j] = groupProbs[g] * byteProbs[j];
      }
    }
    return out;
  }

  predict(context: Uint8Array): Float32Array {
    return this.predictBatch([context]);
  }

  save(outputDir: string): void {
    mkdirSync(outputDir, { recursive: true });
    writeFileSync(join(outputDir, HEADER_FILE), JSON.stringify({ config: this.config, parameterCount: this.parameterCount }) + "\n");
    writeFileSync(join(outputDir, WEIGHTS_FILE), new Uint8Array(new Float32Array(this.params).buffer));
  }
}

/**
 * Cross-entropy of the 16-way softmax over rows firstRow..firstRow+15 of W (plus bias B)
 * applied to one hidden vector; adds the gradients (scaled by 1/batch) into gW, gB and
 * dHidden. Returns -ln p(correct).
 */
function softmaxLayer(
  W: Float64Array, B: Float64Array, firstRow: number, correct: number, hidden: Float64Array, ho: number, H: number,
  gW: Float64Array, gB: Float64Array, dHidden: Float64Array, batch: number, probs: Float64Array,
): number {
  let max = -Infinity;
  for (let j = 0; j < GROUPS; j++) {
    const wo = (firstRow + j) * H;
    let sum = B[firstRow + j];
    for (let h = 0; h < H; h++) sum += W[wo + h] * hidden[ho + h];
    probs[j] = sum;
    if (sum > max) max = sum;
  }
  let total = 0;
  for (let j = 0; j < GROUPS; j++) total += probs[j] = Math.exp(probs[j] - max);
  for (let j = 0; j < GROUPS; j++) {
    const g = (probs[j] / total - (j === correct ? 1 : 0)) / batch;
    const wo = (firstRow + j) * H;
    gB[firstRow + j] += g;
    for (let h = 0; h < H; h++) {
      gW[wo + h] += g * hidden[ho + h];
      dHidden[ho + h] += g * W[wo + h];
    }
  }
  return -Math.log(Math.max(probs[correct] / total, 1e-300));
}

/** out = softmax of the 16 logits logits[at..at+16) plus bias[biasAt..biasAt+16). */
function softmax(logits: Float64Array, at: number, bias: Float64Array, biasAt: number, out: Float64Array): void {
  let max = -Infinity;
  for (let j = 0; j < GROUPS; j++) {
    out[j] = logits[at + j] + bias[biasAt + j];
    if (out[j] > max) max = out[j];
  }
  let total = 0;
  for (let j = 0; j < GROUPS; j++) total += out[j] = Math.exp(out[j] - max);
  for (let j = 0; j < GROUPS; j++) out[j] /= total;
}

export function loadModel(outputDir: string): ByteMLP {
  const header = JSON.parse(readFileSync(join(outputDir, HEADER_FILE), "utf8")) as { config: ModelConfig };
  const bytes = readFileSync(join(outputDir, WEIGHTS_FILE));
  const params = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return new ByteMLP(header.config, Float64Array.from(params));
}

/** Packs the contextBytes bytes before each target position of `text` (oldest first). */
export function packContexts(text: Uint8Array, positions: ArrayLike<number>, contextBytes: number, out: Uint8Array): void {
  for (let b = 0; b < positions.length; b++) {
    for (let c = 0; c < contextBytes; c++) {
      const at = positions[b] - contextBytes + c;
      out[b * contextBytes + c] = at >= 0 ? text[at] : PAD_BYTE;
    }
  }
}

/** Deterministic PRNG (mulberry32), so a seed fixes the initial weights and the batches. */
export function makeRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** out[i][j] = sum_t a[i][t] * b[j][t] (row-major a: m x k, b: n x k, out: m x n), 2x2 blocked. */
export function matmulTransposed(a: Float64Array, b: Float64Array, out: Float64Array, m: number, n: number, k: number): void {
  let i = 0;
  for (; i + 1 < m; i += 2) {
    const a0 = i * k;
    const a1 = a0 + k;
    let j = 0;
    for (; j + 1 < n; j += 2) {
      const b0 = j * k;
      const b1 = b0 + k;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0;
      for (let t = 0; t < k; t++) {
        const x0 = a[a0 + t], x1 = a[a1 + t], y0 = b[b0 + t], y1 = b[b1 + t];
        s00 += x0 * y0; s01 += x0 * y1; s10 += x1 * y0; s11 += x1 * y1;
      }
      out[i * n + j] = s00; out[i * n + j + 1] = s01; out[i * n + n + j] = s10; out[i * n + n + j + 1] = s11;
    }
    if (j < n) {
      const b0 = j * k;
      let s0 = 0, s1 = 0;
      for (let t = 0; t < k; t++) { s0 += a[a0 + t] * b[b0 + t]; s1 += a[a1 + t] * b[b0 + t]; }
      out[i * n + j] = s0; out[i * n + n + j] = s1;
    }
  }
  if (i < m) {
    const a0 = i * k;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[a0 + t] * b[j * k + t];
      out[i * n + j] = s;
    }
  }
}

/** dst (cols x rows) = transpose of src (rows x cols). */
export function transpose(src: Float64Array, rows: number, cols: number, dst: Float64Array): void {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
}
