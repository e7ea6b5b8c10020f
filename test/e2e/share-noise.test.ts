// Noise per device class in a shared study (#11): a worker's σ pools the baseline runs of every worker of its
// device class, each worker's runs as one group (machine-to-machine offsets do not count as noise). Real
// PostgreSQL, a real bare remote, workers as real processes on a workload whose score is noisy.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Ledger } from "../../src/ledger/sqlite.ts";
import { estimateNoise } from "../../src/loop/noise.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { cli, finished, makeStudy, query, startWorker, workerId } from "../helpers/shared-study.ts";

const server = startPostgres();
const skip = typeof server === "string" ? server : false;

describe("noise in a shared study", { skip }, () => {
  const postgres = server as TestPostgres;
  after(() => postgres.close());

  test("a worker's σ pools its own baseline runs with those of the other workers of its device class", async (t) => {
    const db = await postgres.database("noise");
    const study = await makeStudy(t, db, 2, { acceptance: { policy: "noise-aware", baselineRuns: 3 } });
    const [first, second] = study.workers as [string, string];
    const noisy = { AUTORESEARCH_TEST_NOISE: "0.5" };
    // The first worker measures its baseline (three runs) and stops; the second then runs its baseline and a candidate.
    const one = await finished(startWorker(first, ["--max-experiments", "3"], noisy));
    assert.equal(one.code, 0, one.stderr);
    const two = await finished(startWorker(second, ["--max-experiments", "4"], noisy));
    assert.equal(two.code, 0, two.stderr);

    const baselines = await query<{ worker: string; metric: number }>(db, "SELECT worker, metric FROM experiments WHERE kind = 'baseline' AND status = 'ok' ORDER BY worker, local_id");
    const runsOf = (dir: string) => baselines.filter((row) => row.worker === workerId(dir)).map((row) => row.metric);
    assert.equal(runsOf(first).length, 3);
    assert.equal(runsOf(second).length, 3);
    const ledger = Ledger.open(join(second, ".autoresearch"), { readOnly: true });
    const session = ledger.listSessions()[0]!;
    const candidate = ledger.listExperiments({ order: "asc" }).find((row) => row.kind === "candidate" && row.decision !== null);
    ledger.close();
    assert.ok(candidate, "the second worker decided a candidate");
    // Its own runs alone would give another σ; the one it decided with rests on both workers' baselines.
    const pooled = estimateNoise([runsOf(first), runsOf(second)]);
    const own = estimateNoise([runsOf(second)]);
    assert.equal(pooled.degreesOfFreedom, 4);
    assert.notEqual(pooled.sigma, own.sigma);
    assert.ok(Math.abs(session.noiseSigma! - pooled.sigma!) < 1e-12, `σ ${session.noiseSigma} is the pooled ${pooled.sigma}, not its own ${own.sigma}`);
    // status shows that σ and what it rests on: both workers' runs.
    const status = await cli(["status", "--json"], second);
    const noise = (JSON.parse(status.stdout) as { noise: { sigma: number; samples: number; degreesOfFreedom: number; pooledWorkers: number } }).noise;
    assert.equal(noise.pooledWorkers, 1);
    assert.equal(noise.degreesOfFreedom, 4);
    assert.ok(Math.abs(noise.sigma - pooled.sigma!) < 1e-12);
    assert.match((await cli(["status"], second)).stdout, /noise σ \S+ from 6 runs \(4 df, 95% \[[^\]]+\], with 1 other worker's baseline runs of its device class\)/);
  });
});
