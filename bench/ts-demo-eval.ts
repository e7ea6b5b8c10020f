// The cost of scoring the ts-demo template in two parts: the scorer (evaluate.ts) with two model
// servers (serve.ts) connected as a session connects them (without the sandbox), against the
// in-process evaluator it replaced, read from git. Same prepared data, same trained model.
//   node bench/ts-demo-eval.ts [--runs N] [--budget S] [--before COMMIT]
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { copyTemplate, REPO_ROOT, runEvaluation, runScript, tempDir } from "../test/helpers/ts-demo.ts";

/** The last commit whose evaluate.ts ran the model in its own process. */
const IN_PROCESS_EVALUATOR = "8cc7d56";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "3" }, budget: { type: "string", default: "10" }, before: { type: "string", default: IN_PROCESS_EVALUATOR } },
});
const runs = Number(values.runs);
const work = tempDir("bench-ts-demo-eval");
const project = join(work.path, "project");
const dataDir = join(work.path, "data");
const trainOnly = join(work.path, "train-only");
const outputDir = join(work.path, "out");

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function fromGit(path: string): string {
  return execFileSync("git", ["show", `${values.before}:${path}`], { cwd: REPO_ROOT, encoding: "utf8" });
}

async function main(): Promise<void> {
  mkdirSync(project);
  copyTemplate(project);
  // The evaluator it replaced, beside the new one, with the constants it was written against.
  writeFileSync(join(project, "constants-before.ts"), fromGit("templates/ts-demo/constants.ts"));
  writeFileSync(join(project, "evaluate-before.ts"), fromGit("templates/ts-demo/evaluate.ts").replace('"./constants.ts"', '"./constants-before.ts"'));
  const prepared = await runScript(project, "prepare.ts", { AUTORESEARCH_DATA_DIR: dataDir, AUTORESEARCH_SPLIT_SECRET: randomBytes(32).toString("hex") });
  if (prepared.code !== 0) throw new Error(`prepare failed:\n${prepared.stderr}`);
  mkdirSync(trainOnly);
  copyFileSync(join(dataDir, "train.bin"), join(trainOnly, "train.bin"));
  const trained = await runScript(project, "train.ts", { AUTORESEARCH_DATA_DIR: trainOnly, AUTORESEARCH_OUTPUT_DIR: outputDir, AUTORESEARCH_BUDGET_SECONDS: values.budget! });
  if (trained.code !== 0) throw new Error(`train failed:\n${trained.stderr}`);

  const rows: Record<string, { wall: number[]; eval: number[]; bpb: number[] }> = {
    [`in one process (${values.before})`]: { wall: [], eval: [], bpb: [] },
    "scorer + 2 model servers": { wall: [], eval: [], bpb: [] },
  };
  const [before, after] = Object.values(rows);
  for (let run = 0; run < runs; run++) {
    const metricsFile = join(work.path, `before-${run}.json`);
    let started = performance.now();
    const old = await runScript(project, "evaluate-before.ts", { AUTORESEARCH_DATA_DIR: dataDir, AUTORESEARCH_OUTPUT_DIR: outputDir, AUTORESEARCH_METRICS_FILE: metricsFile });
    if (old.code !== 0) throw new Error(`the old evaluator failed:\n${old.stderr}`);
    before.wall.push((performance.now() - started) / 1000);
    const oldMetrics = JSON.parse(readFileSync(metricsFile, "utf8")) as Record<string, number>;
    before.eval.push(oldMetrics.eval_seconds);
    before.bpb.push(oldMetrics.val_bpb);

    started = performance.now();
    const split = await runEvaluation(project, { dataDir, outputDir, metricsFile: join(work.path, `after-${run}.json`) });
    if (split.scorer.code !== 0 || !split.metrics) throw new Error(`the scorer failed:\n${split.scorer.stderr}`);
    after.wall.push((performance.now() - started) / 1000);
    after.eval.push(split.metrics.eval_seconds as number);
    after.bpb.push(split.metrics.val_bpb as number);
  }
  console.log(`${runs} runs each, model trained ${values.budget} s; medians\n`);
  console.log("| evaluator | wall s, launch to exit | eval_seconds | val_bpb |\n| --- | --- | --- | --- |");
  for (const [name, row] of Object.entries(rows)) {
    console.log(`| ${name} | ${median(row.wall).toFixed(2)} | ${median(row.eval).toFixed(2)} | ${median(row.bpb).toFixed(6)} |`);
  }
}

main().finally(() => work.cleanup());
