// node bench/slurm-throughput.ts: the Slurm executor's throughput on the local Slurm cluster
// (scripts/slurm-local.sh) with the sleep workload — steady ratio of the ideal rate at 8 and 16 jobs in
// flight, dispatch latency (handed to the executor → `autoresearch job` started on the node) and result
// latency (the job's result written on the node → the decision recorded), and the time on the node beyond the two
// sleeps (Node's start, the checkout, the integrity checks, the sandboxes). See docs/benchmarks.md.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { EventBus } from "../src/events/types.ts";
import type { JobResult } from "../src/job/spec.ts";
import { runSession } from "../src/loop/session.ts";
import { poolCycle } from "./analysis.ts";
import { FixedLatencyProposer } from "./probe.ts";
import { makeBenchProject } from "./project.ts";

const { values: flags } = parseArgs({
  options: {
    budget: { type: "string", default: "10" },
    evaluate: { type: "string", default: "0.5" },
    rounds: { type: "string", default: "4" },
    slots: { type: "string", default: "8,16" },
    poll: { type: "string", default: "2" },
  },
});
const budgetSeconds = Number(flags.budget);
const evaluateSeconds = Number(flags.evaluate);
const rounds = Number(flags.rounds);
const pollSeconds = Number(flags.poll);
const slotCounts = flags.slots.split(",").map(Number);
if (!(budgetSeconds > 0) || !(evaluateSeconds >= 0) || !(Number.isInteger(rounds) && rounds >= 2) || slotCounts.some((n) => !(Number.isInteger(n) && n > 0)) || !(pollSeconds > 0)) {
  process.stderr.write("usage: node bench/slurm-throughput.ts [--budget S] [--evaluate S] [--rounds N >= 2] [--slots 8,16] [--poll S]\n");
  process.exit(2);
}
try {
  execFileSync("sinfo", ["--noheader"], { stdio: "ignore" });
} catch {
  process.stderr.write("no Slurm cluster answers here; start one with scripts/slurm-local.sh start\n");
  process.exit(1);
}
const idealMs = (budgetSeconds + evaluateSeconds) * 1000;

interface Figures {
  slots: number;
  experiments: number;
  steady: number;
  session: number;
  /** As session, from the first candidate's start: without the one baseline run, which a night's length dilutes. */
  afterBaseline: number;
  dispatchMs: number[];
  resultMs: number[];
  /** On the node, `autoresearch job`'s start → its result, less the budget and the evaluator's sleep. */
  nodeMs: number[];
  load: [number, number];
}

async function scenario(slots: number): Promise<Figures> {
  const project = makeBenchProject({ budgetSeconds, evaluateSeconds });
  try {
    const configPath = join(project.dir, "autoresearch.config.json");
    const config = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
    config.executor = { kind: "slurm", gpusPerJob: 1, pollSeconds };
    config.outputs = "all"; // every result.json stays, for the node's timestamps
    writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
    execFileSync("git", ["-c", "user.name=Bench", "-c", "user.email=bench@localhost", "commit", "-qam", "slurm"], { cwd: project.dir });

    const bus = new EventBus();
    const started = new Map<number, { at: number; kind: string; slot: number }>();
    const finished = new Map<number, number>();
    bus.subscribe((event) => {
      if (event.type === "experiment_started") started.set(event.id, { at: Date.parse(event.at), kind: event.kind, slot: event.slot });
      if (event.type === "experiment_finished") finished.set(event.id, Date.parse(event.at));
    });
    const loadBefore = loadavg()[0]!;
    await runSession({
      projectDir: project.dir, tag: `bench${slots}`, bus, signal: new AbortController().signal, slots,
      maxExperiments: 1 + slots * rounds, proposerInstance: new FixedLatencyProposer(0),
    });
    const loadAfter = loadavg()[0]!;
    const dispatchMs: number[] = [];
    const resultMs: number[] = [];
    const nodeMs: number[] = [];
    for (const [id, start] of started) {
      const result = JSON.parse(readFileSync(join(project.dir, ".autoresearch", "runs", String(id), "result.json"), "utf8")) as JobResult;
      if (result.host?.startedAt) dispatchMs.push(Date.parse(result.host.startedAt) - start.at);
      if (result.host?.startedAt && result.host.finishedAt) nodeMs.push(Date.parse(result.host.finishedAt) - Date.parse(result.host.startedAt) - idealMs);
      if (result.host?.finishedAt && finished.has(id)) resultMs.push(finished.get(id)! - Date.parse(result.host.finishedAt));
    }
    // Steady: each slot's rate of candidate starts, first to last (no baseline, no drain), summed (bench/analysis.ts).
    const cycleMs = poolCycle([...started.values()].filter((each) => each.kind === "candidate"), slots);
    const all = [...started.values()].map((each) => each.at);
    const lastFinish = Math.max(...finished.values());
    const sessionMs = lastFinish - Math.min(...all);
    const candidateStarts = [...started.values()].filter((each) => each.kind === "candidate").map((each) => each.at);
    const candidatesMs = lastFinish - Math.min(...candidateStarts);
    return {
      slots, experiments: started.size, steady: idealMs / cycleMs, session: (started.size * idealMs) / (slots * sessionMs),
      afterBaseline: (candidateStarts.length * idealMs) / (slots * candidatesMs),
      dispatchMs, resultMs, nodeMs, load: [loadBefore, loadAfter],
    };
  } finally {
    project.cleanup();
  }
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const results: Figures[] = [];
for (const slots of slotCounts) results.push(await scenario(slots));
process.stdout.write(`Slurm executor on the local cluster: budget ${budgetSeconds} s + evaluate ${evaluateSeconds} s (ideal ${seconds(idealMs)} per experiment per slot), ` +
  `${rounds} rounds, squeue every ${pollSeconds} s; ${cpus().length} CPUs\n\n`);
process.stdout.write("| jobs in flight | experiments | steady (of ideal) | session (of ideal) | after the baseline (of ideal) | dispatch median / p90 / max | on the node beyond the sleeps, median / p90 | result median / p90 / max | load avg (1 min) before → after |\n");
process.stdout.write("|---|---|---|---|---|---|---|---|---|\n");
for (const each of results) {
  const spread = (values: number[]) => `${seconds(quantile(values, 0.5))} / ${seconds(quantile(values, 0.9))} / ${seconds(Math.max(...values))}`;
  process.stdout.write(`| ${each.slots} | ${each.experiments} | ${each.steady.toFixed(3)} | ${each.session.toFixed(3)} | ${each.afterBaseline.toFixed(3)} | ${spread(each.dispatchMs)} | ${seconds(quantile(each.nodeMs, 0.5))} / ${seconds(quantile(each.nodeMs, 0.9))} | ${spread(each.resultMs)} | ${each.load[0].toFixed(1)} → ${each.load[1].toFixed(1)} |\n`);
}
