// node bench/long-session.ts: what a long session's ledger costs each experiment. A night of short
// experiments leaves tens of thousands of rows; a decision, a job spec or a resume must not read them all.
// Each scenario runs a short session, copies one of its finished candidates into the ledger `rows` times,
// then resumes it for a few more experiments and compares them with the same resume over the bare ledger.
import { DatabaseSync } from "node:sqlite";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { EventBus } from "../src/events/types.ts";
import { LEDGER_FILE } from "../src/ledger/sqlite.ts";
import { runSession } from "../src/loop/session.ts";
import { projectPaths } from "../src/project/paths.ts";
import { makeBenchProject } from "./project.ts";
import { FixedLatencyProposer } from "./probe.ts";

const { values: flags } = parseArgs({ options: { rows: { type: "string", default: "20000" }, experiments: { type: "string", default: "12" } } });
const seeded = Number(flags.rows);
const experiments = Number(flags.experiments);
if (!(Number.isInteger(seeded) && seeded > 0) || !(Number.isInteger(experiments) && experiments >= 3)) {
  process.stderr.write("usage: node bench/long-session.ts [--rows N (integer > 0)] [--experiments N (integer >= 3)]\n");
  process.exit(2);
}

interface Figures {
  rows: number;
  resumeMs: number;
  cycleMs: number;
  engineMs: number;
}

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

async function scenario(rows: number): Promise<Figures> {
  const project = makeBenchProject({ budgetSeconds: 0.3, evaluateSeconds: 0.05 });
  try {
    const signal = new AbortController().signal;
    const session = (maxExperiments: number, bus = new EventBus()) =>
      runSession({ projectDir: project.dir, tag: "long", maxExperiments, slots: 1, bus, signal, proposerInstance: new FixedLatencyProposer(0) });
    await session(4);
    const db = new DatabaseSync(`${projectPaths(project.dir).stateDir}/${LEDGER_FILE}`);
    const columns = (db.prepare("PRAGMA table_info(experiments)").all() as { name: string }[]).map((column) => column.name).filter((name) => name !== "id");
    const source = db.prepare("SELECT id FROM experiments WHERE tag = 'long' AND kind = 'candidate' AND status = 'ok' ORDER BY id LIMIT 1").get() as { id: number };
    // Copies decided "discard", so the best stays the session's own.
    const copy = db.prepare(`INSERT INTO experiments (${columns.join(", ")}) SELECT ${columns.map((name) => (name === "decision" ? "'discard'" : name)).join(", ")} FROM experiments WHERE id = ?`);
    db.exec("BEGIN");
    for (let index = 0; index < rows; index++) copy.run(source.id);
    db.exec("COMMIT");
    const total = (db.prepare("SELECT count(*) AS n FROM experiments").get() as { n: number }).n;
    db.close();

    const bus = new EventBus();
    const starts: number[] = [];
    bus.subscribe((event) => {
      if (event.type === "experiment_started") starts.push(performance.now());
    });
    const calledAt = performance.now();
    await session(total + experiments, bus);
    const ledger = new DatabaseSync(`${projectPaths(project.dir).stateDir}/${LEDGER_FILE}`, { readOnly: true });
    const timings = (ledger.prepare("SELECT timings FROM experiments ORDER BY id DESC LIMIT ?").all(experiments) as { timings: string }[])
      .map((row) => JSON.parse(row.timings) as { totalMs?: number; trainMs?: number; evaluateMs?: number });
    ledger.close();
    return {
      rows: total,
      resumeMs: starts[0]! - calledAt,
      cycleMs: (starts.at(-1)! - starts[0]!) / (starts.length - 1),
      engineMs: mean(timings.map((each) => (each.totalMs ?? 0) - (each.trainMs ?? 0) - (each.evaluateMs ?? 0))),
    };
  } finally {
    project.cleanup();
  }
}

const startLoad = loadavg()[0]!;
const small = await scenario(0);
const large = await scenario(seeded);
const line = (figures: Figures) => `| ${figures.rows} | ${figures.resumeMs.toFixed(0)} ms | ${figures.cycleMs.toFixed(0)} ms | ${figures.engineMs.toFixed(1)} ms |`;
process.stdout.write([
  `long-session bench: ${experiments} experiments resumed after the ledger's rows (train 0.3 s, evaluate 0.05 s, 1 slot, Node ${process.version})`,
  "| rows in the ledger | resume: call → first experiment started | cycle (start to start) | engine overhead per experiment |",
  "| --- | --- | --- | --- |",
  line(small),
  line(large),
  "",
  `per experiment, ${large.rows} rows against ${small.rows}: cycle +${(large.cycleMs - small.cycleMs).toFixed(0)} ms, engine overhead ×${(large.engineMs / small.engineMs).toFixed(2)}; resume +${((large.resumeMs - small.resumeMs) / 1000).toFixed(1)} s once`,
  `load average (1 min) ${startLoad.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end`,
  "",
].join("\n"));
