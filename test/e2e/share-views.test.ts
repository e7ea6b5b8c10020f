// The whole study in the views (#11): status, results, the dashboard and the report of one worker of a
// shared study show every worker's experiments, the workers and which best each builds on. Real PostgreSQL,
// a real bare remote, workers as real processes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { startDashboard } from "../../src/dashboard/dashboard.ts";
import type { StudyOverview } from "../../src/share/overview.ts";
import { projectStudy } from "../../src/share/overview.ts";
import { projectPaths } from "../../src/project/paths.ts";
import { chromiumMissing, launchBrowser, recordingPage, waitUntil } from "../helpers/browser.ts";
import { ledgerRows } from "../helpers/project.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { cli, finished, makeStudy, startWorker, workerId } from "../helpers/shared-study.ts";

const server = startPostgres();
const skip = typeof server === "string" ? server : false;

describe("the views of a shared study", { skip }, () => {
  const postgres = server as TestPostgres;
  after(() => postgres.close());

  test("status, results, the dashboard and the report of one worker show every worker and what it builds on", async (t) => {
    const db = await postgres.database("views");
    const study = await makeStudy(t, db, 2);
    const runs = await Promise.all(study.workers.map((dir) => finished(startWorker(dir, ["--max-experiments", "4"]))));
    for (const [index, run] of runs.entries()) assert.equal(run.code, 0, `worker ${index}: ${run.stderr}`);
    const [here, there] = study.workers as [string, string];
    const ids = [workerId(here), workerId(there)];
    const local = study.workers.map((dir) => ledgerRows(dir));

    // status: the study's workers with their counts, the best, and which best each builds on
    const status = await cli(["status", "--json"], here);
    assert.equal(status.code, 0, status.stderr);
    const overview = (JSON.parse(status.stdout) as { study: StudyOverview }).study;
    assert.deepEqual(overview.workers.map((worker) => worker.id).sort(), [...ids].sort());
    for (const [index, id] of ids.entries()) {
      const worker = overview.workers.find((each) => each.id === id)!;
      assert.equal(worker.experiments, local[index]!.length, `worker ${index}'s experiments`);
      assert.ok(worker.buildingOn !== null, `worker ${index} says which best it builds on`);
      assert.ok(worker.buildingOn.version >= 1 && worker.buildingOn.version <= overview.bests[0]!.version);
      assert.ok(worker.stoppedAt !== null && Date.parse(worker.stoppedAt) >= Date.parse(worker.joinedAt), `worker ${index}'s stop is recorded`);
    }
    assert.equal(overview.totalExperiments, local[0]!.length + local[1]!.length);
    assert.equal(overview.bests.length, 1);
    const text = await cli(["status"], here);
    assert.match(text.stdout, new RegExp(`study s \\(postgres://[^)]*\\): ${overview.totalExperiments} experiments by 2 workers`));
    assert.match(text.stdout, /best cpu: \S+ by worker /);
    for (const id of ids) assert.match(text.stdout, new RegExp(`${id}\\s+\\S+\\s+cpu\\s+\\d+\\s+\\d+\\s+\\d+\\s+\\d+\\s+v\\d+ [0-9a-f]{7}.*stopped \\S+ ago`), `status names worker ${id}, the best it builds on and that it stopped`);

    // results: every worker's experiments, each under its worker; --mine only this worker's own
    const results = await cli(["results"], here);
    assert.equal(results.code, 0, results.stderr);
    for (const [index, id] of ids.entries()) {
      const lines = results.stdout.split("\n").filter((line) => line.startsWith(`${id} `));
      assert.equal(lines.length, local[index]!.length, `results lists worker ${index}'s ${local[index]!.length} experiments`);
    }
    const json = JSON.parse((await cli(["results", "--json"], here)).stdout) as { worker: string; localId: number; deviceClass: string }[];
    assert.deepEqual(json.filter((row) => row.worker === ids[1]).map((row) => row.localId).sort((a, b) => a - b), local[1]!.map((row) => row.id));
    const mine = await cli(["results", "--mine"], here);
    assert.ok(!mine.stdout.includes(ids[1]!), "--mine shows this worker's own session only");
    assert.equal(mine.stdout.split("\n").filter((line) => /^\s+\d+ /.test(line)).length, local[0]!.length, mine.stdout);

    // the dashboard: /api/study has the workers and the bests
    const dashboard = await startDashboard({ stateDir: projectPaths(here).stateDir, feed: "poll", study: projectStudy(here) });
    t.after(() => dashboard.close());
    const response = await fetch(`http://127.0.0.1:${dashboard.port}/api/study`, { headers: { authorization: `Bearer ${dashboard.token}` } });
    assert.equal(response.status, 200);
    const served = (await response.json()) as StudyOverview;
    assert.deepEqual(served.workers.map((worker) => [worker.id, worker.experiments]).sort(), overview.workers.map((worker) => [worker.id, worker.experiments]).sort());
    assert.equal(served.experiments.length, overview.totalExperiments);

    // the report: the study inlined, and its page shows the workers and which best each builds on
    const out = join(study.root, "report");
    const report = await cli(["report", "--out", out], here);
    assert.equal(report.code, 0, report.stderr);
    const html = readFileSync(join(out, "index.html"), "utf8");
    for (const id of ids) assert.ok(html.includes(id), `the report holds worker ${id}`);
    if (chromiumMissing) {
      t.diagnostic(`the report's page was not opened: ${chromiumMissing}`);
    } else {
      const browser = await launchBrowser(t);
      const { page, errors } = await recordingPage(browser, { offline: true });
      await page.goto(`file://${join(out, "index.html")}`);
      const rows = await waitUntil(() => page.locator(".study table.study-workers tbody tr").allTextContents(), (texts) => texts.length === 2, "the study's workers on the report's page");
      for (const id of ids) assert.ok(rows.some((row) => row.includes(id) && /v\d+ [0-9a-f]{7}.*stopped \S+ ago/.test(row)), `the page shows worker ${id}, the best it builds on and that it stopped`);
      assert.deepEqual(errors, []);
      // The live dashboard's page shows the same panel, read from the database through /api/study.
      const live = await recordingPage(browser);
      await live.page.goto(dashboard.url);
      const liveRows = await waitUntil(() => live.page.locator(".study table.study-workers tbody tr").allTextContents(), (texts) => texts.length === 2, "the study's workers on the live dashboard");
      for (const id of ids) assert.ok(liveRows.some((row) => row.includes(id)), `the live page shows worker ${id}`);
      assert.match(await live.page.locator(".study .study-bests").textContent() ?? "", /best cpu: \S+ by /);
      assert.deepEqual(live.errors, []);
    }

    // the database away: status says so and shows this worker's own session
    postgres.stop();
    try {
      const away = await cli(["status"], here);
      assert.equal(away.code, 0, away.stderr);
      assert.match(away.stdout, /study s \(postgres:[^)]*\): cannot be read \(.+\); the lines above are this worker's own session/);
      const awayResults = await cli(["results"], here);
      assert.match(awayResults.stderr, /study s .* cannot be read .*this worker's own session follows/);
      assert.equal(awayResults.stdout.split("\n").filter((line) => /^\s+\d+ /.test(line)).length, local[0]!.length, awayResults.stdout);
    } finally {
      postgres.start();
    }
  });
});
