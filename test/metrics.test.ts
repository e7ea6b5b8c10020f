// Reading metrics: non-finite values are named as such; the self-reported scan is fed line by line.
import assert from "node:assert/strict";
import { test } from "node:test";
import { readMetricsJson, readSelfReported, SelfReportedScanner } from "../src/job/metrics.ts";

const names = { name: "val_bpb", secondary: [] };

test("metrics: nan, inf and 1e309 are 'not a finite number', named as they were written", () => {
  const cases: Array<[string, string]> = [
    ['{"val_bpb": NaN}', "nan"],          // Python's json.dump(float("nan"))
    ['{"val_bpb": Infinity}', "inf"],
    ['{"val_bpb": -Infinity, "note": "NaN in a string stays a string"}', "-inf"],
    ['{"val_bpb": 1e309}', "inf"],        // valid JSON that overflows
    ['{"val_bpb": "0.5"}', '"0.5"'],
  ];
  for (const [text, shown] of cases) {
    const reading = readMetricsJson(text, names);
    assert.equal(reading.kind, "no_metric", text);
    assert.equal((reading as { reason: string }).reason, `"val_bpb" in the metrics file is not a finite number (${shown})`);
  }
  for (const [line, shown] of [["val_bpb: nan", "nan"], ["val_bpb = inf", "inf"], ["val_bpb: -inf", "-inf"], ["val_bpb: 1e309", "inf"]]) {
    const reading = readSelfReported(`step 1\n${line}\n`, names);
    assert.equal((reading as { reason: string }).reason, `"val_bpb" in the train output is not a finite number (${shown})`, line);
  }
  assert.match((readMetricsJson("{nope", names) as { reason: string }).reason, /not valid JSON/);
  assert.deepEqual(readMetricsJson('{"val_bpb": 0.25, "other": NaN}', names).kind, "ok", "a non-finite secondary does not sink the metric");
});

test("metrics: the scanner keeps the last value of each name, fed one line at a time", () => {
  const scanner = new SelfReportedScanner();
  scanner.push("val_bpb: 3.0");
  for (let index = 0; index < 10_000; index++) scanner.push(`step ${index} loss ${index}`);
  scanner.push("x".repeat(5_000_000));
  scanner.push("  val_bpb = 1.5  ");
  const reading = scanner.reading(names);
  assert.equal(reading.kind, "ok");
  assert.equal((reading as { metric: number }).metric, 1.5);
});
