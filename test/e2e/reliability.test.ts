// The harness under stress and misuse: huge outputs, bad tags, unwritable state, its own state changed under it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runSession } from "../../src/loop/session.ts";
import { LOG_HEAD_BYTES, LOG_TAIL_BYTES } from "../../src/runner/log-cap.ts";
import { baseConfig, gitIn, ledgerRows, makeProject, recordingBus } from "../helpers/project.ts";

const never = new AbortController().signal;

function commitAll(dir: string, message: string): void {
  gitIn(dir, "add", "-A");
  gitIn(dir, "-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "-qm", message);
}

test("a self-reported metric printed in the part of the output the log cap cuts out is still found", async (t) => {
  const config = baseConfig({ budgetSeconds: 10, timeoutSeconds: 60 });
  delete config.evaluate;
  const dir = makeProject(t, { config, proposals: [] });
  // 3 MiB of noise, the metric, 3 MiB of noise: the metric line lands between the log's head and tail.
  writeFileSync(join(dir, "train.js"), `
    const noise = (n) => { for (let i = 0; i < n; i++) process.stdout.write("step " + i + " " + "n".repeat(60) + "\\n"); };
    noise(48000);
    process.stdout.write("score: 0.25\\n");
    noise(48000);
  `);
  commitAll(dir, "chatty train");
  const { bus } = recordingBus();
  await runSession({ projectDir: dir, tag: "t", bus, signal: never });
  const [baseline] = ledgerRows(dir);
  assert.equal(baseline!.status, "ok", baseline!.reason ?? "");
  assert.equal(baseline!.metric, 0.25);
  const log = readFileSync(baseline!.logPath, "utf8");
  assert.ok(statSync(baseline!.logPath).size <= LOG_HEAD_BYTES + LOG_TAIL_BYTES + 1000);
  assert.ok(!log.includes("score: 0.25"), "the metric line itself was cut from the log");
  assert.match(log, /bytes \(\d+ lines\) cut/);
});
