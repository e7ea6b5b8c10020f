// run --json against a reader that falls behind: memory stays bounded, the engine never waits.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import type { EngineEvent } from "../src/events/types.ts";
import type { LedgerExperiment } from "../src/ledger/sqlite.ts";
import { createJsonlPrinter } from "../src/views/jsonl.ts";

/** A real Writable whose reader takes nothing until `resume()`, like a stalled pipe. */
function stalledReader() {
  const chunks: string[] = [];
  const pending: Array<() => void> = [];
  let flowing = false;
  const stream = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      if (flowing) done();
      else pending.push(done);
    },
  });
  return {
    stream,
    text: () => chunks.join(""),
    resume() {
      flowing = true;
      for (const done of pending.splice(0)) done();
    },
  };
}

const at = "2025-01-01T00:00:00.000Z";

test("JSONL: a stalled reader drops log lines past the high-water mark, counts them, and keeps every other event", async () => {
  const reader = stalledReader();
  const highWaterBytes = 64 * 1024;
  const print = createJsonlPrinter((chunk) => { reader.stream.write(chunk); }, { backlogBytes: () => reader.stream.writableLength, highWaterBytes });
  const line = "loss 1.234 ".repeat(20);
  let peakBacklog = 0;
  const started: EngineEvent = { type: "experiment_started", at, id: 1, kind: "candidate", slot: 0, device: "cpu", parentCommit: "a", candidateCommit: "b", description: "d", budgetSeconds: 1 };
  print(started);
  for (let index = 0; index < 50_000; index++) {
    print({ type: "experiment_log", at, id: 1, line: `${index} ${line}` });
    peakBacklog = Math.max(peakBacklog, reader.stream.writableLength);
  }
  print({ type: "experiment_finished", at, id: 1, status: "ok", metric: 1, heldOutMetric: null, selfReported: false, wallMs: 5 });
  assert.ok(peakBacklog < highWaterBytes + 4096, `the backlog stayed near the mark (peak ${peakBacklog} bytes; 50,000 lines are ~11 MB)`);

  reader.resume();
  await new Promise<void>((resolve) => reader.stream.end(resolve));
  const events = reader.text().trimEnd().split("\n").map((text) => JSON.parse(text) as EngineEvent);
  assert.equal(events[0]!.type, "experiment_started");
  assert.equal(events.at(-1)!.type, "experiment_finished", "non-log events are never dropped");
  const logs = events.filter((event) => event.type === "experiment_log");
  const marker = logs.at(-1)!;
  const match = /(\d+) log line\(s\) dropped/.exec(marker.line);
  assert.ok(match, `the last log line says how many were dropped: ${marker.line}`);
  assert.equal(logs.length - 1 + Number(match[1]), 50_000, "written + dropped = emitted");
  assert.ok(logs.length < 1000);
});

test("JSONL: a reader that keeps up gets every log line and no marker", async () => {
  const reader = stalledReader();
  reader.resume();
  const print = createJsonlPrinter((chunk) => { reader.stream.write(chunk); }, { backlogBytes: () => reader.stream.writableLength, highWaterBytes: 1024 });
  for (let index = 0; index < 5000; index++) print({ type: "experiment_log", at, id: 2, line: `line ${index}` });
  await new Promise<void>((resolve) => reader.stream.end(resolve));
  const lines = reader.text().trimEnd().split("\n");
  assert.equal(lines.length, 5000);
  assert.ok(!reader.text().includes("dropped"));
});

test("JSONL: the committed row an event carries for the dashboard stays out (its diff, its held-out metric)", () => {
  const lines: string[] = [];
  const print = createJsonlPrinter((chunk) => { lines.push(chunk); });
  // Only its absence matters here: a stand-in for the ledger row.
  const row = { id: 1, diff: "+ secret change", heldOutMetric: 0.25 } as unknown as LedgerExperiment;
  print({ type: "experiment_finished", at, id: 1, status: "ok", metric: 1, heldOutMetric: null, selfReported: false, wallMs: 5, row });
  print({ type: "decision", at, id: 1, decision: "keep", metric: 1, best: 2, delta: -1, rationale: "better", row });
  const printed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(printed.map((event) => Object.keys(event)), [
    ["type", "at", "id", "status", "metric", "heldOutMetric", "selfReported", "wallMs"],
    ["type", "at", "id", "decision", "metric", "best", "delta", "rationale"],
  ]);
  assert.ok(!lines.join("").includes("secret change"));
});
