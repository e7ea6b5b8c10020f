// npm run bench: experiments per hour against the ideal (budget + evaluate per slot), and the
// harness's own overhead per experiment, on a workload that only sleeps. See docs/benchmarks.md.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { EventBus } from "../src/events/types.ts";
import { createLocalExecutor } from "../src/executors/local.ts";
import { Ledger } from "../src/ledger/sqlite.ts";
import { runSession } from "../src/loop/session.ts";
import { projectPaths } from "../src/project/paths.ts";
import { analyse, proposerBound, type ExperimentTrace, type ScenarioFigures } from "./analysis.ts";
import { countSpawns, cpuMsSoFar, FixedLatencyProposer, probeEvents, probeExecutor } from "./probe.ts";
import { measureGitCosts } from "./git-costs.ts";
import { makeBenchProject } from "./project.ts";
import { printReport } from "./report.ts";

export interface Scenario {
  name: string;
  slots: number;
  proposerLatencyMs: number;
  /** Candidates after the one baseline run. */
  candidates: number;
}

export interface ScenarioResult {
  scenario: Scenario;
  figures: ScenarioFigures;
  proposerBound: number;
  /** CPU time of the harness and the processes it waited for, per experiment (ms). */
  cpuMsPerExperiment: { self: number; children: number };
  /** Processes started per experiment, by kind ("git commit", "sh"). */
  spawnsPerExperiment: Map<string, number>;
  warnings: string[];
}

const { values: flags } = parseArgs({
  options: {
    budget: { type: "string", default: "4" },
    evaluate: { type: "string", default: "0.5" },
    rounds: { type: "string", default: "10" },
    slots: { type: "string" },
    traces: { type: "string" },
  },
});
const budgetSeconds = Number(flags.budget);
const evaluateSeconds = Number(flags.evaluate);
const rounds = Number(flags.rounds);
if (!(budgetSeconds > 0) || !(evaluateSeconds >= 0) || !(Number.isInteger(rounds) && rounds >= 2)) {
  process.stderr.write("usage: node bench/throughput.ts [--budget SECONDS (>0)] [--evaluate SECONDS (>=0)] [--rounds N (integer >= 2)] [--slots 1,8,16] [--traces DIR]\n");
  process.exit(2);
}
const idealMs = (budgetSeconds + evaluateSeconds) * 1000;
const halfBudgetMs = (budgetSeconds * 1000) / 2;

// With 8 slots the proposer (one call at a time) is the limit at budget/2 latency; fewer rounds keep the run short.
const allScenarios: Scenario[] = [
  { name: "1 slot, proposer budget/2", slots: 1, proposerLatencyMs: halfBudgetMs, candidates: rounds },
  { name: "1 slot, proposer 0 ms", slots: 1, proposerLatencyMs: 0, candidates: rounds },
  { name: "8 slots, proposer budget/2", slots: 8, proposerLatencyMs: halfBudgetMs, candidates: 8 * Math.max(2, Math.round(rounds / 4)) },
  { name: "8 slots, proposer 0 ms", slots: 8, proposerLatencyMs: 0, candidates: 8 * Math.max(2, Math.round(rounds / 2)) },
  { name: "16 slots, proposer 0 ms", slots: 16, proposerLatencyMs: 0, candidates: 16 * Math.max(2, Math.round(rounds / 4)) },
];
// --slots 1,16: only the scenarios with those slot counts (to look at one without the half hour of all).
const onlySlots = flags.slots === undefined ? null : flags.slots.split(",").map(Number);
if (onlySlots && !onlySlots.every((count) => allScenarios.some((scenario) => scenario.slots === count))) {
  process.stderr.write(`--slots takes a comma-separated list of ${[...new Set(allScenarios.map((scenario) => scenario.slots))].join(", ")}; got "${flags.slots}"\n`);
  process.exit(2);
}
// --traces DIR: each scenario's experiment traces as JSON, for a closer look than the tables give.
if (flags.traces) mkdirSync(flags.traces, { recursive: true });
const scenarios = onlySlots ? allScenarios.filter((scenario) => onlySlots.includes(scenario.slots)) : allScenarios;

/** A delay histogram's value (ns, the 5 ms resolution included) as ms of lateness. */
function lateMs(ns: number): string {
  return Math.max(0, ns / 1e6 - 5).toFixed(1);
}

async function runScenario(scenario: Scenario, signal: AbortSignal): Promise<ScenarioResult> {
  const project = makeBenchProject({ budgetSeconds, evaluateSeconds });
  try {
    const bus = new EventBus();
    const probe = probeEvents(bus);
    const cpuAtStart = cpuMsSoFar();
    const spawns = countSpawns();
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    const result = await runSession({
      projectDir: project.dir,
      tag: "bench",
      maxExperiments: 1 + scenario.candidates,
      slots: scenario.slots,
      bus,
      signal,
      executor: probeExecutor(createLocalExecutor(), probe),
      proposerInstance: new FixedLatencyProposer(scenario.proposerLatencyMs),
    });
    const cpuAtEnd = cpuMsSoFar();
    loopDelay.disable();
    // How late the harness's event loop ran (a 5 ms timer's lateness): every step of every slot waits for it.
    process.stderr.write(`event loop late by p50 ${lateMs(loopDelay.percentile(50))} p99 ${lateMs(loopDelay.percentile(99))} max ${lateMs(loopDelay.max)} ms; `);
    const spawnCounts = spawns.stop();
    probe.stop();
    if (signal.aborted) throw new Error("interrupted");
    if (result.paused) throw new Error(`the session paused: ${result.reason}`);
    const ledger = Ledger.open(projectPaths(project.dir).stateDir, { readOnly: true });
    const rows = ledger.listExperiments({ tag: result.tag });
    ledger.close();
    const failed = rows.filter((row) => row.status !== "ok");
    if (failed.length > 0) {
      throw new Error(`${failed.length} experiment(s) did not finish ok (${failed.map((row) => `#${row.id} ${row.status}: ${row.reason}`).join("; ")}); the figures would be meaningless`);
    }
    const traces: ExperimentTrace[] = rows.map((row) => {
      const probed = probe.experiments.get(row.id);
      if (!probed) throw new Error(`experiment ${row.id} is in the ledger but no experiment_started event was seen`);
      return { ...probed, setupMs: row.timings.setupMs ?? Number.NaN, totalMs: row.timings.totalMs ?? Number.NaN };
    });
    if (flags.traces) writeFileSync(join(flags.traces, `${scenario.slots}-slots-proposer-${scenario.proposerLatencyMs}ms.json`), `${JSON.stringify(traces)}\n`);
    return {
      scenario,
      figures: analyse(traces, scenario.slots, idealMs),
      proposerBound: proposerBound(scenario.slots, scenario.proposerLatencyMs, idealMs),
      cpuMsPerExperiment: { self: (cpuAtEnd.self - cpuAtStart.self) / rows.length, children: (cpuAtEnd.children - cpuAtStart.children) / rows.length },
      spawnsPerExperiment: new Map([...spawnCounts].map(([label, count]) => [label, count / rows.length])),
      warnings: probe.warnings,
    };
  } finally {
    project.cleanup();
  }
}

async function main(): Promise<void> {
  const controller = new AbortController();
  // Ctrl-C: let the engine stop its processes and remove its worktrees before we delete the project.
  process.once("SIGINT", () => controller.abort());
  process.stderr.write(`throughput bench: budget ${budgetSeconds} s, evaluate ${evaluateSeconds} s, ${cpus().length} cores, Node ${process.version}\n`);
  const loadAtStart = loadavg()[0]!;
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    const startedAt = performance.now();
    process.stderr.write(`  ${scenario.name}: ${1 + scenario.candidates} experiments ... `);
    results.push(await runScenario(scenario, controller.signal));
    process.stderr.write(`${((performance.now() - startedAt) / 1000).toFixed(0)} s\n`);
  }
  process.stderr.write("  git verbs of setup and teardown, timed alone and 8 at once ... ");
  const gitCosts = await measureGitCosts({ repeats: 16, concurrency: 8 });
  process.stderr.write("done\n");
  // Other work on the machine competes with the harness's git and process spawns; say how busy it was.
  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim() ?? "unknown CPU"}), Node ${process.version}, load average (1 min) ${loadAtStart.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end`;
  printReport(results, gitCosts, { budgetSeconds, evaluateSeconds, idealMs, machine });
}

main().catch((error: unknown) => {
  process.stderr.write(`\nthe benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
