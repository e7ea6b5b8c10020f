// A measure-only study end to end: no train phase, a protected measure command that runs the mutable
// code, sandboxed where the machine allows, its metric from the metrics file or its printed output.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runSession } from "../../src/loop/session.ts";
import { sandboxProblem } from "../../src/sandbox/index.ts";
import { ledgerRows, makeProject, recordingBus } from "../helpers/project.ts";

const never = new AbortController().signal;

// Protected: runs the mutable lib.js and reports how far its answer is from 7, the way params.json asks.
const MEASURE = `
const fs = require("fs");
const { answer, report } = require("./lib.js");
const params = JSON.parse(fs.readFileSync("params.json", "utf8"));
fs.writeFileSync(process.env.AUTORESEARCH_OUTPUT_DIR + "/env.json", JSON.stringify(process.env));
const score = (answer() - 7) ** 2;
if (params.file) fs.writeFileSync(process.env.AUTORESEARCH_METRICS_FILE, JSON.stringify({ score }));
else console.log("score: " + score);
report();
`;

// Mutable: what the proposals change. A lib that prints its own "score" line is what a metrics file guards against.
const LIB = `
const fs = require("fs");
const params = JSON.parse(fs.readFileSync("params.json", "utf8"));
exports.answer = () => {
  if (params.mode === "hang") for (;;) {}
  if (params.mode === "write-self") fs.writeFileSync("params.json", "{}");
  return params.x;
};
exports.report = () => { if (params.mode === "print-fake") console.log("score: 0"); };
`;

const measureConfig = {
  mutable: ["params.json", "lib.js"],
  protected: ["measure.js"],
  measure: { command: "node measure.js", timeoutSeconds: 5 },
  metric: { name: "score", direction: "min" },
  killGraceSeconds: 1,
  devices: ["cpu"],
  proposer: { name: "replay", file: "proposals.json" },
  acceptance: { policy: "greedy" },
  outputs: "all",
};

test("a measure-only study runs its measure command as the scoring phase: no train, no budget, sandboxed, limited", async (t) => {
  const dir = makeProject(t, {
    config: measureConfig,
    params: { x: 3 },
    files: { "measure.js": MEASURE, "lib.js": LIB },
    proposals: [
      { description: "x to 6", params: { x: 6 } },
      { description: "fake a score from the mutable code, with a metrics file", params: { x: 5, file: true, mode: "print-fake" } },
      { description: "fake a score from the mutable code, printed only", params: { x: 9, mode: "print-fake" } },
      { description: "hang", params: { x: 7, mode: "hang" } },
      { description: "rewrite a committed file", params: { x: 7, mode: "write-self" } },
    ],
  });
  const { bus, events } = recordingBus();
  const result = await runSession({ projectDir: dir, tag: "m", bus, signal: never });
  assert.match(result.reason, /replay file exhausted/);
  const rows = new Map(ledgerRows(dir).map((row) => [row.description, row]));

  const baseline = rows.get("baseline (unchanged code)")!;
  assert.equal(baseline.metric, 16, "read from the measure command's printed `score:` line");
  assert.equal(baseline.selfReported, false, "a protected measure command is the evaluator, not the mutable code reporting on itself");
  assert.equal(rows.get("x to 6")?.decision, "keep");
  assert.equal(rows.get("x to 6")?.metric, 1);
  // With a metrics file, printed lines are ignored: the mutable code's "score: 0" does not count.
  assert.equal(rows.get("fake a score from the mutable code, with a metrics file")?.metric, 4);
  // Printed only, the last line wins: the documented weakness that a metrics file closes.
  assert.equal(rows.get("fake a score from the mutable code, printed only")?.metric, 0);
  const hang = rows.get("hang")!;
  assert.equal(hang.status, "timeout");
  assert.match(hang.reason!, /measure ran past its hard limit of 5s/);
  const rewrite = rows.get("rewrite a committed file")!;
  assert.ok(rewrite.status === "crash" || rewrite.status === "rejected", `${rewrite.status}: ${rewrite.reason}`);
  if (rewrite.status === "rejected") assert.match(rewrite.reason!, /changed during measuring/);

  const env = JSON.parse(readFileSync(join(dir, ".autoresearch", "runs", String(rows.get("x to 6")!.id), "out", "env.json"), "utf8")) as Record<string, string>;
  assert.equal(env.AUTORESEARCH_PHASE, "measure");
  assert.equal(env.AUTORESEARCH_BUDGET_SECONDS, undefined, "no training budget to hand out");
  assert.ok(env.AUTORESEARCH_METRICS_FILE);
  const log = readFileSync(baseline.logPath, "utf8");
  assert.match(log, /^--- measure: node measure\.js$/m);
  assert.doesNotMatch(log, /--- train:/);

  const started = events.find((event) => event.type === "session_started");
  assert.ok(started?.type === "session_started");
  assert.deepEqual(started.trainLimits, []);
  assert.deepEqual(started.measure, { command: "node measure.js", timeoutSeconds: 5 });
  assert.ok(events.some((event) => event.type === "experiment_phase" && event.phase === "measure"));
  assert.ok(events.some((event) => event.type === "experiment_started" && event.timed === "measure" && event.budgetSeconds === 5));
  assert.ok(!events.some((event) => event.type === "experiment_phase" && event.phase === "train"));
  if ((await sandboxProblem()) === null) assert.equal(rewrite.status, "crash", "in the sandbox the checkout is read-only: the write fails");
});
