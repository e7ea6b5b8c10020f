// How long `autoresearch --version`, `status`, `results` and `show` take as whole processes, against
// bare `node -e 0`: what a user waits for at the prompt, and the CPU time it takes (which a loaded
// machine inflates less than the wall time). See docs/benchmarks.md "CLI start-up".
// Usage: node bench/cli-startup.ts [--runs N]
import { spawnSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { EventBus } from "../src/events/types.ts";
import { Ledger } from "../src/ledger/sqlite.ts";
import { runSession } from "../src/loop/session.ts";
import { projectPaths } from "../src/project/paths.ts";
import { cpuMsSoFar } from "./probe.ts";
import { makeBenchProject } from "./project.ts";

const { values: flags } = parseArgs({ options: { runs: { type: "string", default: "15" } } });
const runs = Number(flags.runs);
if (!(Number.isInteger(runs) && runs >= 1)) {
  process.stderr.write("usage: node bench/cli-startup.ts [--runs N (integer >= 1)]\n");
  process.exit(2);
}

const cli = fileURLToPath(new URL("../bin/autoresearch.js", import.meta.url));
const cases: { name: string; args: string[] }[] = [
  { name: "node -e 0", args: ["-e", "0"] },
  { name: "autoresearch --version", args: [cli, "--version"] },
  { name: "autoresearch status", args: [cli, "status"] },
  { name: "autoresearch results", args: [cli, "results"] },
  { name: "autoresearch show 1", args: [cli, "show", "1"] },
];

/** A project whose ledger holds one finished experiment: the baseline of a session of the sleep workload. */
async function makeProject() {
  const project = makeBenchProject({ budgetSeconds: 0.2, evaluateSeconds: 0 });
  const result = await runSession({ projectDir: project.dir, tag: "bench", maxExperiments: 1, bus: new EventBus(), signal: new AbortController().signal });
  const ledger = Ledger.open(projectPaths(project.dir).stateDir, { readOnly: true });
  const rows = ledger.listExperiments({ tag: result.tag });
  ledger.close();
  if (rows.length !== 1 || rows[0]!.status !== "ok") {
    project.cleanup();
    throw new Error(`the setup session should leave one finished experiment, got ${rows.map((row) => `#${row.id} ${row.status}: ${row.reason}`).join("; ") || "none"}`);
  }
  return project;
}

/** Wall time, and CPU time of the child (user + system, from this process's waited-for children; 10 ms ticks). */
function timeOnce(args: string[], cwd: string): { wallMs: number; cpuMs: number } {
  const cpuBefore = cpuMsSoFar().children;
  const startedAt = performance.now();
  const child = spawnSync(process.execPath, args, { cwd, encoding: "utf8" });
  const wallMs = performance.now() - startedAt;
  if (child.status !== 0) throw new Error(`node ${args.join(" ")} exited ${child.status ?? child.signal}:\n${child.stderr}`);
  return { wallMs, cpuMs: cpuMsSoFar().children - cpuBefore };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main(): Promise<void> {
  process.stderr.write(`cli start-up bench: ${runs} runs each, ${cpus().length} cores, Node ${process.version}\n`);
  const project = await makeProject();
  try {
    const loadAtStart = loadavg()[0]!;
    const times = new Map(cases.map((entry) => [entry.name, [] as { wallMs: number; cpuMs: number }[]]));
    // Round-robin, so that a change in the machine's load touches every command alike.
    for (let run = 0; run < runs; run++) {
      for (const entry of cases) times.get(entry.name)!.push(timeOnce(entry.args, project.dir));
    }
    const loadAtEnd = loadavg()[0]!;
    const medians = (name: string) => {
      const samples = times.get(name)!;
      return { wallMs: median(samples.map((sample) => sample.wallMs)), cpuMs: median(samples.map((sample) => sample.cpuMs)), fastestMs: Math.min(...samples.map((sample) => sample.wallMs)) };
    };
    const bare = medians(cases[0]!.name);
    const ms = (value: number) => `${Math.round(value)} ms`;
    const rows = cases.map((entry) => {
      const figures = medians(entry.name);
      const own = entry === cases[0] ? ["", ""] : [ms(figures.wallMs - bare.wallMs), ms(figures.cpuMs - bare.cpuMs)];
      return `| \`${entry.name}\` | ${ms(figures.wallMs)} | ${ms(figures.fastestMs)} | ${own[0]} | ${ms(figures.cpuMs)} | ${own[1]} |`;
    });
    process.stdout.write(
      `| command | wall, median of ${runs} | fastest | own wall (− bare node) | CPU, median | own CPU (− bare node) |\n| --- | --- | --- | --- | --- | --- |\n${rows.join("\n")}\n\n` +
        `load average ${loadAtStart.toFixed(1)} at the start, ${loadAtEnd.toFixed(1)} at the end (${cpus().length} cores)\n`,
    );
  } finally {
    project.cleanup();
  }
}

await main();
