// Protected, but it runs inside the sandbox, next to the mutable code: the model server. The
// harness starts several (AUTORESEARCH_REPLICA = 0, 1, ...), each alone, with the trained model's
// directory (AUTORESEARCH_OUTPUT_DIR, read-only) and no data. It loads the model through model.ts's
// loadModel and answers the scorer's requests on stdin/stdout until stdin ends. The wire format is
// in protocol.ts; in short:
//
//   greeting: u32 GREETING, f64 parameter count
//   request:  u32 rows, u32 cols, rows*cols bytes
//   answer:   u32 rows, u32 cols, u32 256, rows*cols*256 float32 ln p(byte at column c | columns before c)
//
// Nothing here is trusted: evaluate.ts checks every answer, and compares answers for the same bytes
// across replicas. This file only translates between the protocol and model.ts's predictBatch.
import { EVAL_CONTEXT_BYTES } from "./constants.ts";
import { ANSWER_HEADER_BYTES, ByteReader, GREETING, GREETING_BYTES, REQUEST_HEADER_BYTES } from "./protocol.ts";

type Probabilities = ArrayLike<number>;
interface Predictor {
  predict(context: Uint8Array): Probabilities;
  predictBatch?(contexts: Uint8Array[]): Probabilities;
  parameterCount?: number | (() => number);
}

/** ln 0, as a finite float32 (the scorer floors probabilities far above it anyway). */
const LOG_ZERO = -1e4;

const outputDir = process.env.AUTORESEARCH_OUTPUT_DIR;
if (!outputDir) {
  console.error("serve: AUTORESEARCH_OUTPUT_DIR is not set; the harness starts this model server for evaluate.ts.");
  process.exit(1);
}
const replica = process.env.AUTORESEARCH_REPLICA ?? "0";

// stdout carries the protocol: whatever model code prints goes to stderr (the experiment's log).
const writeAnswer = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

/** Resolves once the frame is handed to the pipe, so at most one answer is ever buffered here. */
function send(frame: Buffer): Promise<void> {
  return new Promise((resolve, reject) => writeAnswer(frame, (error) => (error ? reject(error) : resolve())));
}

function parameterCount(model: Predictor): number {
  const count = typeof model.parameterCount === "function" ? model.parameterCount() : model.parameterCount;
  return typeof count === "number" && Number.isFinite(count) ? count : Number.NaN;
}

let warned = false;
/** The log of something that is not a probability > 0: ln 0 for 0, else NaN (the scorer rejects it). */
function logOfNonPositive(p: unknown, index: number, cols: number, vocab: number): number {
  if (p === 0) return LOG_ZERO;
  if (!warned) {
    warned = true;
    const position = Math.floor(index / vocab);
    console.error(`serve (replica ${replica}): the model gave ${String(p)} as a probability at row ${Math.floor(position / cols)} column ${position % cols}; answered NaN, which makes the model invalid`);
  }
  return Number.NaN;
}

/** Answers one request: for every column, the model's distribution given the bytes before it (at most EVAL_CONTEXT_BYTES). */
function answer(model: Predictor, rows: number, cols: number, bytes: Uint8Array): Buffer {
  const contexts: Uint8Array[] = [];
  for (let r = 0; r < rows; r++) {
    // A fresh copy per context, so the model is handed nothing beyond it.
    for (let c = 0; c < cols; c++) contexts.push(bytes.slice(r * cols + Math.max(0, c - EVAL_CONTEXT_BYTES), r * cols + c));
  }
  let values: Probabilities;
  if (typeof model.predictBatch === "function") {
    values = model.predictBatch(contexts);
  } else {
    const flat: number[] = [];
    for (const context of contexts) for (const p of Array.from(model.predict(context))) flat.push(p);
    values = flat;
  }
  const vocab = (values?.length ?? 0) / contexts.length;
  if (!Number.isInteger(vocab)) {
    throw new Error(`predictBatch returned ${values?.length} numbers for ${contexts.length} contexts (expected ${contexts.length} x 256)`);
  }
  const frame = Buffer.alloc(ANSWER_HEADER_BYTES + values.length * 4);
  frame.writeUInt32LE(rows, 0);
  frame.writeUInt32LE(cols, 4);
  frame.writeUInt32LE(vocab, 8);
  const out = new Float32Array(frame.buffer, frame.byteOffset + ANSWER_HEADER_BYTES, values.length);
  for (let i = 0; i < values.length; i++) {
    const p = values[i];
    out[i] = p > 0 ? Math.log(p) : logOfNonPositive(p, i, cols, vocab);
  }
  return frame;
}

async function main(): Promise<void> {
  const { loadModel } = (await import(new URL("./model.ts", import.meta.url).href)) as {
    loadModel?: (dir: string) => Predictor | Promise<Predictor>;
  };
  if (typeof loadModel !== "function") throw new Error("model.ts does not export a loadModel(outputDir) function");
  const model = await loadModel(outputDir!);
  if (!model || typeof model.predict !== "function") throw new Error("loadModel() did not return an object with a predict(context) method");

  const greeting = Buffer.alloc(GREETING_BYTES);
  greeting.writeUInt32LE(GREETING, 0);
  greeting.writeDoubleLE(parameterCount(model), 4);
  await send(greeting);

  const requests = new ByteReader(process.stdin);
  for (;;) {
    const header = await requests.read(REQUEST_HEADER_BYTES);
    if (!header) break;
    const rows = header.readUInt32LE(0);
    const cols = header.readUInt32LE(4);
    const bytes = await requests.read(rows * cols);
    if (!bytes) throw new Error(`the request stream ended inside a ${rows}x${cols} request`);
    await send(answer(model, rows, cols, new Uint8Array(bytes)));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`serve (replica ${replica}): the model failed:`, error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
