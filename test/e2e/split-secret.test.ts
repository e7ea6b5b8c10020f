// The split secret end to end: drawn once per project, handed to the prepare command only,
// never written anywhere else, and a new secret (or data prepared without one) means the data is
// prepared again, with the reason said.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { EngineEvent } from "../../src/events/types.ts";
import { runSession } from "../../src/loop/session.ts";
import { gitIn, makeProject, recordingBus } from "../helpers/project.ts";

const never = new AbortController().signal;

// Forty documents; the prepare step holds out the ones whose keyed hash falls in the lowest quarter.
const PREPARE = `
const fs = require("fs");
const { createHmac } = require("crypto");
const secret = process.env.AUTORESEARCH_SPLIT_SECRET;
if (!secret) { console.error("no split secret"); process.exit(1); }
const heldOut = [];
for (let i = 0; i < 40; i++) if (createHmac("sha256", secret).update("doc-" + i).digest().readUInt32BE(0) < 2 ** 30) heldOut.push(i);
fs.writeFileSync(process.env.AUTORESEARCH_DATA_DIR + "/d.txt", "prepared data\\n");
fs.writeFileSync(process.env.AUTORESEARCH_DATA_DIR + "/held-out.json", JSON.stringify(heldOut));
`;

function heldOutFor(secret: string): number[] {
  return Array.from({ length: 40 }, (_, i) => i).filter((i) => createHmac("sha256", secret).update(`doc-${i}`).digest().readUInt32BE(0) < 2 ** 30);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

function prepareEvents(events: EngineEvent[]) {
  return {
    started: events.flatMap((event) => (event.type === "prepare_started" ? [event] : [])),
    reused: events.some((event) => event.type === "prepare_finished" && event.reused),
  };
}

test("the split secret is drawn once, reaches prepare only, and a new one prepares the data again", async (t) => {
  const dir = makeProject(t, { proposals: [] });
  writeFileSync(join(dir, "prepare.js"), PREPARE);
  gitIn(dir, "add", "prepare.js");
  gitIn(dir, "-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "-qm", "prepare with the split secret");
  // A secret in the harness's own environment reaches no phase: prepare gets the project's, train none.
  process.env.AUTORESEARCH_SPLIT_SECRET = "f".repeat(64);
  t.after(() => delete process.env.AUTORESEARCH_SPLIT_SECRET);
  const state = join(dir, ".autoresearch");
  const secretPath = join(state, "split-secret");
  const dataDir = join(state, "data");

  const first = recordingBus();
  await runSession({ projectDir: dir, tag: "t", bus: first.bus, signal: never });
  const secret = readFileSync(secretPath, "utf8").trim();
  assert.match(secret, /^[0-9a-f]{64}$/);
  assert.equal(statSync(secretPath).mode & 0o777, 0o600);
  assert.ok(relative(dataDir, secretPath).startsWith(".."), "the secret lies outside the data directory");
  const heldOut = JSON.parse(readFileSync(join(dataDir, "held-out.json"), "utf8")) as number[];
  assert.deepEqual(heldOut, heldOutFor(secret), "prepare split by the project's secret");
  assert.notDeepEqual(heldOut, heldOutFor("f".repeat(64)));
  assert.deepEqual(prepareEvents(first.events).started.map((event) => event.reason), [undefined], "a first preparation needs no reason");

  const runOut = join(state, "runs", "1", "out");
  const trainEnv = JSON.parse(readFileSync(join(runOut, "env.json"), "utf8")) as Record<string, string>;
  assert.equal(trainEnv.AUTORESEARCH_SPLIT_SECRET, undefined, "the split secret reached train");
  assert.ok(!JSON.stringify(trainEnv).includes(secret), "the split secret reached train under another name");
  assert.ok(trainEnv.AUTORESEARCH_DATA_DIR, "train got the contract");

  // Nowhere but its own file: not the data, the manifests, the ledger, the logs, results.tsv or git.
  const holders = [...filesUnder(state), join(dir, "results.tsv")].filter((path) => path !== secretPath && readFileSync(path).includes(secret));
  assert.deepEqual(holders, []);
  assert.ok(!gitIn(dir, "log", "--all", "-p").includes(secret), "the secret is in git");
  assert.ok(!gitIn(dir, "ls-files").includes("split-secret"));

  // The same secret: the data is reused.
  const second = recordingBus();
  await runSession({ projectDir: dir, tag: "u", bus: second.bus, signal: never });
  assert.equal(prepareEvents(second.events).reused, true);
  assert.equal(prepareEvents(second.events).started.length, 0);

  // A new secret: prepared again, other rows held out, and the session with earlier scores is told.
  const newSecret = "0123456789abcdef".repeat(4);
  writeFileSync(secretPath, `${newSecret}\n`, { mode: 0o600 });
  const third = recordingBus();
  await runSession({ projectDir: dir, tag: "t", bus: third.bus, signal: never });
  const [again] = prepareEvents(third.events).started;
  assert.match(again?.reason ?? "", /the split secret changed/);
  assert.deepEqual(JSON.parse(readFileSync(join(dataDir, "held-out.json"), "utf8")), heldOutFor(newSecret));
  assert.notDeepEqual(heldOutFor(newSecret), heldOut);
  assert.ok(third.events.some((event) => event.type === "warning" && /earlier scores were measured on other rows/.test(event.message)));
  assert.match(readFileSync(join(state, "logs", "prepare.log"), "utf8"), /--- prepare: node prepare\.js \(the split secret changed/);

  // Data prepared before there was a secret (a manifest without its fingerprint) is prepared again.
  const manifestPath = join(state, "data.manifest.json");
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Record<string, unknown>;
  assert.equal(typeof manifest.splitSecret, "string");
  assert.notEqual(manifest.splitSecret, newSecret);
  delete manifest.splitSecret;
  writeFileSync(manifestPath, JSON.stringify(manifest));
  const fourth = recordingBus();
  await runSession({ projectDir: dir, tag: "v", bus: fourth.bus, signal: never });
  const [old] = prepareEvents(fourth.events).started;
  assert.match(old?.reason ?? "", /prepared without a split secret/);
  assert.ok(!fourth.events.some((event) => event.type === "warning" && /earlier scores/.test(event.message)), "a new session has no earlier scores");
});

test("a split secret file that is not 64 hex digits stops the session with what to do", async (t) => {
  const dir = makeProject(t, { proposals: [] });
  const { bus } = recordingBus();
  await runSession({ projectDir: dir, tag: "t", bus, signal: never });
  writeFileSync(join(dir, ".autoresearch", "split-secret"), "not a secret\n");
  await assert.rejects(runSession({ projectDir: dir, tag: "u", bus, signal: never }), (error: Error & { hint?: string }) => {
    assert.match(error.message, /split-secret does not hold a split secret \(expected 64 hex digits\)/);
    assert.match(error.hint ?? "", /Delete the file/);
    return true;
  });
});
