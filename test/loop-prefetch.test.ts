// With one slot, the next proposal must be prepared while the current experiment runs, so a slow
// proposer (an LLM) does not add its latency to every experiment. (Throughput figures: npm run bench.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSession } from "../src/loop/session.ts";
import { baseConfig, makeProject, recordingBus } from "./helpers/project.ts";

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
