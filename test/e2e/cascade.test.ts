// The cascade end to end: a real session (git, sandboxed jobs, SQLite) whose candidates crash early, are
// clearly bad, or help. The smoke stage ends the first two before their full run; the third runs in full and
// is decided as usual; no smoke metric reaches the best or a decision against it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { runSession } from "../../src/loop/session.ts";
import { summarise } from "../../src/core/summary.ts";
import { progressSeries, type PointInput } from "../../src/dashboard/progress.ts";
import { baseConfig, ledgerRows, makeProject, recordingBus } from "../helpers/project.ts";

const never = new AbortController().signal;

// score = (x − 7)² plus noise of sd 0.05 keyed by the experiment id, after training for the budget it is given
// (the smoke stage's or the full one): the workload writes the budget it saw, so the test can tell the runs apart.
const TRAIN = `
const fs = require("fs");
const params = JSON.parse(fs.readFileSync("params.json", "utf8"));
const out = process.env.AUTORESEARCH_OUTPUT_DIR;
const budget = Number(process.env.AUTORESEARCH_BUDGET_SECONDS);
console.log("trained for budget " + budget);
if (params.mode === "crash") { console.error("boom: simulated crash"); process.exit(3); }
const id = Number(process.env.AUTORESEARCH_EXPERIMENT_ID);
const noise = 0.05 * Math.sin(id * 12.9898 + budget * 78.233);
fs.writeFileSync(out + "/x.json", JSON.stringify({ score: (params.x - 7) ** 2 + noise, budget }));
`;

const EVALUATE = `
const fs = require("fs");
const { score, budget } = JSON.parse(fs.readFileSync(process.env.AUTORESEARCH_OUTPUT_DIR + "/x.json", "utf8"));
fs.writeFileSync(process.env.AUTORESEARCH_METRICS_FILE, JSON.stringify({ score, heldout: score, budget }));
`;

test("the smoke stage ends a crashing and a clearly bad candidate before their full budget; a good one runs in full and is kept", async (t) => {
  const dir = makeProject(t, {
    config: baseConfig({
      metric: { name: "score", direction: "min", heldOut: "heldout", secondary: ["budget"] },
      budgetSeconds: 2,
      timeoutSeconds: 6,
      cascade: { budgetSeconds: 0.5, baselineRuns: 3 },
      // 1 baseline + 3 smoke runs of the unchanged code + 3 candidates
      stop: { maxExperiments: 7 },
    }),
    files: { "train.js": TRAIN, "evaluate.js": EVALUATE },
    proposals: [
      { description: "crash early", params: { x: 3, mode: "crash" } },
      { description: "clearly bad", params: { x: 30, mode: "ok" } },
      { description: "helps", params: { x: 6, mode: "ok" } },
    ],
  });
  const { bus, events } = recordingBus();
  await runSession({ projectDir: dir, tag: "t", bus, signal: never });
  const rows = ledgerRows(dir);
  assert.deepEqual(rows.map((row) => row.kind), ["baseline", "smoke", "smoke", "smoke", "candidate", "candidate", "candidate"]);

  // The yardstick: smoke runs of the unchanged code at the smoke budget, deciding nothing.
  const smoke = rows.filter((row) => row.kind === "smoke");
  for (const row of smoke) {
    assert.equal(row.status, "ok");
    assert.equal(row.decision, null);
    assert.equal(row.secondary.budget, 0.5, "a smoke run trains for the smoke budget");
  }
  const baseline = rows[0]!;
  assert.equal(baseline.secondary.budget, 2, "the baseline trains for the full budget");

  const [crashed, bad, good] = rows.slice(4);
  // Crash: recorded as the candidate's crash, with the smoke stage's log for proposers, and no full run.
  assert.equal(crashed!.status, "crash");
  assert.match(crashed!.reason ?? "", /^smoke stage \(0\.5 s\): crash/);
  assert.ok(typeof crashed!.timings.smokeMs === "number");
  const crashLog = readFileSync(crashed!.logPath, "utf8");
  assert.match(crashLog, /boom: simulated crash/);
  assert.equal(crashLog.match(/trained for budget/g)?.length, 1, "one train phase ran: the smoke stage's");

  // Clearly bad: discarded by the smoke stage; its smoke metric is kept apart and never becomes its metric.
  assert.equal(bad!.status, "ok");
  assert.equal(bad!.decision, "discard");
  assert.equal(bad!.metric, null);
  assert.equal(bad!.delta, null);
  assert.ok(bad!.secondary["smoke.score"]! > 500, "the smoke metric is recorded as smoke.score");
  assert.match(bad!.rationale ?? "", /clearly bad, discarded without a full run/);
  assert.match(readFileSync(bad!.logPath, "utf8"), /trained for budget 0\.5/);

  // Good: passed the smoke stage, ran its full budget, decided against the best on full-budget numbers.
  assert.equal(good!.status, "ok");
  assert.equal(good!.decision, "keep");
  assert.equal(good!.secondary.budget, 2, "the decided metric is the full run's");
  assert.ok(Math.abs(good!.metric! - 1) < 0.1);
  assert.ok(Math.abs(good!.secondary["smoke.score"]! - 1) < 0.1);
  assert.ok(Math.abs(good!.delta! - (good!.metric! - baseline.metric!)) < 1e-12, "judged against the full-budget baseline");
  assert.match(readFileSync(good!.logPath, "utf8"), /trained for budget 2\n/);
  assert.ok(existsSync(good!.logPath.replace(/\.log$/, ".smoke.log")), "the passed smoke stage's log is kept beside it");
  assert.match(readFileSync(good!.logPath.replace(/\.log$/, ".smoke.log"), "utf8"), /trained for budget 0\.5/);

  // Views: the screened candidate counts as a discard; smoke runs are neither candidates nor plotted.
  const counts = summarise(rows);
  assert.equal(counts.kept, 1);
  assert.equal(counts.discarded, 1);
  assert.equal(counts.failed, 1);
  const series = progressSeries(rows.map((row): PointInput => ({ id: row.id, kind: row.kind, status: row.status, decision: row.decision, metric: row.metric, heldOutMetric: row.heldOutMetric, confirms: row.confirms })));
  assert.deepEqual(series.ids, [1, 5, 7], "the baseline, the crash and the keep are plotted; smoke runs and the screened candidate are not");
  assert.ok(!events.some((event) => event.type === "warning" && event.message.startsWith("cascade off")));
});

test("a cascade whose smoke budget the unchanged code cannot survive turns itself off and says so", async (t) => {
  const slowStart = `
const fs = require("fs");
const budget = Number(process.env.AUTORESEARCH_BUDGET_SECONDS);
if (budget < 1) { console.error("needs at least a second to load"); process.exit(2); }
fs.writeFileSync(process.env.AUTORESEARCH_OUTPUT_DIR + "/x.json", JSON.stringify({ score: 16 + 0.01 * Number(process.env.AUTORESEARCH_EXPERIMENT_ID), budget }));
`;
  const dir = makeProject(t, {
    config: baseConfig({ metric: { name: "score", direction: "min" }, cascade: { budgetFraction: 0.25, baselineRuns: 2 }, stop: { maxExperiments: 4 } }),
    files: { "train.js": slowStart, "evaluate.js": EVALUATE },
    proposals: [{ description: "x to 6", params: { x: 6, mode: "ok" } }],
  });
  const { bus, events } = recordingBus();
  await runSession({ projectDir: dir, tag: "t", bus, signal: never });
  const rows = ledgerRows(dir);
  assert.deepEqual(rows.map((row) => [row.kind, row.status]), [["baseline", "ok"], ["smoke", "crash"], ["smoke", "crash"], ["candidate", "ok"]]);
  const candidate = rows[3]!;
  assert.equal(candidate.timings.smokeMs, undefined, "no smoke stage: the candidate ran its full budget directly");
  assert.equal(candidate.secondary["smoke.score"], undefined);
  const warning = events.find((event) => event.type === "warning" && event.message.startsWith("cascade off"));
  assert.ok(warning, "the session says the cascade is off");
  assert.match(warning.type === "warning" ? warning.message : "", /smoke run #\d+ ended crash/);
});
