// With one slot, the next proposal must be prepared while the current experiment runs, so a slow
// proposer (an LLM) does not add its latency to every experiment. (Throughput figures: npm run bench.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSession } from "../src/loop/session.ts";
import type { Proposer } from "../src/proposers/types.ts";
import { baseConfig, ledgerRows, makeProject, recordingBus } from "./helpers/project.ts";

test("one slot: the next proposal is requested while the current experiment trains, not after it", async (t) => {
  const sleepy = (x: number) => ({ description: `x=${x}`, params: { mode: "sleep", seconds: 1, x } });
  const dir = makeProject(t, {
    config: baseConfig({ timeoutSeconds: 10 }),
    params: { mode: "ok", x: 3 },
    proposals: [sleepy(4), sleepy(5), sleepy(6)],
  });
  const { bus, events } = recordingBus();
  const result = await runSession({ projectDir: dir, tag: "prefetch", slots: 1, bus, signal: new AbortController().signal });
  assert.equal(result.paused, false, `the session paused: ${result.reason}`);

  const finishedAt = (id: number) => events.findIndex((event) => event.type === "experiment_finished" && event.id === id);
  const candidates = events.flatMap((event) => (event.type === "experiment_started" && event.kind === "candidate" ? [event.id] : []));
  const requests = events.flatMap((event, index) => (event.type === "proposal_requested" ? [index] : []));
  assert.equal(candidates.length, 3, "all three proposals ran");
  // Request k+1 (0-based) is for candidate k+1; it must come before candidate k has finished.
  for (let k = 0; k + 1 < candidates.length; k += 1) {
    assert.ok(finishedAt(candidates[k]!) > 0, `candidate ${candidates[k]} finished`);
    assert.ok(
      requests[k + 1]! < finishedAt(candidates[k]!),
      `proposal ${k + 2} was requested only after experiment ${candidates[k]} finished: the slot waits for the proposer every time`,
    );
  }
});

test("a proposer that would rather propose again gets asked again when the best moves, instead of having its edits re-applied", async (t) => {
  const dir = makeProject(t, { config: baseConfig({ proposer: { name: "replay", file: "proposals.json", queueDepth: 3 }, stop: { maxExperiments: 5, maxConsecutiveFailures: 5 } }) });
  // Proposes x = 6, 5, 4, ... each against the best it is shown; remembers which best that was.
  let next = 6;
  const proposedOn = new Map<string, string>();
  const proposer: Proposer = {
    name: "fresh",
    reproposeWhenBestMoves: true,
    async propose(context) {
      const x = next--;
      proposedOn.set(`x to ${x}`, context.best.commit);
      return { kind: "proposal", description: `x to ${x}`, hypothesis: "closer to 7", edits: [{ path: "params.json", content: `${JSON.stringify({ x, mode: "ok" })}\n` }] };
    },
  };
  await runSession({ projectDir: dir, tag: "fresh", slots: 1, bus: recordingBus().bus, signal: new AbortController().signal, proposerInstance: proposer });
  const candidates = ledgerRows(dir).filter((row) => row.kind === "candidate");
  const keep = candidates.find((row) => row.description === "x to 6")!;
  assert.equal(keep.decision, "keep");
  // Proposals made for the baseline while "x to 6" ran were dropped; what ran after it was proposed on it.
  const later = candidates.filter((row) => row.id > keep.id);
  assert.ok(later.length >= 2);
  for (const row of later) {
    assert.equal(row.parentCommit, keep.candidateCommit, `${row.description} ran on the best`);
    assert.equal(proposedOn.get(row.description), keep.candidateCommit, `${row.description} was proposed for an older best and re-applied`);
  }
  assert.ok(proposedOn.size > candidates.length, "the dropped proposals were asked for again");
  assert.ok(!candidates.some((row) => row.status === "rejected"));
});
