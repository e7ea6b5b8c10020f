// node bench/share-throughput.ts: a shared study (#11) with N workers on this machine (1, 2, 4, 8 by default),
// first one engine on the same project with its local ledger (what sharing costs one worker), then
// each a real `autoresearch run` process in its own clone, on a throw-away PostgreSQL and a bare git remote;
// the sleep workload (every measurement sleeps --sleep ms) and the search proposer. Prints, per N:
//   - experiments per hour in the steady window (every worker running) against N × the one-worker rate;
//   - how long a new best takes to reach every worker: from the best's transaction in the database to each other
//     worker recording that it builds on it (workers.best_version, polled every 20 ms), and its median and max;
//   - how long until every other worker has heard of it (its study_best event: the engine's NOTIFY path);
// and, without the engine, the NOTIFY path alone: N connections as the workers open them, the time from a
// best's commit to the last of them having re-read it. See docs/benchmarks.md ("Shared study").
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg, cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { migrate } from "../src/share/schema.ts";
import { SharedStudy } from "../src/share/study.ts";
import { startPostgres } from "../test/helpers/postgres.ts";
import { finished, makeProject, makeStudy, query, startWorker, workerId, type Cleanup, type MeasureKind } from "../test/helpers/shared-study.ts";
import { poolCycle } from "./analysis.ts";

const { values: flags } = parseArgs({
  options: {
    workers: { type: "string", default: "1,2,4,8" },
    sleep: { type: "string", default: "2000" },
    experiments: { type: "string", default: "12" },
    notifies: { type: "string", default: "20" },
    measure: { type: "string", default: "sh" },
    traces: { type: "string" },
  },
});
const workerCounts = flags.workers.split(",").map(Number);
const sleepMs = Number(flags.sleep);
const experiments = Number(flags.experiments);
const notifies = Number(flags.notifies);
const measureKind = flags.measure as MeasureKind;
if (workerCounts.some((n) => !(Number.isInteger(n) && n > 0)) || !(sleepMs >= 0) || !(Number.isInteger(experiments) && experiments >= 3) || !(Number.isInteger(notifies) && notifies >= 1) || !["sh", "node"].includes(measureKind)) {
  process.stderr.write("usage: node bench/share-throughput.ts [--workers 1,2,4,8] [--sleep MS] [--experiments N >= 3 per worker] [--notifies N] [--measure sh|node] [--traces DIR]\n");
  process.exit(2);
}

const started = startPostgres();
if (typeof started === "string") {
  process.stderr.write(`${started}\n`);
  process.exit(1);
}
const postgres = started;
const cleanups: Array<() => unknown> = [];
const cleanup: Cleanup = { after: (fn) => void cleanups.push(fn) };

interface Figures {
  workers: number;
  experiments: number;
  perHour: number;
  windowSeconds: number;
  /** (version, worker) pairs: ms from the best's transaction to the worker building on it. */
  reach: number[];
  /** Per version: ms until the last other worker built on it. */
  reachAll: number[];
  /** Per version: ms until the last other worker heard of it (its study_best event, or a later version's). */
  heardAll: number[];
  /** Proposals not run because another worker had claimed or run the same code. */
  refused: number;
  timeline: { running: number; between: number; betweenMean: number };
}

/**
 * The steady window of some runs' --json output (from the moment every worker has finished an experiment to the
 * moment the first one finished its last), the experiments finished in it, and their rate per hour: each worker's
 * own rate between its first and last finish in the window, summed (bench/analysis.ts poolCycle). Counting the
 * finishes in the window instead is off by up to one per worker, which is 7% at 30 s experiments.
 */
function steadyWindow(outputs: readonly string[]): { experiments: number; seconds: number; perHour: number; start: number; end: number } {
  const finishes = outputs.map((text) => text.split("\n").filter((line) => line.includes('"experiment_finished"')).map((line) => Date.parse((JSON.parse(line) as { at: string }).at)));
  const start = Math.max(...finishes.map((times) => times[0]!));
  const end = Math.min(...finishes.map((times) => times.at(-1)!));
  const inWindow = finishes.flatMap((times, worker) => times.filter((at) => at >= start && at <= end).map((at) => ({ slot: worker, at })));
  const cycleMs = poolCycle(inWindow, outputs.length);
  return {
    experiments: inWindow.filter(({ at }) => at > start).length, seconds: (end - start) / 1000,
    perHour: Number.isFinite(cycleMs) ? (outputs.length * 3_600_000) / cycleMs : 0, start, end,
  };
}

/**
 * Where a worker's time goes, over every worker's experiments: start → finish (the measurement and what the
 * engine does around it until the decision) and finish → the worker's next start (the proposal, the claim, a
 * move to a new best), each a median in ms.
 */
function timeline(outputs: readonly string[]): { running: number; between: number; betweenMean: number } {
  const running: number[] = [];
  const between: number[] = [];
  for (const text of outputs) {
    const started = new Map<number, number>();
    let lastFinish: number | null = null;
    for (const line of text.split("\n")) {
      if (!line.includes('"experiment_started"') && !line.includes('"experiment_finished"')) continue;
      const event = JSON.parse(line) as { type: string; at: string; id: number };
      const id = event.id;
      const at = Date.parse(event.at);
      if (event.type === "experiment_started") {
        started.set(id, at);
        if (lastFinish !== null) between.push(at - lastFinish);
      } else {
        if (started.has(id)) running.push(at - started.get(id)!);
        lastFinish = at;
      }
    }
  }
  return { running: median(running), between: median(between), betweenMean: between.reduce((sum, value) => sum + value, 0) / Math.max(1, between.length) };
}

/** One engine on the same project with its local ledger (no study): what sharing costs a single worker. */
async function runLocal(): Promise<{ perHour: number; timeline: { running: number; between: number; betweenMean: number } }> {
  const { host } = makeProject(cleanup, {}, measureKind);
  const run = await finished(startWorker(host, ["--max-experiments", String(experiments)], { AUTORESEARCH_TEST_SLEEP_MS: String(sleepMs) }));
  if (run.code !== 0) throw new Error(`the local run exited ${run.code}: ${run.stderr.slice(-2000)}`);
  return { perHour: steadyWindow([run.stdout]).perHour, timeline: timeline([run.stdout]) };
}

async function runStudy(workers: number): Promise<Figures> {
  const db = await postgres.database(`bench_${workers}`);
  const study = await makeStudy(cleanup, db, workers, {}, { measure: measureKind });
  const env = { AUTORESEARCH_TEST_SLEEP_MS: String(sleepMs) };
  const seen = new Map<string, Map<number, number>>(); // worker → version → first ms seen building on it
  let polling = true;
  const poller = (async () => {
    const client = new pg.Client({ connectionString: db });
    await client.connect();
    try {
      while (polling) {
        const now = Date.now();
        for (const row of (await client.query<{ id: string; best_version: number | null }>("SELECT id, best_version FROM workers")).rows) {
          if (row.best_version === null) continue;
          const versions = seen.get(row.id) ?? new Map<number, number>();
          if (!versions.has(row.best_version)) versions.set(row.best_version, now);
          seen.set(row.id, versions);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await client.end();
    }
  })();
  const runs = await Promise.all(study.workers.map((dir) => finished(startWorker(dir, ["--max-experiments", String(experiments)], env))));
  polling = false;
  await poller;
  // --traces DIR: each worker's --json events, for a closer look than the figures give.
  if (flags.traces) {
    mkdirSync(flags.traces, { recursive: true });
    for (const [index, run] of runs.entries()) writeFileSync(join(flags.traces, `n${workers}-worker${index}.jsonl`), run.stdout);
  }
  for (const [index, run] of runs.entries()) if (run.code !== 0) throw new Error(`worker ${index} exited ${run.code}: ${run.stderr.slice(-2000)}`);

  const { experiments: inWindow, seconds: windowSeconds, perHour, start, end } = steadyWindow(runs.map((run) => run.stdout));

  const history = await query<{ version: number; worker: string; at: Date }>(db, "SELECT version, worker, at FROM best_history ORDER BY version");
  const reach: number[] = [];
  const reachAll: number[] = [];
  const heardAll: number[] = [];
  const ids = study.workers.map(workerId);
  const heardBy = runs.map((run) => run.stdout.split("\n").filter((line) => line.includes('"study_best"')).map((line) => JSON.parse(line) as { version: number; at: string }));
  for (const version of history) {
    const at = version.at.getTime();
    if (at < start || at > end) continue;
    const times = ids.flatMap((id, index) => (id === version.worker ? [] : [heardBy[index]!.filter((event) => event.version >= version.version).map((event) => Date.parse(event.at))[0]]));
    if (times.length > 0 && times.every((ms) => ms !== undefined)) heardAll.push(Math.max(0, ...times.map((ms) => ms! - at)));
  }
  for (const version of history) {
    const at = version.at.getTime();
    if (at < start || at > end) continue; // a best announced while every worker still runs
    const others = [...seen.keys()].filter((id) => id !== version.worker);
    const times = others.map((id) => [...(seen.get(id) ?? new Map<number, number>())].filter(([known]) => known >= version.version).map(([, ms]) => ms).sort((a, b) => a - b)[0]);
    if (times.some((ms) => ms === undefined)) continue; // a worker that stopped first never built on it
    const delays = times.map((ms) => Math.max(0, ms! - at));
    reach.push(...delays);
    if (delays.length > 0) reachAll.push(Math.max(...delays));
  }
  const refused = runs.map((run) => run.stdout.split("\n").filter((line) => line.includes('"proposal_skipped"') && / (run already|being run) by worker /.test(line)).length).reduce((sum, count) => sum + count, 0);
  return { workers, experiments: inWindow, perHour, windowSeconds, reach, reachAll, heardAll, refused, timeline: timeline(runs.map((run) => run.stdout)) };
}

/** The NOTIFY path alone: N connections as workers open them; one records bests; ms until all have re-read each. */
async function notifyLatency(listeners: number): Promise<number[]> {
  const db = await postgres.database(`notify_${listeners}`);
  const pool = new pg.Pool({ connectionString: db });
  const client = await pool.connect();
  await migrate(client);
  client.release();
  await pool.query("INSERT INTO studies (name, base_commit, remote, metric, direction) VALUES ('s', 'base', '/nowhere', 'score', 'min')");
  await pool.end();
  const waiting = new Map<number, { pending: number; resolve: () => void }>();
  const open = (worker: string, onChange?: () => void) => SharedStudy.open({ url: db, study: "s", worker, deviceClass: "cpu", leaseSeconds: 60, host: "bench", onChange });
  const studies: SharedStudy[] = [];
  for (let index = 0; index < listeners; index++) {
    const study: SharedStudy = await open(`w${index}`, () => {
      const version = study.best()?.version ?? 0;
      const entry = waiting.get(version);
      if (entry && --entry.pending === 0) entry.resolve();
    });
    studies.push(study);
  }
  const writer = await open("writer");
  const delays: number[] = [];
  try {
    for (let version = 1; version <= notifies; version++) {
      const all = new Promise<void>((resolve) => waiting.set(version, { pending: listeners, resolve }));
      const started = performance.now();
      const row = { localId: version, kind: "candidate", status: "ok", decision: "keep", fingerprint: null, parentCommit: "base", candidateCommit: `c${version}`, device: "cpu", proposer: "bench", description: "", meta: null, metric: 100 - version, bestBefore: null, rationale: null, reason: null, startedAt: null, finishedAt: null };
      const answer = await writer.record([row], null, { commit: `c${version}`, ref: `r${version}`, metric: 100 - version, localId: version, expectedVersion: version - 1 });
      if (answer.kind !== "recorded") throw new Error(`best ${version}: ${answer.kind}`);
      await all;
      delays.push(performance.now() - started);
    }
  } finally {
    await Promise.all([...studies, writer].map((study) => study.close()));
  }
  return delays;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const ms = (value: number) => (Number.isNaN(value) ? "—" : `${Math.round(value)} ms`);

try {
  process.stdout.write(`shared study, sleep workload ${sleepMs} ms (measured by ${measureKind === "sh" ? "sh measure.sh" : "node measure.js"}), ${experiments} experiments per worker, search proposer; ${cpus().length} CPUs, load ${loadavg().map((value) => value.toFixed(2)).join(" ")}\n`);
  const { perHour: local, timeline: alone } = await runLocal();
  process.stdout.write(`one engine, local ledger (no study): ${local.toFixed(0)} experiments/hour; start → finish ${ms(alone.running)}, finish → next start ${ms(alone.between)} (medians; mean ${ms(alone.betweenMean)}); load ${loadavg()[0]!.toFixed(2)}\n`);
  const results: Figures[] = [];
  for (const workers of workerCounts) {
    const figures = await runStudy(workers);
    results.push(figures);
    const one = results.find((each) => each.workers === 1)?.perHour;
    const ratio = one ? figures.perHour / (workers * one) : Number.NaN;
    process.stdout.write(
      `N=${workers}: ${figures.perHour.toFixed(0)} experiments/hour (${figures.experiments} in a steady window of ${figures.windowSeconds.toFixed(1)} s; ${(figures.perHour / local).toFixed(2)} of one local engine)` +
      `${Number.isNaN(ratio) ? "" : `, ${ratio.toFixed(2)} of N × one worker`}; a new best reaches every other worker in median ${ms(median(figures.reachAll))}, ` +
      `max ${ms(figures.reachAll.length > 0 ? Math.max(...figures.reachAll) : Number.NaN)} (${figures.reachAll.length} bests; per worker median ${ms(median(figures.reach))}); ` +
      `every other worker hears of it in median ${ms(median(figures.heardAll))}, max ${ms(figures.heardAll.length > 0 ? Math.max(...figures.heardAll) : Number.NaN)} (${figures.heardAll.length} bests); ` +
      `${figures.refused} proposals not run (claimed or run by another worker); start → finish ${ms(figures.timeline.running)}, finish → next start ${ms(figures.timeline.between)} (medians; mean ${ms(figures.timeline.betweenMean)}); load ${loadavg()[0]!.toFixed(2)}\n`,
    );
  }
  for (const listeners of [...new Set([...workerCounts, 8])].sort((a, b) => a - b)) {
    const delays = await notifyLatency(listeners);
    process.stdout.write(`NOTIFY alone, ${listeners} listening worker connection(s): a best's commit to all having re-read it: median ${ms(median(delays))}, max ${ms(Math.max(...delays))} (${delays.length} bests)\n`);
  }
} finally {
  for (const fn of cleanups.reverse()) await fn();
  postgres.close();
}
