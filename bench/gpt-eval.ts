// The cost of scoring the gpt template in two parts: the scorer (evaluate.py) with two model
// servers (serve.py) connected as a session connects them (without the sandbox), against the
// in-process evaluator it replaced, read from git. Same prepared data (the CPU profile), same
// trained model, runs alternating between the two.
//   node bench/gpt-eval.ts [--runs N] [--budget S] [--before COMMIT] [--data DIR]
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { copyGptTemplate, evaluateWithServers, runNode } from "../test/helpers/gpt.ts";
import { REPO_ROOT, tempDir } from "../test/helpers/ts-demo.ts";

/** The last commit whose evaluate.py ran the model in its own process. */
const IN_PROCESS_EVALUATOR = "a492294";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" }, budget: { type: "string", default: "10" }, before: { type: "string", default: IN_PROCESS_EVALUATOR },
    data: { type: "string" },
  },
});
const runs = Number(values.runs);
const work = tempDir("bench-gpt-eval");
const project = join(work.path, "project");
const dataDir = values.data ? resolve(values.data) : join(work.path, "data");
const outputDir = join(work.path, "out");
const cpu = { AUTORESEARCH_DEVICE: "cpu", CUDA_VISIBLE_DEVICES: "" };

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  mkdirSync(project);
  const constants = JSON.parse(readFileSync(join(REPO_ROOT, "templates", "gpt", "constants.json"), "utf8")) as Record<string, unknown>;
  copyGptTemplate(project, { ...constants, profile: "cpu" });
  // The evaluator it replaced, beside the new one: it loads gpt_data.py and train.py by path, as before.
  writeFileSync(join(project, "evaluate-before.py"), execFileSync("git", ["show", `${values.before}:templates/gpt/evaluate.py`], { cwd: REPO_ROOT, encoding: "utf8" }));
  if (!existsSync(join(dataDir, "manifest.json"))) {
    const prepared = await runNode(project, ["prepare.ts"], { AUTORESEARCH_DATA_DIR: dataDir, AUTORESEARCH_SPLIT_SECRET: randomBytes(32).toString("hex") }, 600_000);
    if (prepared.code !== 0) throw new Error(`prepare failed:\n${prepared.stderr}`);
  }
  const trained = await runNode(project, ["run-python.ts", "train.py"], { ...cpu, AUTORESEARCH_DATA_DIR: dataDir, AUTORESEARCH_OUTPUT_DIR: outputDir, AUTORESEARCH_BUDGET_SECONDS: values.budget! });
  if (trained.code !== 0) throw new Error(`train failed:\n${trained.stderr}`);

  const rows: Record<string, { wall: number[]; eval: number[]; bpb: number[] }> = {
    [`in one process (${values.before})`]: { wall: [], eval: [], bpb: [] },
    "scorer + 2 model servers": { wall: [], eval: [], bpb: [] },
  };
  const [before, after] = Object.values(rows) as [typeof rows[string], typeof rows[string]];
  for (let run = 0; run < runs; run++) {
    const metricsFile = join(work.path, `before-${run}.json`);
    let started = performance.now();
    const old = await runNode(project, ["run-python.ts", "evaluate-before.py"], { ...cpu, AUTORESEARCH_DATA_DIR: dataDir, AUTORESEARCH_OUTPUT_DIR: outputDir, AUTORESEARCH_METRICS_FILE: metricsFile });
    if (old.code !== 0) throw new Error(`the old evaluator failed:\n${old.stderr}`);
    before.wall.push((performance.now() - started) / 1000);
    const oldMetrics = JSON.parse(readFileSync(metricsFile, "utf8")) as Record<string, number>;
    before.eval.push(oldMetrics.eval_seconds!);
    before.bpb.push(oldMetrics.val_bpb!);

    started = performance.now();
    const split = await evaluateWithServers(project, { dataDir, outputDir, metricsFile: join(work.path, `after-${run}.json`), python: process.env.AUTORESEARCH_PYTHON });
    if (split.evaluation.code !== 0 || !split.metrics || split.metrics.invalid) throw new Error(`the scorer failed:\n${split.evaluation.stderr}`);
    after.wall.push((performance.now() - started) / 1000);
    after.eval.push(split.metrics.eval_seconds as number);
    after.bpb.push(split.metrics.val_bpb as number);
  }
  console.log(`${runs} runs each, CPU profile, model trained ${values.budget} s; medians\n`);
  console.log("| evaluator | wall s, launch to exit | eval_seconds | val_bpb |\n| --- | --- | --- | --- |");
  for (const [name, row] of Object.entries(rows)) {
    console.log(`| ${name} | ${median(row.wall).toFixed(2)} | ${median(row.eval).toFixed(2)} | ${median(row.bpb).toFixed(6)} |`);
  }
}

main().finally(() => work.cleanup());
