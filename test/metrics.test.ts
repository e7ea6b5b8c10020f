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

test("metrics: a metric name that is not there is refused with the names that were", () => {
  const missing = readMetricsJson('{"val_loss": 1.25, "train_loss": 1.1, "self_reported": {"val_loss": 1.2}}', names);
  assert.equal(missing.kind, "no_metric");
  assert.equal((missing as { reason: string }).reason, 'the metrics file has no "val_bpb"; it has "val_loss", "train_loss" (metric.name in the config must be one of them)');
  const many = Object.fromEntries(Array.from({ length: 25 }, (_, index) => [`m${index}`, index]));
  assert.match((readMetricsJson(JSON.stringify(many), names) as { reason: string }).reason, /"m19" and 5 more \(metric\.name/);
  assert.match((readMetricsJson("{}", names) as { reason: string }).reason, /has no "val_bpb"; it has no values at all/);
  const printed = readSelfReported("loss: 3.5\nms_per_sort: 12.5\n", names);
  assert.equal((printed as { reason: string }).reason, 'the train output has no "val_bpb"; it has "loss", "ms_per_sort" (metric.name in the config must be one of them)');
});
