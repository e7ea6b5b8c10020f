import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Ledger } from "../src/ledger/sqlite.ts";
import { formatResultsTsv, ResultsTsvFile, writeResultsTsv } from "../src/ledger/results-tsv.ts";
import type { ExperimentRecord } from "../src/core/experiment.ts";
import { COMMIT_A, COMMIT_B, sampleExperiment, sampleSession, useTempDir } from "./helpers/ledger.ts";

/** A ledger holding one of each kind of row results.tsv must render. */
function ledgerWithResults(stateDir: string): { ledger: Ledger; ids: Record<string, number> } {
  const ledger = Ledger.open(stateDir);
  ledger.createSession(sampleSession("mar1"));
  const baseline = ledger.startExperiment(sampleExperiment("mar1", { kind: "baseline", candidateCommit: null, proposer: "baseline", description: "baseline" }));
  ledger.finishExperiment(baseline, {
    status: "ok", decision: "keep", metric: 0.9979, heldOutMetric: 1.00123, memoryGb: 44.04, timings: { totalMs: 305_000 },
  });
  const discard = ledger.startExperiment(sampleExperiment("mar1", { description: "swap GeLU\tfor ReLU\nin the MLP", device: "cuda:0" }));
  ledger.finishExperiment(discard, {
    status: "ok", decision: "discard", metric: 1.005, heldOutMetric: 1.01, memoryGb: 44, delta: 1.005 - 0.9979, selfReported: true,
    flags: [{ kind: "slow_evaluation", detail: "evaluation took 60.0s, 4.0× the baseline's 15.0s" }], finishedAt: "2025-03-01T10:10:00.000Z",
  });
  const crash = ledger.startExperiment(sampleExperiment("mar1", { description: "double the width\x1b[2K\u202e" }));
  ledger.finishExperiment(crash, { status: "crash", reason: "CUDA out of memory\n(exit code 1)", finishedAt: "2025-03-01T10:06:00.000Z" });
  const rejected = ledger.startExperiment(sampleExperiment("mar1", { candidateCommit: null, description: "edit the evaluator" }));
  ledger.finishExperiment(rejected, { status: "rejected", reason: "touches a protected file: prepare.py", finishedAt: "2025-03-01T10:05:00.500Z" });
  const running = ledger.startExperiment(sampleExperiment("mar1", { description: "still training" }));
  return { ledger, ids: { baseline, discard, crash, rejected, running } };
}

test("results.tsv starts with the original five columns and renders keep, discard, crash and rejected rows", (t) => {
  const { dir, defer } = useTempDir(t);
  const { ledger, ids } = ledgerWithResults(join(dir, "state"));
  defer(() => ledger.close());
  const path = join(dir, "results.tsv");

  writeResultsTsv(path, ledger.listExperiments({ tag: "mar1" }), { metricName: "val_bpb", heldOutName: "test_bpb" });
  const lines = readFileSync(path, "utf8").split("\n");
  assert.equal(lines.pop(), "", "the file ends with a newline");
  assert.deepEqual(lines[0].split("\t"), [
    "commit", "val_bpb", "memory_gb", "status", "description",
    "id", "tag", "kind", "test_bpb", "delta", "proposer", "device", "seconds", "self_reported", "reason", "review",
  ]);
  const short = (commit: string) => commit.slice(0, 7);
  assert.deepEqual(lines.slice(1).map((line) => line.split("\t")), [
    [short(COMMIT_A), "0.997900", "44.0", "keep", "baseline",
      String(ids.baseline), "mar1", "baseline", "1.001230", "", "baseline", "cpu", "305.0", "false", "", ""],
    [short(COMMIT_B), "1.005000", "44.0", "discard", "swap GeLU for ReLU in the MLP",
      String(ids.discard), "mar1", "candidate", "1.010000", "0.007100", "scripted", "cuda:0", "300.0", "true", "", "slow_evaluation"],
    [short(COMMIT_B), "0.000000", "0.0", "crash", "double the width␛[2K⟨U+202E⟩",
      String(ids.crash), "mar1", "candidate", "", "", "scripted", "cpu", "60.0", "false", "CUDA out of memory (exit code 1)", ""],
    ["-", "0.000000", "0.0", "rejected", "edit the evaluator",
      String(ids.rejected), "mar1", "candidate", "", "", "scripted", "cpu", "0.5", "false", "touches a protected file: prepare.py", ""],
  ]);
  assert.ok(!lines.some((line) => line.includes("still training")), "running experiments are not listed");
});

test("without a held-out name there is no held-out column, so held-out values never reach the file", (t) => {
  const { dir, defer } = useTempDir(t);
  const { ledger } = ledgerWithResults(join(dir, "state"));
  defer(() => ledger.close());
  const path = join(dir, "results.tsv");

  writeResultsTsv(path, ledger.listExperiments({ tag: "mar1" }), { metricName: "val_loss" });
  const [header, baselineRow] = readFileSync(path, "utf8").split("\n");
  assert.deepEqual(header.split("\t").slice(0, 9), ["commit", "val_loss", "memory_gb", "status", "description", "id", "tag", "kind", "delta"]);
  assert.equal(header.split("\t").length, 15);
  assert.doesNotMatch(baselineRow, /1\.00123/);
});

test("rewriting results.tsv replaces it whole and leaves no temporary files behind", (t) => {
  const { dir, defer } = useTempDir(t);
  const { ledger, ids } = ledgerWithResults(join(dir, "state"));
  defer(() => ledger.close());
  const path = join(dir, "results.tsv");
  writeFileSync(path, "stale content from an older run\n".repeat(50));

  writeResultsTsv(path, ledger.listExperiments({ tag: "mar1" }), { metricName: "val_bpb" });
  assert.equal(readFileSync(path, "utf8").split("\n").length, 1 + 4 + 1);

  ledger.finishExperiment(ids.running, { status: "timeout", reason: "ran past 330 s" });
  writeResultsTsv(path, ledger.listExperiments({ tag: "mar1" }), { metricName: "val_bpb" });
  const content = readFileSync(path, "utf8");
  assert.doesNotMatch(content, /stale content/);
  assert.match(content.split("\n")[5], /^[0-9a-f]{7}\t0\.000000\t0\.0\ttimeout\tstill training\t/);
  assert.deepEqual(readdirSync(dir).sort(), ["results.tsv", "state"]);
});

test("a measured run that reported no memory leaves memory_gb empty; only a run without a metric shows 0.0", (t) => {
  const { dir, defer } = useTempDir(t);
  const ledger = Ledger.open(join(dir, "state"));
  defer(() => ledger.close());
  ledger.createSession(sampleSession("mar1"));
  const measured = ledger.startExperiment(sampleExperiment("mar1", { description: "sort with a merge" }));
  ledger.finishExperiment(measured, { status: "ok", decision: "discard", metric: 12.5, delta: 0.5 });
  const crashed = ledger.startExperiment(sampleExperiment("mar1", { description: "sort with a heap" }));
  ledger.finishExperiment(crashed, { status: "crash", reason: "exit code 1" });
  const path = join(dir, "results.tsv");
  writeResultsTsv(path, ledger.listExperiments({ tag: "mar1" }), { metricName: "ms" });
  const rows = readFileSync(path, "utf8").trimEnd().split("\n").slice(1).map((line) => line.split("\t").slice(1, 4));
  assert.deepEqual(rows, [["12.500000", "", "discard"], ["0.000000", "0.0", "crash"]]);
});

test("results.tsv kept in step with a session: lines after the last are appended, anything else rewrites it, and it always reads as if written whole", (t) => {
  const { dir, defer } = useTempDir(t);
  const ledger = Ledger.open(join(dir, "state"));
  defer(() => ledger.close());
  ledger.createSession(sampleSession("mar1"));
  const options = { metricName: "val_bpb", heldOutName: "test_bpb" };
  const path = join(dir, "results.tsv");
  // Experiments of several slots: started in id order, finished in a shuffled one, some decisions amending an earlier row.
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const rows = new Map<number, ExperimentRecord>();
  const started = Array.from({ length: 12 }, (_, index) => ledger.startExperiment(sampleExperiment("mar1", { description: `idea ${index}` })));
  for (const id of started) rows.set(id, ledger.getExperiment(id)!);
  const file = new ResultsTsvFile(path, options);
  file.reset([...rows.values()]);
  const expected = () => formatResultsTsv([...rows.values()].sort((a, b) => a.id - b.id), options);
  assert.equal(readFileSync(path, "utf8"), expected(), "the running ones are left out");

  const running = [...started];
  let appends = 0;
  let rewrites = 0;
  while (running.length > 0) {
    // Mostly the oldest running one (slots finish about in the order they started), sometimes any of them.
    const [id] = running.splice(random() < 0.5 ? 0 : Math.floor(random() * running.length), 1);
    ledger.finishExperiment(id!, { status: "ok", decision: "discard", metric: 1 + id! / 100, finishedAt: "2025-03-01T10:10:00.000Z" });
    const finished = ledger.getExperiment(id!)!;
    const done = [...rows.values()].filter((row) => row.status !== "running" && row.id !== id);
    // An amendment always changes the line (a confirmation turning a decision round), so it always rewrites.
    const original = done.length > 0 && random() < 0.25 ? done[Math.floor(random() * done.length)]! : null;
    const amended = original && { ...original, decision: original.decision === "keep" ? ("discard" as const) : ("keep" as const) };
    const lastLine = Math.max(0, ...done.map((row) => row.id));
    rows.set(id!, finished);
    if (amended) rows.set(amended.id, amended);
    const inode = statSync(path).ino;
    file.update([finished, amended]);
    assert.equal(readFileSync(path, "utf8"), expected(), `after experiment ${id} finished${amended ? ` and ${amended.id} was amended` : ""}`);
    const appended = statSync(path).ino === inode;
    assert.equal(appended, amended === null && id! > lastLine, `experiment ${id}: appended only when it comes after every line and nothing else changed`);
    if (appended) appends += 1;
    else rewrites += 1;
  }
  assert.ok(appends > 0 && rewrites > 0, `both ways were taken (${appends} appends, ${rewrites} rewrites)`);

  // Someone else touched the file: the next change rewrites it whole rather than appending to what is there now.
  appendFileSync(path, "a line of someone else's\n");
  const late = ledger.startExperiment(sampleExperiment("mar1", { description: "one more" }));
  ledger.finishExperiment(late, { status: "crash", reason: "exit code 1", finishedAt: "2025-03-01T10:20:00.000Z" });
  rows.set(late, ledger.getExperiment(late)!);
  file.update([ledger.getExperiment(late)]);
  assert.equal(readFileSync(path, "utf8"), expected());
  writeFileSync(path, "");
  file.update([{ ...rows.get(late)!, reason: "exit code 2" }]);
  rows.set(late, { ...rows.get(late)!, reason: "exit code 2" });
  assert.equal(readFileSync(path, "utf8"), expected(), "a truncated file is written whole again");
});
