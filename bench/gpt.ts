// The gpt template's figures on this machine (docs/benchmarks.md, "GPT workload"): prepares the
// default data, trains the device's profile for the budget, evaluates (two model servers and the
// scorer, as a session does, without the sandbox), and prints val_bpb, test_bpb, tokens/s, MFU,
// peak memory, and start-up / evaluation seconds against the budget.
//   node bench/gpt.ts                     the profile of the device (cuda:0 when nvidia-smi lists a GPU)
//   node bench/gpt.ts --device cpu --budget 60 --runs 3
//   node bench/gpt.ts --data DIR [--prepare-only]   prepared data kept in DIR (made there if missing), reused by
//                                                    later runs: a GPU machine without npm packages then needs
//                                                    only Node and this repository (bench/device-pack.sh)
import { randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { listGpus } from "../src/executors/devices.ts";
import { evaluateWithServers } from "../test/helpers/gpt.ts";

const home = dirname(dirname(fileURLToPath(import.meta.url)));
const { values: flags } = parseArgs({
  options: {
    device: { type: "string" },
    budget: { type: "string", default: "300" },
    runs: { type: "string", default: "1" },
    keep: { type: "boolean", default: false },
    data: { type: "string" },
    "prepare-only": { type: "boolean", default: false },
  },
});

function run(cwd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; seconds: number; output: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, AUTORESEARCH_HOME: home, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, seconds: (performance.now() - started) / 1000, output }));
  });
}

function fail(what: string, output: string): never {
  console.error(`bench/gpt: ${what} failed:\n${output.slice(-3000)}`);
  process.exit(1);
}

const device = flags.device ?? ((await listGpus()).length > 0 ? "cuda:0" : "cpu");
const work = mkdtempSync(join(tmpdir(), "autoresearch-bench-gpt-"));
const project = join(work, "project");
cpSync(join(home, "templates", "gpt"), project, { recursive: true });
const dataDir = flags.data ? resolve(flags.data) : join(work, "data");
const gpu = device.startsWith("cuda:") ? { CUDA_VISIBLE_DEVICES: device.slice(5) } : { CUDA_VISIBLE_DEVICES: "" };
const base = { AUTORESEARCH_DATA_DIR: dataDir, AUTORESEARCH_DEVICE: device.startsWith("cuda:") ? "cuda:0" : "cpu", AUTORESEARCH_BUDGET_SECONDS: flags.budget, ...gpu };

if (flags.data && existsSync(join(dataDir, "manifest.json"))) {
  console.log(`prepare: reusing ${dataDir} (evaluate.py checks it against its manifest)`);
} else {
  // A fresh split secret per preparation, as a project gets from the harness.
  const prepared = await run(project, ["prepare.ts"], { ...base, AUTORESEARCH_SPLIT_SECRET: randomBytes(32).toString("hex") });
  if (prepared.code !== 0) fail("prepare", prepared.output);
  console.log(`prepare: ${prepared.seconds.toFixed(1)}s (both profiles, the bundled Brown corpus) into ${dataDir}`);
}
if (flags["prepare-only"]) {
  rmSync(work, { recursive: true, force: true });
  process.exit(0);
}

const rows: string[] = [];
for (let index = 1; index <= Number(flags.runs); index++) {
  const outputDir = join(work, `out-${index}`);
  const env = { ...base, AUTORESEARCH_OUTPUT_DIR: outputDir, AUTORESEARCH_METRICS_FILE: join(outputDir, "metrics.json") };
  const train = await run(project, ["run-python.ts", "train.py"], env);
  if (train.code !== 0) fail("train", train.output);
  const evaluationStarted = performance.now();
  const pair = await evaluateWithServers(project, { dataDir, outputDir, metricsFile: env.AUTORESEARCH_METRICS_FILE, python: process.env.AUTORESEARCH_PYTHON, device });
  const evaluation = { seconds: (performance.now() - evaluationStarted) / 1000, output: [pair.evaluation, ...pair.servers].map((part) => part.stdout + part.stderr).join("\n") };
  if (pair.evaluation.code !== 0) fail("evaluate", evaluation.output);
  const metrics = JSON.parse(readFileSync(env.AUTORESEARCH_METRICS_FILE, "utf8")) as Record<string, number> & { self_reported?: Record<string, number>; invalid?: string };
  if (metrics.invalid) fail("evaluate", metrics.invalid);
  const self = metrics.self_reported ?? {};
  // The training time actually counted (the CPU profile caps the budget at its own).
  const budget = self.train_seconds ?? Number(flags.budget);
  // Everything but counted training time: interpreter and torch start-up, compilation steps, saving, evaluation.
  const overhead = train.seconds - (self.train_seconds ?? 0) + evaluation.seconds;
  const figures = {
    device, val_bpb: metrics.val_bpb, test_bpb: metrics.test_bpb, tokens_per_second: self.tokens_per_second, mfu_percent: self.mfu_percent ?? null,
    peak_memory_mb: self.peak_vram_mb ?? self.peak_memory_mb, steps: self.num_steps, params_M: self.num_params_M,
    train_seconds: self.train_seconds, startup_seconds: self.startup_seconds, train_wall_seconds: train.seconds,
    evaluate_wall_seconds: evaluation.seconds, eval_tokens: metrics.eval_tokens, overhead_percent_of_budget: (100 * overhead) / budget,
    evaluate_percent_of_budget: (100 * evaluation.seconds) / budget,
  };
  console.log(JSON.stringify(figures));
  const f = (value: number | null | undefined, digits: number) => (value === null || value === undefined ? "—" : value.toFixed(digits));
  rows.push(`| ${index} | ${f(figures.val_bpb, 4)} | ${f(figures.test_bpb, 4)} | ${f(figures.tokens_per_second, 0)} | ${f(figures.mfu_percent, 1)} | ${f(figures.peak_memory_mb, 0)} | ${figures.steps} | ${f(figures.startup_seconds, 1)} | ${f(figures.evaluate_wall_seconds, 1)} (${f(figures.evaluate_percent_of_budget, 1)}%) | ${f(figures.overhead_percent_of_budget, 1)}% |`);
}
console.log(`\n| run | val_bpb | test_bpb | tokens/s | MFU % | peak MB | steps | start-up s | evaluate s (% of budget) | all overhead, % of budget |`);
console.log(`|---|---|---|---|---|---|---|---|---|---|`);
for (const row of rows) console.log(row);
if (flags.keep) console.log(`\nkept ${work}`);
else rmSync(work, { recursive: true, force: true });
