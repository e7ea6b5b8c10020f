// promote end to end: a real session keeps a change that helps at every budget and one whose gain exists
// only at the session's short budget; promote re-runs both and the baseline at a longer budget through
// the real engine and tells the gain that holds from the one that reverses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { main } from "../../src/cli/main.ts";
import type { Io } from "../../src/cli/args.ts";
import { runPromote } from "../../src/loop/promote.ts";
import { runSession } from "../../src/loop/session.ts";
import { promoteMetaOf } from "../../src/finalize/promote.ts";
import { baseConfig, ledgerRows, makeProject, recordingBus } from "../helpers/project.ts";

const never = new AbortController().signal;

// score = 10 + effects + noise (sd 0.05, keyed by experiment id); "real" helps by 1 at any budget, "trick"
// helps by 1 under 1.5 s of budget and hurts by 2 beyond (a change that only wins a short race).
const TRAIN = `
const fs = require("fs");
const params = JSON.parse(fs.readFileSync("params.json", "utf8"));
const budget = Number(process.env.AUTORESEARCH_BUDGET_SECONDS);
const id = Number(process.env.AUTORESEARCH_EXPERIMENT_ID);
let score = 10 + 0.05 * Math.sin(id * 12.9898) ;
if (params.real) score -= 1;
if (params.trick) score += budget < 1.5 ? -1 : 2;
fs.writeFileSync(process.env.AUTORESEARCH_OUTPUT_DIR + "/x.json", JSON.stringify({ score, budget }));
`;
const EVALUATE = `
const fs = require("fs");
const { score, budget } = JSON.parse(fs.readFileSync(process.env.AUTORESEARCH_OUTPUT_DIR + "/x.json", "utf8"));
fs.writeFileSync(process.env.AUTORESEARCH_METRICS_FILE, JSON.stringify({ score, budget }));
`;

function captureIo(cwd: string): { io: Io; out: () => string } {
  let out = "";
  return { io: { stdout: (text) => { out += text; }, stderr: () => {}, isTTY: false, columns: 0, cwd, colour: false, stdoutBacklog: () => 0 }, out: () => out };
}

test("promote re-runs the top keeps and the baseline at a longer budget and says which gains hold", async (t) => {
  const dir = makeProject(t, {
    config: baseConfig({
      metric: { name: "score", direction: "min", secondary: ["budget"] },
      acceptance: { policy: "noise-aware", baselineRuns: 3 },
      promote: { budgetSeconds: 2, k: 2, runs: 3 },
    }),
    params: { real: false, trick: false },
    files: { "train.js": TRAIN, "evaluate.js": EVALUATE },
    proposals: [
      { description: "a real gain", params: { real: true, trick: false } },
      { description: "a short-budget trick", params: { real: true, trick: true } },
    ],
  });
  await runSession({ projectDir: dir, tag: "t", bus: recordingBus().bus, signal: never });
  const session = ledgerRows(dir);
  assert.deepEqual(session.filter((row) => row.kind === "candidate").map((row) => row.decision), ["keep", "keep"]);

  const { bus } = recordingBus();
  const { report, interrupted } = await runPromote({ projectDir: dir, tag: "t", bus, signal: never });
  assert.equal(interrupted, false);
  assert.ok(report);
  assert.equal(report.budgetSeconds, 2);
  assert.equal(report.sessionBudgetSeconds, 1);
  assert.deepEqual(report.baselineRuns, { short: 3, long: 3 });
  // Best first: the trick (−2 at the short budget), then the real gain (−1).
  const [trick, real] = report.candidates;
  assert.equal(trick!.id, 5);
  assert.equal(real!.id, 4);
  assert.ok(Math.abs(trick!.short!.estimate - 2) < 0.2 && trick!.short!.low > 0, "the trick looked like a gain of 2 at the session's budget");
  assert.ok(Math.abs(trick!.long!.estimate + 1) < 0.2, "and is 1 worse than the baseline at the longer one");
  assert.equal(trick!.verdict, "reverses");
  assert.ok(Math.abs(real!.short!.estimate - 1) < 0.2 && Math.abs(real!.long!.estimate - 1) < 0.2);
  assert.equal(real!.verdict, "holds");

  // Every promote run is a rescore experiment at the longer budget, interleaved, deciding nothing.
  const added = ledgerRows(dir).filter((row) => !session.some((old) => old.id === row.id));
  assert.equal(added.length, 9);
  for (const row of added) {
    assert.equal(row.kind, "rescore");
    assert.equal(row.status, "ok");
    assert.equal(row.decision, null);
    assert.equal(row.secondary.budget, 2, "trained for the longer budget");
  }
  assert.deepEqual(added.slice(0, 3).map((row) => promoteMetaOf(row.meta)?.role), ["baseline", "candidate", "candidate"]);
  const after = ledgerRows(dir);
  assert.equal(after.find((row) => row.kind === "baseline")!.metric, session.find((row) => row.kind === "baseline")!.metric);

  const status = captureIo(dir);
  assert.equal(await main(["status"], status.io), 0);
  assert.match(status.out(), /promoted: at 2 s \(session 1 s\), 3 runs each: #5 reverses, #4 holds/);
  assert.match(status.out(), /experiments \d+: 2 kept/, "promote's runs are not candidates");
  const cli = captureIo(dir);
  assert.equal(await main(["promote", "--runs", "2", "--k", "1"], cli.io), 0);
  assert.match(cli.out(), /promote t \(round 2\): the top 1 kept candidate and the baseline at 2 s/);
  assert.match(cli.out(), /#5 .* reverses/);
});
