// Protected: judges the trained model. For every byte of the validation and test splits it
// hands the model the preceding bytes itself (at most EVAL_CONTEXT_BYTES), checks that the
// answer is a probability distribution, and scores bits per byte: mean of -log2 p(actual).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  DISTRIBUTION_TOLERANCE, EVAL_BATCH, EVAL_CONTEXT_BYTES, PROBABILITY_FLOOR, TEST_FILE, VAL_FILE,
} from "./constants.ts";

type Probabilities = ArrayLike<number>;
interface Predictor {
  predict(context: Uint8Array): Probabilities;
  predictBatch?(contexts: Uint8Array[]): Probabilities;
  parameterCount?: number | (() => number);
}

class InvalidModel extends Error {}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`evaluate: ${name} is not set; run this through the autoresearch harness.`);
    process.exit(1);
  }
  return value;
}

/** Checks one distribution of 256 values starting at `offset`; returns p(actual). */
function checkedProbability(values: Probabilities, offset: number, actual: number, where: string): number {
  let sum = 0;
  for (let i = 0; i < 256; i++) {
    const p = values[offset + i];
    if (typeof p !== "number" || !Number.isFinite(p) || p < 0) {
      throw new InvalidModel(`${where}: probability of byte ${i} is ${String(p)} (must be a finite number >= 0)`);
    }
    sum += p;
  }
  if (Math.abs(sum - 1) > DISTRIBUTION_TOLERANCE) {
    throw new InvalidModel(`${where}: the 256 probabilities sum to ${sum}, not 1`);
  }
  return values[offset + actual];
}

/** Mean bits per byte of the model over every position of `text`. */
function bitsPerByte(model: Predictor, text: Uint8Array, split: string): number {
  let bits = 0;
  const batched = typeof model.predictBatch === "function";
  for (let start = 0; start < text.length; start += EVAL_BATCH) {
    const end = Math.min(text.length, start + EVAL_BATCH);
    const contexts: Uint8Array[] = [];
    // A fresh copy per context, so a model cannot see (or change) anything beyond it.
    for (let pos = start; pos < end; pos++) contexts.push(text.slice(Math.max(0, pos - EVAL_CONTEXT_BYTES), pos));
    if (batched) {
      const values = model.predictBatch!(contexts);
      if (!values || values.length !== contexts.length * 256) {
        throw new InvalidModel(`${split} positions ${start}-${end - 1}: predictBatch returned ${values?.length} numbers, expected ${contexts.length} x 256`);
      }
      for (let b = 0; b < contexts.length; b++) {
        const p = checkedProbability(values, b * 256, text[start + b], `${split} position ${start + b}`);
        bits -= Math.log2(Math.max(p, PROBABILITY_FLOOR));
      }
    } else {
      for (let b = 0; b < contexts.length; b++) {
        const values = model.predict(contexts[b]);
        const where = `${split} position ${start + b}`;
        if (!values || values.length !== 256) throw new InvalidModel(`${where}: predict returned ${values?.length} numbers, expected 256`);
        const p = checkedProbability(values, 0, text[start + b], where);
        bits -= Math.log2(Math.max(p, PROBABILITY_FLOOR));
      }
    }
  }
  return bits / text.length;
}

function parameterCount(model: Predictor): number | undefined {
  const count = typeof model.parameterCount === "function" ? model.parameterCount() : model.parameterCount;
  return typeof count === "number" && Number.isFinite(count) ? count : undefined;
}

async function main(): Promise<void> {
  const dataDir = requireEnv("AUTORESEARCH_DATA_DIR");
  const outputDir = requireEnv("AUTORESEARCH_OUTPUT_DIR");
  const metricsFile = requireEnv("AUTORESEARCH_METRICS_FILE");
  const val = new Uint8Array(readFileSync(join(dataDir, VAL_FILE)));
  const test = new Uint8Array(readFileSync(join(dataDir, TEST_FILE)));

  // The model runs in this process: hide where the splits and the metrics file are, so
  // model code cannot simply read the answers or write its own score.
  delete process.env.AUTORESEARCH_DATA_DIR;
  delete process.env.AUTORESEARCH_METRICS_FILE;

  const started = performance.now();
  const { loadModel } = (await import(new URL("./model.ts", import.meta.url).href)) as {
    loadModel?: (dir: string) => Predictor | Promise<Predictor>;
  };
  if (typeof loadModel !== "function") {
    throw new Error("model.ts does not export a loadModel(outputDir) function");
  }
  const model = await loadModel(outputDir);
  if (!model || typeof model.predict !== "function") {
    throw new Error("loadModel() did not return an object with a predict(context) method");
  }
  try {
    const valBpb = bitsPerByte(model, val, "validation");
    const testBpb = bitsPerByte(model, test, "test");
    const metrics: Record<string, number> = {
      val_bpb: valBpb,
      test_bpb: testBpb,
      eval_seconds: (performance.now() - started) / 1000,
    };
    const params = parameterCount(model);
    if (params !== undefined) metrics.params = params;
    writeFileSync(metricsFile, JSON.stringify(metrics) + "\n");
    console.log(`val_bpb ${valBpb.toFixed(4)} (evaluated in ${metrics.eval_seconds.toFixed(1)}s)`);
  } catch (error) {
    if (!(error instanceof InvalidModel)) throw error;
    writeFileSync(metricsFile, JSON.stringify({ invalid: error.message }) + "\n");
    console.log(`invalid model: ${error.message}`);
  }
}

main().catch((error: unknown) => {
  console.error("evaluate: the model failed:", error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
