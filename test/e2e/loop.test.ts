// The loop end to end: real git, real processes, real SQLite, the replay proposer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { formatResultsTsv } from "../../src/ledger/results-tsv.ts";
import { runSession } from "../../src/loop/session.ts";
import { hidingProblem } from "../../src/runner/isolation.ts";
import { sandboxProblem } from "../../src/sandbox/index.ts";
import { baseConfig, gitIn, isAlive, ledgerRows, makeProject, recordingBus } from "../helpers/project.ts";

const never = new AbortController().signal;


test("keep, discard, crash, timeout and rejected each get their status; git keeps every candidate", async (t) => {
  const dir = makeProject(t, {
    proposals: [
      { description: "x to 6", params: { x: 6, mode: "ok" } },
      { description: "x to 100", params: { x: 100, mode: "ok" } },
      { description: "crash", params: { x: 7, mode: "crash" } },
      { description: "hang", params: { x: 7, mode: "hang" } },
      { description: "edit the evaluator", edits: [{ path: "evaluate.js", content: "require('fs').writeFileSync(process.env.AUTORESEARCH_METRICS_FILE, '{\"score\":0}')\n" }] },
      { description: "x to 100 again", params: { x: 100, mode: "ok" } },
      { description: "x to 7", params: { x: 7, mode: "ok" } },
    ],
  });
  const head = gitIn(dir, "rev-parse", "HEAD");
  const { bus, events } = recordingBus();
  const result = await runSession({ projectDir: dir, tag: "t1", bus, signal: never });
  assert.match(result.reason, /replay file exhausted/);

  const rows = ledgerRows(dir);
  const byDescription = new Map(rows.map((row) => [row.description, row]));
  assert.equal(byDescription.get("baseline (unchanged code)")?.status, "ok");
  assert.equal(byDescription.get("baseline (unchanged code)")?.metric, 16);
  assert.equal(byDescription.get("x to 6")?.decision, "keep");
  assert.equal(byDescription.get("x to 100")?.decision, "discard");
  assert.equal(byDescription.get("crash")?.status, "crash");
  assert.match(byDescription.get("crash")!.reason!, /exited with code 3/);
  assert.equal(byDescription.get("hang")?.status, "timeout");
  assert.equal(byDescription.get("edit the evaluator")?.status, "rejected");
  assert.match(byDescription.get("edit the evaluator")!.reason!, /evaluate\.js/);
  assert.equal(byDescription.get("x to 100 again")?.status, "rejected");
  assert.match(byDescription.get("x to 100 again")!.reason!, /duplicate: the same code as experiment \d+ \(x to 100\)/);
  const best = byDescription.get("x to 7")!;
  assert.equal(best.decision, "keep");
  assert.equal(best.metric, 0);
  assert.equal(best.heldOutMetric, 0.5);
  assert.equal(best.secondary.data_bytes, 14);

  // The session branch points at the best; every candidate commit is kept under refs/autoresearch.
  assert.equal(gitIn(dir, "rev-parse", "autoresearch/t1"), best.candidateCommit);
  for (const row of rows.filter((row) => row.kind === "candidate" && row.candidateCommit)) {
    assert.equal(gitIn(dir, "rev-parse", `refs/autoresearch/t1/${row.id}`), row.candidateCommit);
  }
  assert.match(gitIn(dir, "show", `refs/autoresearch/t1/${byDescription.get("x to 100")!.id}:params.json`), /"x":100/);
  // The user's checkout never moved, and no worktree is left behind.
  assert.equal(gitIn(dir, "rev-parse", "HEAD"), head);
  assert.equal(gitIn(dir, "status", "--porcelain"), "");
  assert.equal(gitIn(dir, "worktree", "list").split("\n").length, 1);

  // results.tsv speaks the original's first five columns.
  const tsv = readFileSync(join(dir, "results.tsv"), "utf8").split("\n");
  assert.match(tsv[0]!, /^commit\tscore\tmemory_gb\tstatus\tdescription/);
  assert.ok(tsv.some((line) => /^[0-9a-f]{7}\t0\.000000\t0\.0\tcrash\tcrash/.test(line)));
  assert.ok(tsv.some((line) => /^[0-9a-f]{7}\t1\.000000\t\tkeep\tx to 6\t/.test(line)), "a measured run without a memory figure leaves memory_gb empty");

  // The log of a \r-progress run is readable, and the event stream told the story.
  const logTail = readFileSync(byDescription.get("x to 7")!.logPath, "utf8");
  assert.match(logTail, /^step 3\/3$/m);
  assert.doesNotMatch(logTail, /step 1\/3/);
  assert.ok(events.some((event) => event.type === "best_updated" && event.metric === 0));

  // Outputs (checkpoints) stay for the best alone; every log stays.
  assert.deepEqual(readdirSync(join(dir, ".autoresearch", "runs")), [String(best.id)]);
  for (const row of rows) assert.ok(existsSync(row.logPath), `log of #${row.id}`);
  assert.match(readFileSync(byDescription.get("x to 100 again")!.logPath, "utf8"), /^--- rejected before training: duplicate: the same code as experiment \d+/m);
});

test("outputs: \"kept\" keeps the baseline's and every kept experiment's; a resume removes what a kill left behind", async (t) => {
  const dir = makeProject(t, {
    config: baseConfig({ outputs: "kept" }),
    proposals: [
      { description: "x to 6", params: { x: 6, mode: "ok" } },
      { description: "x to 100", params: { x: 100, mode: "ok" } },
      { description: "x to 7", params: { x: 7, mode: "ok" } },
    ],
  });
  await runSession({ projectDir: dir, tag: "o", bus: recordingBus().bus, signal: never });
  const rows = ledgerRows(dir);
  const id = (description: string) => String(rows.find((row) => row.description === description)!.id);
  const runs = join(dir, ".autoresearch", "runs");
  assert.deepEqual(readdirSync(runs).sort(), [id("baseline (unchanged code)"), id("x to 6"), id("x to 7")].sort());
  assert.ok(existsSync(join(runs, id("x to 7"), "out", "x.json")));

  // As if the harness died after deciding "x to 100" but before removing its outputs.
  mkdirSync(join(runs, id("x to 100"), "out"), { recursive: true });
  writeFileSync(join(runs, id("x to 100"), "out", "model.pt"), "checkpoint");
  await runSession({ projectDir: dir, tag: "o", bus: recordingBus().bus, signal: never });
  assert.ok(!existsSync(join(runs, id("x to 100"))), "resuming removes the outputs the policy lets go");
  assert.ok(existsSync(join(runs, id("x to 6"), "out", "x.json")));
});

test("no process of an experiment outlives it, not even one that escaped with setsid", async (t) => {
  const dir = makeProject(t, { proposals: [{ description: "orphans", params: { x: 5, mode: "orphans" } }] });
  const { bus } = recordingBus();
  await runSession({ projectDir: dir, tag: "t", bus, signal: never });
  const row = ledgerRows(dir).find((candidate) => candidate.description === "orphans")!;
  assert.equal(row.status, "ok");
  assert.match(readFileSync(row.logPath, "utf8"), /pids (\d+) (\d+)/, "the workload printed the pids it spawned");
  // The children would each write a file a second after the phase ended; in the sandbox their pids are not the host's.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.deepEqual(readdirSync(join(dir, ".autoresearch", "runs", String(row.id), "out")).filter((name) => name.startsWith("late")), []);
});

test("unsandboxed too, no process of an experiment outlives it", async (t) => {
  const dir = makeProject(t, { proposals: [{ description: "orphans", params: { x: 5, mode: "orphans" } }] });
  await runSession({ projectDir: dir, tag: "t", bus: recordingBus().bus, signal: never, unsandboxed: true });
  const row = ledgerRows(dir).find((candidate) => candidate.description === "orphans")!;
  const pids = /pids (\d+) (\d+)/.exec(readFileSync(row.logPath, "utf8"));
  assert.ok(pids, "the workload printed the pids it spawned");
  assert.equal(isAlive(Number(pids[1])), false, "a plain background child is gone");
  assert.equal(isAlive(Number(pids[2])), false, "a setsid escapee is gone");
});

const TAMPERING = [
  { description: "tamper with the evaluator at run time", params: { x: 7, mode: "tamper-protected" } },
  { description: "tamper with the data", params: { x: 7, mode: "tamper-data" } },
  { description: "rewrite its own committed code", params: { x: 1, mode: "rewrite-self" } },
  { description: "x to 6", params: { x: 6, mode: "ok" } },
];

test("in the sandbox, training cannot change a protected file or the prepared data at all", async (t) => {
  const problem = await sandboxProblem();
  if (problem) return t.skip(problem);
  const dir = makeProject(t, { proposals: TAMPERING });
  const evaluator = readFileSync(join(dir, "evaluate.js"), "utf8");
  const result = await runSession({ projectDir: dir, tag: "t", bus: recordingBus().bus, signal: never });
  assert.equal(result.paused, false, "nothing was modified, so nothing pauses");
  const rows = ledgerRows(dir);
  for (const description of ["tamper with the evaluator at run time", "tamper with the data", "rewrite its own committed code"]) {
    const row = rows.find((candidate) => candidate.description === description)!;
    assert.equal(row.status, "crash", `${description}: the write fails inside the sandbox`);
    assert.match(readFileSync(row.logPath, "utf8"), /EROFS|read-only file system/i);
  }
  assert.equal(readFileSync(join(dir, "evaluate.js"), "utf8"), evaluator);
  assert.equal(readFileSync(join(dir, ".autoresearch", "data", "d.txt"), "utf8"), "prepared data\n");
  assert.equal(rows.find((row) => row.description === "x to 6")?.decision, "keep");
});

test("unsandboxed, changing a protected file or the prepared data during training is refused", async (t) => {
  const dir = makeProject(t, { proposals: TAMPERING });
  const { bus } = recordingBus();
  const first = await runSession({ projectDir: dir, tag: "t", bus, signal: never, unsandboxed: true });
  assert.equal(first.paused, true, "modified data pauses the session");
  assert.match(first.reason, /prepared data/);
  const rows = ledgerRows(dir);
  const protectedRow = rows.find((row) => row.description.startsWith("tamper with the evaluator"))!;
  assert.equal(protectedRow.status, "rejected");
  assert.match(protectedRow.reason!, /evaluate\.js/);
  assert.equal(rows.find((row) => row.description === "tamper with the data")?.status, "rejected");

  // Running again re-prepares the data and carries on.
  const second = await runSession({ projectDir: dir, tag: "t", bus, signal: never, unsandboxed: true });
  assert.equal(second.paused, false);
  const rewritten = ledgerRows(dir).find((row) => row.description === "rewrite its own committed code")!;
  assert.equal(rewritten.status, "rejected", "the scored code must be the committed code");
  assert.match(rewritten.reason!, /changed: params\.json/);
  assert.equal(ledgerRows(dir).find((row) => row.description === "x to 6")?.decision, "keep");
});

test("credentials of the harness never reach the workload; the metrics path reaches only the evaluator", async (t) => {
  const dir = makeProject(t, { proposals: [] });
  const secrets = { OPENAI_API_KEY: "sk-test-123", GITHUB_TOKEN: "ghp_abc", MY_SERVICE_PASSWORD: "hunter2", AWS_SECRET_ACCESS_KEY: "x" };
  Object.assign(process.env, secrets);
  t.after(() => { for (const name of Object.keys(secrets)) delete process.env[name]; });
  const { bus } = recordingBus();
  await runSession({ projectDir: dir, tag: "t", bus, signal: never });
  const baseline = ledgerRows(dir)[0]!;
  const runDir = join(dir, ".autoresearch", "runs", String(baseline.id), "out");
  const trainEnv = JSON.parse(readFileSync(join(runDir, "env.json"), "utf8")) as Record<string, string>;
  const evalDir = readdirSync(dirname(runDir)).find((entry) => entry.startsWith("eval-"))!;
  const evaluateEnv = JSON.parse(readFileSync(join(dirname(runDir), evalDir, "eval-env.json"), "utf8")) as Record<string, string>;
  for (const name of Object.keys(secrets)) {
    assert.equal(trainEnv[name], undefined, `${name} reached train`);
    assert.equal(evaluateEnv[name], undefined, `${name} reached evaluate`);
  }
  assert.equal(trainEnv.AUTORESEARCH_BUDGET_SECONDS, "1");
  assert.equal(trainEnv.AUTORESEARCH_METRICS_FILE, undefined, "train must not know where metrics go");
  assert.match(evaluateEnv.AUTORESEARCH_METRICS_FILE!, /metrics\.json$/);
  assert.ok(trainEnv.PATH, "ordinary variables pass");
});

test("hideFromTrain: the train phase reads the held-out file as empty, the evaluator reads it whole", async (t) => {
  const problem = await hidingProblem();
  if (problem) return t.skip(problem);
  const dir = makeProject(t, { config: baseConfig({ hideFromTrain: ["d.txt"] }), params: { x: 3, mode: "peek" } });
  const { bus, events } = recordingBus();
  await runSession({ projectDir: dir, tag: "h", bus, signal: never });
  const [baseline] = ledgerRows(dir);
  assert.equal(baseline!.status, "ok");
  const out = join(dir, ".autoresearch", "runs", String(baseline!.id), "out");
  // Covered by an empty file (mount namespace) or left out of the sandbox's view altogether.
  assert.ok(["", "ENOENT"].includes(JSON.parse(readFileSync(join(out, "peek.json"), "utf8")).seen));
  assert.equal(baseline!.secondary.data_bytes, 14, "the evaluator still reads the prepared file");
  assert.ok(!events.some((event) => event.type === "warning" && /hideFromTrain/.test(event.message)));

  // A glob that matches nothing is said, not ignored.
  const none = makeProject(t, { config: baseConfig({ hideFromTrain: ["no-such-split.bin"] }) });
  const second = recordingBus();
  await runSession({ projectDir: none, tag: "h", bus: second.bus, signal: never });
  assert.ok(second.events.some((event) => event.type === "warning" && /hideFromTrain \(no-such-split\.bin\) matches none of the prepared files/.test(event.message)));
});

test("budgetByDevice sets the budget and the hard limit of an experiment on that device kind", async (t) => {
  // 100 s on a GPU (hard limit 100 + 15 s), 0.4 s on a CPU (hard limit 0.4 + 10 s): the hanging candidate dies at the CPU's.
  const config = baseConfig({ budgetSeconds: 100, budgetByDevice: { cpu: 0.4 } });
  delete config.timeoutSeconds;
  const dir = makeProject(t, { config, proposals: [{ description: "hang", params: { x: 6, mode: "hang" } }] });
  const { bus, events } = recordingBus();
  await runSession({ projectDir: dir, tag: "t", bus, signal: never });
  const [baseline, hang] = ledgerRows(dir);
  const trainEnv = JSON.parse(readFileSync(join(dir, ".autoresearch", "runs", String(baseline!.id), "out", "env.json"), "utf8")) as Record<string, string>;
  assert.equal(trainEnv.AUTORESEARCH_BUDGET_SECONDS, "0.4");
  assert.deepEqual(events.filter((event) => event.type === "experiment_started").map((event) => event.budgetSeconds), [0.4, 0.4]);
  assert.equal(hang!.status, "timeout");
  assert.match(hang!.reason ?? "", /hard limit of 10\.4s/);
});

test("slots run in parallel, each pinned to its own GPU, and the device is recorded", async (t) => {
  const dir = makeProject(t, {
    config: baseConfig({ slots: 2, devices: "auto", budgetSeconds: 1, outputs: "all" }),
    proposals: [
      { description: "x to 6", params: { x: 6, mode: "ok" } },
      { description: "x to 5", params: { x: 5, mode: "ok" } },
      { description: "x to 8", params: { x: 8, mode: "ok" } },
    ],
  });
  const { bus, events } = recordingBus();
  await runSession({ projectDir: dir, tag: "t", bus, signal: never, gpus: [0, 1] });
  const rows = ledgerRows(dir);
  assert.deepEqual(new Set(rows.map((row) => row.device)), new Set(["cuda:0", "cuda:1"]));
  for (const row of rows) {
    const env = JSON.parse(readFileSync(join(dir, ".autoresearch", "runs", String(row.id), "out", "env.json"), "utf8")) as Record<string, string>;
    assert.equal(`cuda:${env.CUDA_VISIBLE_DEVICES}`, row.device);
    assert.equal(env.AUTORESEARCH_DEVICE, row.device);
  }
  // At some moment two experiments ran at once.
  let running = 0;
  let most = 0;
  for (const event of events) {
    if (event.type === "experiment_started") most = Math.max(most, ++running);
    if (event.type === "experiment_finished") running -= 1;
  }
  assert.equal(most, 2);
  // The local slots share this machine: the second candidate waits half the baseline's length after the first
  // (loop/spread.ts), less the moment between the two launches (both proposals were ready: queueDepth = slots).
  const spacing = Math.round(rows.find((row) => row.kind === "baseline")!.timings.totalMs! / 2);
  const [first, second] = rows.filter((row) => row.kind === "candidate");
  assert.equal(first!.timings.waitMs, undefined, "the first candidate starts at once");
  assert.ok(second!.timings.waitMs! >= spacing - 100 && second!.timings.waitMs! <= spacing + 1000, `waited ${second!.timings.waitMs} ms; the spacing is ${spacing} ms`);
});

test("without an evaluator, metrics come from the train output and are marked self-reported", async (t) => {
  const config = baseConfig({ evaluate: undefined });
  delete config.evaluate;
  const dir = makeProject(t, { config, params: { x: 1, mode: "print-score" }, proposals: [] });
  const { bus } = recordingBus();
  await runSession({ projectDir: dir, tag: "t", bus, signal: never });
  const [baseline] = ledgerRows(dir);
  assert.equal(baseline!.metric, 0.5);
  assert.equal(baseline!.selfReported, true);
  assert.match(readFileSync(join(dir, "results.tsv"), "utf8"), /\ttrue\t|self/);
});

test("the noise-aware policy runs the baseline k times and can confirm a would-be keep", async (t) => {
  const dir = makeProject(t, {
    config: baseConfig({ acceptance: { policy: "noise-aware", baselineRuns: 3, confirm: true, minDelta: 0.5 } }),
    proposals: [{ description: "x to 6", params: { x: 6, mode: "ok" } }, { description: "x to 6.9", params: { x: 6.9, mode: "ok" } }],
  });
  const { bus } = recordingBus();
  // After each decision results.tsv is the ledger's finished rows, the confirmed (amended) one included.
  const seen: string[] = [];
  bus.subscribe((event) => {
    const path = join(dir, "results.tsv");
    if (event.type !== "experiment_started" || !existsSync(path)) return;
    const expected = formatResultsTsv(ledgerRows(dir), { metricName: "score", heldOutName: "heldout" });
    assert.equal(readFileSync(path, "utf8"), expected);
    seen.push(expected);
  });
  await runSession({ projectDir: dir, tag: "t", bus, signal: never });
  assert.ok(seen.some((text) => /\tkeep\tx to 6\t/.test(text)), "checked after the confirmation amended the candidate's row");
  const rows = ledgerRows(dir);
  assert.equal(rows.filter((row) => row.kind === "baseline").length, 3);
  const candidate = rows.find((row) => row.description === "x to 6")!;
  const confirmation = rows.find((row) => row.kind === "confirmation" && row.confirms === candidate.id);
  assert.ok(confirmation, "a would-be keep is re-run");
  assert.equal(candidate.decision, "keep");
  assert.match(candidate.rationale!, /keep/);
  // Best 1 (x=6) → 0.01 (x=6.9): an improvement of 0.99, beyond minDelta 0.5, so confirmed and kept.
  assert.equal(rows.find((row) => row.description === "x to 6.9")?.decision, "keep");
});

test("a would-be keep is confirmed even when the experiment limit came first, and after a stop on resume", async (t) => {
  const acceptance = { policy: "noise-aware", baselineRuns: 2, confirm: true, minDelta: 0.5 };
  const limited = makeProject(t, {
    config: baseConfig({ acceptance, stop: { maxExperiments: 3, maxConsecutiveFailures: 5 } }),
    proposals: [{ description: "x to 6", params: { x: 6, mode: "ok" } }, { description: "x to 5", params: { x: 5, mode: "ok" } }],
  });
  const result = await runSession({ projectDir: limited, tag: "t", bus: recordingBus().bus, signal: never });
  assert.match(result.reason, /maximum of 3 experiments/);
  const rows = ledgerRows(limited);
  assert.deepEqual(rows.map((row) => row.kind), ["baseline", "baseline", "candidate", "confirmation"]);
  assert.equal(rows[2]!.decision, "keep", "the limit does not leave the decision open");

  // Stopped (Ctrl-C) right when a would-be keep asks for its confirmation: the next run starts with it.
  const stopped = makeProject(t, {
    config: baseConfig({ acceptance }),
    proposals: [{ description: "x to 6", params: { x: 6, mode: "ok" } }],
  });
  const controller = new AbortController();
  const first = recordingBus();
  first.bus.subscribe((event) => { if (event.type === "decision" && event.decision === "confirm") controller.abort(); });
  await runSession({ projectDir: stopped, tag: "t", bus: first.bus, signal: controller.signal });
  const pending = ledgerRows(stopped).find((row) => row.description === "x to 6")!;
  assert.equal(pending.decision, null);
  assert.ok(!ledgerRows(stopped).some((row) => row.kind === "confirmation"), "Ctrl-C does not start the confirmation");
  await runSession({ projectDir: stopped, tag: "t", bus: recordingBus().bus, signal: never });
  const after = ledgerRows(stopped);
  assert.ok(after.some((row) => row.kind === "confirmation" && row.confirms === pending.id), "resuming runs the confirmation");
  assert.equal(after.find((row) => row.id === pending.id)!.decision, "keep");
});

test("a project that is not a git repository gets a clear error", async (t) => {
  const dir = makeProject(t);
  rmSync(join(dir, ".git"), { recursive: true, force: true });
  const { bus } = recordingBus();
  await assert.rejects(runSession({ projectDir: dir, bus, signal: never }), /not inside a git repository/);
  assert.equal(existsSync(join(dir, ".autoresearch")), false);
});
