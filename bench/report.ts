// Prints the benchmark's tables and the PASS/MISS verdicts against the targets.
import type { Breakdown } from "./analysis.ts";
import { STEPS, type GitCosts } from "./git-costs.ts";
import type { ScenarioResult } from "./throughput.ts";

export const TARGET_RATIO = 0.97;
export const TARGET_OVERHEAD_MS = 300;
/** The budget real research sessions use (autoresearch's five minutes), for the projection. */
const REAL_BUDGET_SECONDS = 300;

interface Setup {
  budgetSeconds: number;
  evaluateSeconds: number;
  idealMs: number;
  machine: string;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ");
  return [line(header), widths.map((width) => "-".repeat(width)).join("  "), ...rows.map(line)].join("\n");
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(0) : "n/a");
const ratio = (value: number) => (Number.isFinite(value) ? value.toFixed(3) : "n/a");
const verdict = (pass: boolean) => (pass ? "PASS" : "MISS");

const BREAKDOWN_LABELS: Array<[keyof Breakdown, string]> = [
  ["trainRunner", "train runner"],
  ["betweenPhases", "train->eval"],
  ["evaluateRunner", "eval runner"],
  ["afterEvaluate", "after eval"],
  ["handoff", "handoff"],
  ["setup", "setup"],
  ["beforeTrain", "before train"],
];

export function printReport(results: ScenarioResult[], gitCosts: GitCosts, setup: Setup): void {
  const out: string[] = [];
  out.push("", `Machine: ${setup.machine}.`);
  out.push(`Ideal: one experiment per ${(setup.idealMs / 1000).toFixed(2)} s per slot (budget ${setup.budgetSeconds} s + evaluate ${setup.evaluateSeconds} s).`);
  out.push("steady = ideal / effective cycle (slots / the sum of each slot's rate of training starts, from its first candidate to its last); session = all experiments / (first started -> last finished) over slots x ideal.", "");

  out.push(table(
    ["throughput", "slots", "proposer ms", "experiments", "eff. cycle s", "steady", "session", "proposer bound", `steady >= ${TARGET_RATIO}`],
    results.map(({ scenario, figures, proposerBound }) => [
      scenario.name, String(scenario.slots), ms(scenario.proposerLatencyMs), String(figures.finished),
      (figures.effectiveCycleMs / 1000).toFixed(3), ratio(figures.steadyRatio), ratio(figures.sessionRatio), ratio(proposerBound),
      verdict(figures.steadyRatio >= TARGET_RATIO),
    ]),
  ));

  out.push("", "Harness overhead per experiment (ms): engine = ledger totalMs - train and evaluate process wall; cycle = time from one training start to the next on the same slot - the first one's process wall;",
    "CPU = CPU time per experiment of the harness process (self) and of every process it started and waited for (children: git, sh, sleep).", "");
  out.push(table(
    ["overhead", "engine mean", "engine p95", "cycle mean", "cycle p95", "train wall", "eval wall", "CPU self", "CPU children", `mean < ${TARGET_OVERHEAD_MS} ms`],
    results.map(({ scenario, figures, cpuMsPerExperiment }) => [
      scenario.name, ms(figures.overheadMs.mean), ms(figures.overheadMs.p95), ms(figures.cycleOverheadMs.mean), ms(figures.cycleOverheadMs.p95),
      ms(figures.trainWallMs.mean), ms(figures.evaluateWallMs.mean), ms(cpuMsPerExperiment.self), ms(cpuMsPerExperiment.children),
      `engine ${verdict(figures.overheadMs.mean < TARGET_OVERHEAD_MS)}, cycle ${verdict(figures.cycleOverheadMs.mean < TARGET_OVERHEAD_MS)}`,
    ]),
  ));

  out.push("", "Where the cycle overhead goes (mean ms per experiment; the columns add up to the cycle overhead):", "");
  out.push(table(
    ["breakdown", ...BREAKDOWN_LABELS.map(([, label]) => label), "sum"],
    results.map(({ scenario, figures }) => {
      const parts = BREAKDOWN_LABELS.map(([key]) => figures.breakdown[key]);
      return [scenario.name, ...parts.map(ms), ms(parts.reduce((sum, part) => sum + part, 0))];
    }),
  ));

  const withLatency = results.find((result) => result.scenario.slots === 1 && result.scenario.proposerLatencyMs > 0);
  const without = results.find((result) => result.scenario.slots === 1 && result.scenario.proposerLatencyMs === 0);
  if (withLatency && without) {
    const difference = withLatency.figures.effectiveCycleMs - without.figures.effectiveCycleMs;
    out.push("", `Proposer latency (1 slot): ${ms(withLatency.scenario.proposerLatencyMs)} ms vs 0 ms changes the mean cycle by ${difference >= 0 ? "+" : ""}${ms(difference)} ms`
      + ` (steady ${ratio(withLatency.figures.steadyRatio)} vs ${ratio(without.figures.steadyRatio)}; session ${ratio(withLatency.figures.sessionRatio)} vs ${ratio(without.figures.sessionRatio)}).`);
  }

  // Only where the proposer costs nothing: its latency would scale with the budget, the harness's cost does not.
  out.push("", `Projected steady ratio at a ${REAL_BUDGET_SECONDS} s budget from the harness's measured cost per cycle (arithmetic, not measured):`);
  for (const { scenario, figures } of results.filter((result) => result.scenario.proposerLatencyMs === 0)) {
    const harnessMs = figures.effectiveCycleMs - setup.idealMs;
    const projected = (REAL_BUDGET_SECONDS + setup.evaluateSeconds) * 1000 / ((REAL_BUDGET_SECONDS + setup.evaluateSeconds) * 1000 + harnessMs);
    out.push(`  ${scenario.name}: ${ratio(projected)} (${ms(harnessMs)} ms per cycle beyond the ideal)`);
  }

  out.push("", "Processes the harness starts per experiment (the workload's own two shells included):");
  for (const { scenario, spawnsPerExperiment } of results) {
    const total = [...spawnsPerExperiment.values()].reduce((sum, count) => sum + count, 0);
    const parts = [...spawnsPerExperiment].sort((a, b) => b[1] - a[1]).map(([label, count]) => `${label} ${count.toFixed(1)}`);
    out.push(`  ${scenario.name}: ${total.toFixed(1)} (${parts.join(", ")})`);
  }

  out.push("", `The engine's git verbs per experiment (mean ms as the caller waits; no repository lock in any of them). Spawning git --version: ${ms(gitCosts.spawnMs.git)} ms, sh -c true: ${ms(gitCosts.spawnMs.shell)} ms.`, "");
  const sum = (costs: Record<string, number>) => Object.values(costs).reduce((total, value) => total + value, 0);
  out.push(table(
    ["git verbs", ...STEPS, "sum"],
    [
      ["one at a time", ...STEPS.map((step) => ms(gitCosts.alone[step])), ms(sum(gitCosts.alone))],
      [`${gitCosts.concurrency} at once`, ...STEPS.map((step) => ms(gitCosts.concurrent[step])), ms(sum(gitCosts.concurrent))],
    ],
  ));

  const warnings = results.flatMap((result) => result.warnings.map((warning) => `${result.scenario.name}: ${warning}`));
  if (warnings.length > 0) out.push("", `Engine warnings (${warnings.length}):`, ...warnings.slice(0, 10).map((warning) => `  ${warning}`));
  process.stdout.write(`${out.join("\n")}\n`);
}
