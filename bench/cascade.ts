// What the cascade saves, measured on the real engine (git, sandboxed jobs, SQLite): one stream of candidates
// run twice, without and with a smoke stage. The workload trains for its budget (it sleeps), its loss
// follows a learning curve, and candidates are of four sorts: fine (null changes), clearly bad (a loss 3
// higher), diverging (NaN from the first step: no_metric at the end) and crashing at the final save (after
// the whole budget). Prints the wall time each session spent on candidates and on the smoke stage's
// yardstick, and the decisions, so the saving and what it cost are both on the table.
//   node bench/cascade.ts [--budget 4] [--smoke 0.5] [--each 3]
import { execFileSync } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { EventBus } from "../src/events/types.ts";
import { Ledger } from "../src/ledger/sqlite.ts";
import { runSession } from "../src/loop/session.ts";
import type { ExperimentRecord } from "../src/core/experiment.ts";

const { values } = parseArgs({ options: { budget: { type: "string", default: "4" }, smoke: { type: "string", default: "0.5" }, each: { type: "string", default: "3" } } });
const budgetSeconds = Number(values.budget);
const smokeSeconds = Number(values.smoke);
const each = Number(values.each);

const TRAIN = `
const fs = require("fs");
const params = JSON.parse(fs.readFileSync("params.json", "utf8"));
const budget = Number(process.env.AUTORESEARCH_BUDGET_SECONDS);
const id = Number(process.env.AUTORESEARCH_EXPERIMENT_ID);
const noise = 0.05 * Math.sin(id * 12.9898 + params.seed * 78.233);
setTimeout(() => {
  if (params.sort === "crash-at-save") { console.error("save_checkpoint: no such directory"); process.exit(1); }
  const loss = params.sort === "diverges" ? NaN : 1 + 2 / (1 + budget) + (params.sort === "bad" ? 3 : 0) + noise;
  fs.writeFileSync(process.env.AUTORESEARCH_OUTPUT_DIR + "/loss.json", JSON.stringify({ loss: Number.isNaN(loss) ? "NaN" : loss }));
}, budget * 1000);
`;
const EVALUATE = `
const fs = require("fs");
const { loss } = JSON.parse(fs.readFileSync(process.env.AUTORESEARCH_OUTPUT_DIR + "/loss.json", "utf8"));
fs.writeFileSync(process.env.AUTORESEARCH_METRICS_FILE, JSON.stringify({ loss: loss === "NaN" ? null : loss }));
`;

const SORTS = ["fine", "bad", "diverges", "crash-at-save"] as const;

function project(cascade: boolean): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "autoresearch-cascade-bench-")));
  const proposals = Array.from({ length: each }, (_, round) => SORTS.map((sort, index) => ({
    description: `${sort} ${round + 1}`, hypothesis: sort,
    edits: [{ path: "params.json", content: `${JSON.stringify({ sort, seed: round * 4 + index + 1 })}\n` }],
  }))).flat();
  const config = {
    mutable: ["params.json"], protected: ["evaluate.js", "train.js"],
    train: { command: "node train.js" }, evaluate: { command: "node evaluate.js" },
    metric: { name: "loss", direction: "min" }, budgetSeconds, devices: ["cpu"],
    proposer: { name: "replay", file: "proposals.json" },
    acceptance: { policy: "noise-aware", baselineRuns: 2 },
    stop: { maxConsecutiveFailures: 100 },
    ...(cascade ? { cascade: { budgetSeconds: smokeSeconds } } : {}),
  };
  const files: Record<string, string> = {
    "autoresearch.config.json": `${JSON.stringify(config, null, 2)}\n`, "program.md": "bench\n", "train.js": TRAIN, "evaluate.js": EVALUATE,
    "params.json": `${JSON.stringify({ sort: "fine", seed: 0 })}\n`, "proposals.json": `${JSON.stringify({ proposals }, null, 2)}\n`,
    ".gitignore": "/.autoresearch/\n/results.tsv\n",
  };
  for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
  const env = { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1", GIT_AUTHOR_NAME: "b", GIT_AUTHOR_EMAIL: "b@l", GIT_COMMITTER_NAME: "b", GIT_COMMITTER_EMAIL: "b@l" };
  for (const args of [["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "bench"]]) execFileSync("git", args, { cwd: dir, env, stdio: "ignore" });
  return dir;
}

async function session(cascade: boolean): Promise<ExperimentRecord[]> {
  const dir = project(cascade);
  try {
    await runSession({ projectDir: dir, tag: "b", bus: new EventBus(), signal: new AbortController().signal });
    const ledger = Ledger.open(join(dir, ".autoresearch"), { readOnly: true });
    try {
      return ledger.listExperiments({ tag: "b", order: "asc" });
    } finally {
      ledger.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const seconds = (rows: readonly ExperimentRecord[]) => rows.reduce((sum, row) => sum + (row.timings.totalMs ?? 0), 0) / 1000;
const outcome = (row: ExperimentRecord) => row.status !== "ok" ? row.status : row.metric === null ? "screened" : row.decision ?? "";

console.log(`cascade bench: budget ${budgetSeconds} s, smoke stage ${smokeSeconds} s, ${each} candidates of each sort (${SORTS.join(", ")})`);
const without = await session(false);
const withCascade = await session(true);
const lines: string[] = [];
for (const sort of SORTS) {
  const pick = (rows: ExperimentRecord[]) => rows.filter((row) => row.kind === "candidate" && row.hypothesis === sort);
  const a = pick(without);
  const b = pick(withCascade);
  lines.push(`| ${sort} | ${a.length} | ${seconds(a).toFixed(1)} s | ${seconds(b).toFixed(1)} s | ${[...new Set(a.map(outcome))].join("/")} → ${[...new Set(b.map(outcome))].join("/")} |`);
}
const candidates = (rows: ExperimentRecord[]) => rows.filter((row) => row.kind === "candidate");
const yardstick = withCascade.filter((row) => row.kind === "smoke");
const smokeStages = candidates(withCascade).reduce((sum, row) => sum + (row.timings.smokeMs ?? 0), 0) / 1000;
console.log("| candidates | n | wall without cascade | with cascade | outcome without → with |");
console.log("|---|---|---|---|---|");
for (const line of lines) console.log(line);
const saved = seconds(candidates(without)) - seconds(candidates(withCascade));
console.log(`| all | ${candidates(without).length} | ${seconds(candidates(without)).toFixed(1)} s | ${seconds(candidates(withCascade)).toFixed(1)} s | |`);
console.log(`smoke stages of the candidates: ${smokeStages.toFixed(1)} s (inside the "with" column); the yardstick's ${yardstick.length} smoke runs of the unchanged code: ${seconds(yardstick).toFixed(1)} s`);
console.log(`net saving: ${(saved - seconds(yardstick)).toFixed(1)} s of ${seconds(candidates(without)).toFixed(1)} s (${((saved - seconds(yardstick)) / seconds(candidates(without)) * 100).toFixed(0)}%); whole sessions ${seconds(without).toFixed(1)} s → ${seconds(withCascade).toFixed(1)} s`);
const keptWithout = candidates(without).filter((row) => row.decision === "keep").map((row) => row.description);
const keptWith = candidates(withCascade).filter((row) => row.decision === "keep").map((row) => row.description);
console.log(`kept without: [${keptWithout.join(", ")}]; with: [${keptWith.join(", ")}]`);
