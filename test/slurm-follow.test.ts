// How the Slurm executor follows a job to its result: what Slurm's word on a job means for the wait for its
// result file, that the file is seen as soon as it is renamed into place where the filesystem reports it, and
// that a job is asked about before Slurm's silence on it is read as "unknown".
// (The executor itself runs on a real cluster in test/e2e/slurm.test.ts.)
import assert from "node:assert/strict";
import { test } from "node:test";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitForFile } from "../src/executors/file-wait.ts";
import { resultWait, SlurmPoller } from "../src/executors/slurm.ts";
import type { SlurmJobState } from "../src/executors/slurm-cli.ts";

const word = (state: string): SlurmJobState => ({ id: "7", state, reason: "None", node: state === "PENDING" ? null : "node1" });

test("the grace for a job's result file counts from when Slurm said it ended, not from an earlier moment it did not know the job yet", () => {
  const graceMs = 5_000;
  // Just submitted: Slurm's answer did not list it; then it queues, runs for 20 s, and ends.
  const seen: [number, SlurmJobState | undefined][] = [[0, undefined], [500, word("PENDING")], [9_000, word("RUNNING")], [29_000, word("COMPLETED")], [31_000, word("COMPLETED")], [34_000, word("COMPLETED")]];
  let endedMs: number | null = null;
  const verdicts = seen.map(([nowMs, state]) => {
    const wait = resultWait(state, endedMs, nowMs, graceMs);
    endedMs = wait.endedMs;
    return `${nowMs}: ${wait.giveUp ? "give up" : "wait"}`;
  });
  // Giving up at 29 s, the moment the job ended, loses a result written just then (the flaky kill -9 test).
  assert.deepEqual(verdicts, ["0: wait", "500: wait", "9000: wait", "29000: wait", "31000: wait", "34000: give up"]);
});

test("a job Slurm no longer knows, or that stays ended, is given up after the grace; one seen queued again starts afresh", () => {
  assert.deepEqual(resultWait(undefined, null, 1_000, 5_000), { endedMs: 1_000, giveUp: false });
  assert.deepEqual(resultWait(undefined, 1_000, 6_000, 5_000), { endedMs: 1_000, giveUp: true });
  assert.deepEqual(resultWait(word("OUT_OF_MEMORY"), 1_000, 5_999, 5_000), { endedMs: 1_000, giveUp: false });
  assert.deepEqual(resultWait(word("PENDING"), 1_000, 9_000, 5_000), { endedMs: null, giveUp: false });
});

test("a job watched after the latest poll is asked about at once: that poll's silence on it is not read as 'unknown to Slurm'", async () => {
  const asked: string[][] = [];
  const states = new Map([["1", word("RUNNING")], ["2", word("PENDING")]]);
  // Stands in for squeue: answers for the ids it is asked about.
  const poller = new SlurmPoller(60_000, async (ids) => {
    asked.push([...ids]);
    return new Map(ids.filter((id) => states.has(id)).map((id) => [id, states.get(id)!]));
  });
  poller.watch("1");
  assert.equal((await poller.state("1"))?.state, "RUNNING");
  poller.watch("2");
  assert.equal((await poller.state("2"))?.state, "PENDING", "the new job's state, not undefined from the poll before it was watched");
  assert.equal((await poller.state("1"))?.state, "RUNNING");
  assert.deepEqual(asked, [["1"], ["1", "2"]], "one poll per interval otherwise");
  poller.watch("3");
  assert.equal(await poller.state("3"), undefined, "asked, and Slurm does not know it");
  assert.deepEqual(asked.at(-1), ["1", "2", "3"]);
});

test("a wait for a result file ends when the file is renamed into place, even a rename made before the wait began", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "autoresearch-file-wait-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "result.json");
  const appeared = waitForFile(path);
  t.after(() => appeared.close());
  // Each wait below is ten minutes long: only the rename can end it within the test's time.
  const waiting = appeared.next(600_000);
  writeFileSync(`${path}.1.tmp`, "{}");
  renameSync(`${path}.1.tmp`, path);
  await waiting;
  rmSync(path);
  await new Promise((resolve) => setTimeout(resolve, 50)); // the removal's own event, seen before the next rename
  await appeared.next(0);
  writeFileSync(`${path}.2.tmp`, "{}");
  renameSync(`${path}.2.tmp`, path);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await appeared.next(600_000); // it changed while nobody waited
  // A directory that is not there: the timer alone.
  const nowhere = waitForFile(join(dir, "missing", "result.json"));
  await nowhere.next(10);
  nowhere.close();
});
