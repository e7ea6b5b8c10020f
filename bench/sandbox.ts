// node bench/sandbox.ts [--runs N] [--experiments N]: what the sandbox costs, measured side by side.
//   1. Start-up: a phase that does nothing (`true`), as a plain process group and in the sandbox,
//      and an evaluation split into a scorer and two model servers (each sandboxed) against one scorer.
//   2. Per experiment: a session on the sleep workload (bench/project.ts) sandboxed and --unsandboxed,
//      the harness's overhead per experiment (wall time beyond the budget and the evaluation).
// Runs alternate between the two sides, so a machine that gets busier mid-run hurts both alike.
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { EventBus } from "../src/events/types.ts";
import { Ledger } from "../src/ledger/sqlite.ts";
import { runSession } from "../src/loop/session.ts";
import { projectPaths } from "../src/project/paths.ts";
import { runCommand, type RunSpec } from "../src/runner/process.ts";
import { runServed } from "../src/runner/served.ts";
import { interpreterPaths, sandboxProblem, type SandboxSpec } from "../src/sandbox/index.ts";
import { FixedLatencyProposer } from "./probe.ts";
import { makeBenchProject } from "./project.ts";

const { values: flags } = parseArgs({ options: { runs: { type: "string", default: "20" }, experiments: { type: "string", default: "6" } } });
const runs = Number(flags.runs);
const experiments = Number(flags.experiments);
if (!(Number.isInteger(runs) && runs >= 3) || !(Number.isInteger(experiments) && experiments >= 2)) {
  process.stderr.write("usage: node bench/sandbox.ts [--runs N (>= 3)] [--experiments N (>= 2)]\n");
  process.exit(2);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function startupCosts(): Promise<{ plain: number; sandboxed: number; scorerOnly: number; served: number }> {
  const dir = mkdtempSync(join(tmpdir(), "autoresearch-bench-sandbox-"));
  try {
    const sandbox: SandboxSpec = {
      cwd: dir, readOnly: interpreterPaths({ path: process.env.PATH ?? "", home: process.env.HOME, excluded: [dir] }), writable: [dir],
      network: false, devices: [], limits: { tmpMb: 64, maxFileMb: 64, maxProcesses: 256 },
    };
    const spec = (command: string, withSandbox: boolean): RunSpec => ({
      command, cwd: dir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, logPath: join(dir, "log"), timeoutMs: 30_000, killGraceMs: 500,
      ...(withSandbox ? { sandbox } : {}),
    });
    const times = { plain: [] as number[], sandboxed: [] as number[], scorerOnly: [] as number[], served: [] as number[] };
    const time = async (body: () => Promise<unknown>) => {
      const started = performance.now();
      await body();
      return performance.now() - started;
    };
    const answerOnce = "read request; echo answer";
    const askBoth = "echo a >&3; read x <&4; echo b >&5; read y <&6";
    for (let run = 0; run < runs; run++) {
      times.plain.push(await time(() => runCommand(spec("true", false))));
      times.sandboxed.push(await time(() => runCommand(spec("true", true))));
      times.scorerOnly.push(await time(() => runCommand(spec("true", true))));
      times.served.push(await time(() => runServed({ scorer: spec(askBoth, true), servers: [spec(answerOnce, true), spec(answerOnce, true)] })));
    }
    return { plain: median(times.plain), sandboxed: median(times.sandboxed), scorerOnly: median(times.scorerOnly), served: median(times.served) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Mean harness overhead per experiment (ms): wall time of the session's experiments beyond budget + evaluation. */
async function sessionOverhead(unsandboxed: boolean): Promise<{ overheadMs: number; setupMs: number; trainMs: number; evaluateMs: number }> {
  const budgetSeconds = 1;
  const evaluateSeconds = 0.2;
  const project = makeBenchProject({ budgetSeconds, evaluateSeconds });
  try {
    const result = await runSession({
      projectDir: project.dir, tag: "bench", maxExperiments: experiments, bus: new EventBus(), signal: new AbortController().signal,
      proposerInstance: new FixedLatencyProposer(0), unsandboxed,
    });
    if (result.paused) throw new Error(`the session paused: ${result.reason}`);
    const ledger = Ledger.open(projectPaths(project.dir).stateDir, { readOnly: true });
    const rows = ledger.listExperiments({ tag: result.tag });
    ledger.close();
    const failed = rows.filter((row) => row.status !== "ok");
    if (failed.length > 0) throw new Error(`experiments did not finish ok: ${failed.map((row) => `#${row.id} ${row.status} ${row.reason}`).join("; ")}`);
    const mean = (pick: (row: (typeof rows)[number]) => number) => rows.reduce((sum, row) => sum + pick(row), 0) / rows.length;
    return {
      overheadMs: mean((row) => (row.timings.totalMs ?? 0) - (budgetSeconds + evaluateSeconds) * 1000),
      setupMs: mean((row) => row.timings.setupMs ?? 0),
      trainMs: mean((row) => row.timings.trainMs ?? 0),
      evaluateMs: mean((row) => row.timings.evaluateMs ?? 0),
    };
  } finally {
    project.cleanup();
  }
}

async function main(): Promise<void> {
  const problem = await sandboxProblem();
  if (problem) throw new Error(`no sandbox here: ${problem}`);
  const load = loadavg()[0]!;
  process.stderr.write(`sandbox bench: ${runs} runs each, ${cpus().length} cores, Node ${process.version}, load ${load.toFixed(2)}\n`);
  const startup = await startupCosts();
  const sessions = { sandboxed: [] as Awaited<ReturnType<typeof sessionOverhead>>[], unsandboxed: [] as Awaited<ReturnType<typeof sessionOverhead>>[] };
  for (let round = 0; round < 2; round++) {
    sessions.sandboxed.push(await sessionOverhead(false));
    sessions.unsandboxed.push(await sessionOverhead(true));
  }
  const averaged = (list: Awaited<ReturnType<typeof sessionOverhead>>[]) => ({
    overheadMs: list.reduce((sum, item) => sum + item.overheadMs, 0) / list.length,
    trainMs: list.reduce((sum, item) => sum + item.trainMs, 0) / list.length,
    evaluateMs: list.reduce((sum, item) => sum + item.evaluateMs, 0) / list.length,
  });
  const sandboxed = averaged(sessions.sandboxed);
  const unsandboxed = averaged(sessions.unsandboxed);
  const ms = (value: number) => `${value.toFixed(0)} ms`;
  const lines = [
    `| | unsandboxed | sandboxed | difference |`,
    `| --- | --- | --- | --- |`,
    `| a phase that does nothing (median of ${runs}) | ${ms(startup.plain)} | ${ms(startup.sandboxed)} | +${ms(startup.sandboxed - startup.plain)} |`,
    `| evaluation: scorer alone vs scorer + 2 model servers, all sandboxed (median of ${runs}) | ${ms(startup.scorerOnly)} | ${ms(startup.served)} | +${ms(startup.served - startup.scorerOnly)} |`,
    `| train phase of a 1 s sleep (mean of ${2 * experiments} experiments) | ${ms(unsandboxed.trainMs)} | ${ms(sandboxed.trainMs)} | +${ms(sandboxed.trainMs - unsandboxed.trainMs)} |`,
    `| evaluate phase of a 0.2 s sleep | ${ms(unsandboxed.evaluateMs)} | ${ms(sandboxed.evaluateMs)} | +${ms(sandboxed.evaluateMs - unsandboxed.evaluateMs)} |`,
    `| harness overhead per experiment (wall beyond budget + evaluation) | ${ms(unsandboxed.overheadMs)} | ${ms(sandboxed.overheadMs)} | +${ms(sandboxed.overheadMs - unsandboxed.overheadMs)} |`,
  ];
  process.stdout.write(`${lines.join("\n")}\n\nload average (1 min) ${load.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`the benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
