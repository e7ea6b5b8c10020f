// Mutable: trains model.ts on train.bin for AUTORESEARCH_BUDGET_SECONDS of wall clock with
// AdamW, then saves it to AUTORESEARCH_OUTPUT_DIR. The printed loss is only an estimate;
// the harness judges the model with evaluate.ts on data this script never reads.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ByteMLP, DEFAULT_CONFIG, makeRandom, packContexts } from "./model.ts";

const LEARNING_RATE = 0.0003; // @knob min=0.0001 max=0.3 scale=log
const BATCH_SIZE = 64; // @knob min=4 max=1024 scale=log int
const WARMDOWN_FRACTION = 0.0; // @knob min=0 max=1
const WEIGHT_DECAY = 0.0; // @knob min=0 max=0.1
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const WARMUP_STEPS = 20;
const SEED = 1234;

const budgetSeconds = Number(process.env.AUTORESEARCH_BUDGET_SECONDS ?? "30");
const dataDir = process.env.AUTORESEARCH_DATA_DIR;
const outputDir = process.env.AUTORESEARCH_OUTPUT_DIR;
if (!dataDir || !outputDir) {
  console.error("train: AUTORESEARCH_DATA_DIR and AUTORESEARCH_OUTPUT_DIR must be set (the harness sets them).");
  process.exit(1);
}
if (!(budgetSeconds > 0)) {
  console.error(`train: AUTORESEARCH_BUDGET_SECONDS must be a positive number, got "${process.env.AUTORESEARCH_BUDGET_SECONDS}".`);
  process.exit(1);
}

const text = new Uint8Array(readFileSync(join(dataDir, "train.bin")));
const config = DEFAULT_CONFIG;
const model = new ByteMLP(config);
model.initialize(SEED);
const n = model.parameterCount;
const grads = new Float64Array(n);
const firstMoment = new Float64Array(n);
const secondMoment = new Float64Array(n);
const decays = new Uint8Array(n);
for (const segment of model.segments) if (segment.decay) decays.fill(1, segment.offset, segment.offset + segment.length);

const random = makeRandom(SEED + 1);
const positions = new Uint32Array(BATCH_SIZE);
const targets = new Uint8Array(BATCH_SIZE);
const contexts = new Uint8Array(BATCH_SIZE * config.contextBytes);

/**
 * Learning-rate multiplier: linear warmup by steps, then a linear warm-down to zero over the
 * last WARMDOWN_FRACTION of the budget, measured by the clock like the budget itself.
 */
function schedule(step: number, progress: number): number {
  const warmup = WARMUP_STEPS > 0 ? Math.min(1, (step + 1) / WARMUP_STEPS) : 1;
  const warmdown = WARMDOWN_FRACTION > 0 ? Math.min(1, (1 - progress) / WARMDOWN_FRACTION) : 1;
  return warmup * Math.max(0, warmdown);
}

const start = performance.now();
let step = 0;
let smoothedLoss = 0;
let lastPrint = 0;
for (;;) {
  const elapsed = (performance.now() - start) / 1000;
  if (elapsed >= budgetSeconds) break;
  for (let b = 0; b < BATCH_SIZE; b++) {
    positions[b] = 1 + Math.floor(random() * (text.length - 1));
    targets[b] = text[positions[b]];
  }
  packContexts(text, positions, config.contextBytes, contexts);
  const loss = model.trainStep(contexts, targets, grads);
  if (!Number.isFinite(loss)) {
    console.error(`\ntrain: loss became ${loss} at step ${step}; lower LEARNING_RATE or INIT_SCALE.`);
    process.exit(1);
  }
  smoothedLoss = step === 0 ? loss : 0.98 * smoothedLoss + 0.02 * loss;

  const lr = LEARNING_RATE * schedule(step, elapsed / budgetSeconds);
  step++;
  const stepSize = lr / (1 - ADAM_BETA1 ** step);
  const rootCorrection2 = Math.sqrt(1 - ADAM_BETA2 ** step);
  const decay = lr * WEIGHT_DECAY;
  const { params } = model;
  for (let i = 0; i < n; i++) {
    const g = grads[i];
    const m = (firstMoment[i] = ADAM_BETA1 * firstMoment[i] + (1 - ADAM_BETA1) * g);
    const v = (secondMoment[i] = ADAM_BETA2 * secondMoment[i] + (1 - ADAM_BETA2) * g * g);
    params[i] -= (stepSize * m) / (Math.sqrt(v) / rootCorrection2 + 1e-8) + (decays[i] ? decay * params[i] : 0);
  }

  if (elapsed - lastPrint >= 0.5) {
    lastPrint = elapsed;
    process.stdout.write(`\rstep ${step} loss ${(smoothedLoss / Math.LN2).toFixed(3)} bits/byte lr ${lr.toExponential(2)} ${elapsed.toFixed(1)}s`);
  }
}

const seconds = (performance.now() - start) / 1000;
model.save(outputDir);
const summary =
  `trained ${step} steps (${((step * BATCH_SIZE) / seconds / 1000).toFixed(1)}k bytes/s) in ${seconds.toFixed(1)}s; ` +
  `train loss ~${(smoothedLoss / Math.LN2).toFixed(3)} bits/byte; ${n} parameters`;
process.stdout.write(`\r${summary.padEnd(72)}\n`);
