// The dashboard without a browser: table queries, the chart's series, progress.svg, the HTTP
// API and its token, and the live stream fed by another writer of the ledger.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ExperimentRow, StreamMessage } from "../src/dashboard/api.ts";
import { progressSvg } from "../src/dashboard/chart-svg.ts";
import { startDashboard } from "../src/dashboard/dashboard.ts";
import { LogFollower } from "../src/dashboard/log-follower.ts";
import { CATEGORY_COLOURS, fromTuple, noiseBand, progressSeries, valueRange } from "../src/dashboard/progress.ts";
import { parseRowQuery, queryRows, DEFAULT_QUERY } from "../src/dashboard/query.ts";
import { DashboardStore } from "../src/dashboard/store.ts";
import { Ledger } from "../src/ledger/sqlite.ts";
import { MIXED_COUNTS, MIXED_ROWS, seedSession } from "./helpers/dashboard.ts";
import { useTempDir } from "./helpers/ledger.ts";
import { CLI } from "./helpers/project.ts";

function row(id: number, patch: Partial<ExperimentRow> = {}): ExperimentRow {
  return {
    id, tag: "t", kind: "candidate", confirms: null, status: "ok", decision: "discard", metric: 1 + id / 100, heldOutMetric: null, delta: null,
    description: `idea ${id}`, hypothesis: "", proposer: "search", device: "cpu", slot: 0, ranOn: null, durationMs: 1000 * id, startedAt: "2025-01-01T00:00:00Z",
    finishedAt: "2025-01-01T00:01:00Z", reason: null, selfReported: false, flags: [], costUsd: null, tokens: 0, ...patch,
  };
}

test("the experiment table sorts, filters and pages, with missing values last", () => {
  const rows = [row(1), row(2, { status: "crash", decision: null, metric: null, reason: "OOM in step 3" }), row(3, { decision: "keep", metric: 0.5 }), row(4, { status: "running", decision: null, metric: null, durationMs: null })];
  const byMetric = queryRows(rows, { ...DEFAULT_QUERY, sort: "metric", order: "asc" });
  assert.deepEqual(byMetric.rows.map((each) => each.id), [3, 1, 2, 4]);
  assert.deepEqual(queryRows(rows, { ...DEFAULT_QUERY, sort: "metric", order: "desc" }).rows.map((each) => each.id), [1, 3, 4, 2]);
  assert.deepEqual(queryRows(rows, { ...DEFAULT_QUERY, status: "failed" }).rows.map((each) => each.id), [2]);
  assert.deepEqual(queryRows(rows, { ...DEFAULT_QUERY, status: "keep" }).rows.map((each) => each.id), [3]);
  assert.deepEqual(queryRows(rows, { ...DEFAULT_QUERY, text: "oom" }).rows.map((each) => each.id), [2]);
  const page = queryRows(rows, { ...DEFAULT_QUERY, offset: 1, limit: 2 });
  assert.equal(page.total, 4);
  assert.deepEqual(page.rows.map((each) => each.id), [3, 2], "newest first by default");
  assert.throws(() => parseRowQuery(new URLSearchParams("sort=colour")), /sort must be one of/);
  assert.throws(() => parseRowQuery(new URLSearchParams("limit=0")), /limit must be an integer from 1/);
});

test("the chart marks each outcome and steps the running best at keeps and confirmed means", () => {
  const series = progressSeries([
    { id: 1, kind: "baseline", status: "ok", decision: null, metric: 2.0, heldOutMetric: null, confirms: null },
    { id: 2, kind: "baseline", status: "ok", decision: null, metric: 2.2, heldOutMetric: null, confirms: null },
    { id: 3, kind: "candidate", status: "ok", decision: "keep", metric: 1.9, heldOutMetric: null, confirms: null },
    { id: 4, kind: "candidate", status: "crash", decision: null, metric: null, heldOutMetric: null, confirms: null },
    { id: 5, kind: "candidate", status: "ok", decision: "keep", metric: 1.7, heldOutMetric: null, confirms: null },
    { id: 6, kind: "confirmation", status: "ok", decision: "keep", metric: 1.8, heldOutMetric: null, confirms: 5 },
    { id: 7, kind: "candidate", status: "running", decision: null, metric: null, heldOutMetric: null, confirms: null },
  ]);
  assert.deepEqual(series.ids, [1, 2, 3, 4, 5, 6], "running experiments are not plotted yet");
  assert.deepEqual(series.category, ["baseline", "baseline", "kept", "failed", "kept", "confirmation"]);
  assert.equal(series.best[0], null, "the line starts once all baseline runs are in");
  assert.ok(Math.abs(series.best[1]! - 2.1) < 1e-12);
  assert.deepEqual(series.best.slice(2).map((value) => Number(value!.toFixed(6))), [1.9, 1.9, 1.9, 1.75]);
  const withOutlier = valueRange([1, 1.1, 1.2, 1.15, 1.05, 1.12, 1.08, 1.11, 1.02, 1.06, 9], "min")!;
  assert.ok(withOutlier[1] < 2, `a diverged run (9) does not stretch the axis: ${withOutlier}`);
  assert.ok(withOutlier[0] < 1, "the best end is never cut");
});

test("the chart's best follows a sequential session: a keep after three runs, then the best's fresh re-runs; the band is ±2σ̂ pooled", () => {
  const series = progressSeries([
    { id: 1, kind: "baseline", status: "ok", decision: null, metric: 2.0, heldOutMetric: null, confirms: null },
    { id: 2, kind: "baseline", status: "ok", decision: null, metric: 2.2, heldOutMetric: null, confirms: null },
    { id: 3, kind: "candidate", status: "ok", decision: "keep", metric: 1.7, heldOutMetric: null, confirms: null },
    { id: 4, kind: "confirmation", status: "ok", decision: null, metric: 1.9, heldOutMetric: null, confirms: 3 },
    { id: 5, kind: "confirmation", status: "ok", decision: "keep", metric: 1.8, heldOutMetric: null, confirms: 3 },
    { id: 6, kind: "remeasure", status: "ok", decision: null, metric: 1.95, heldOutMetric: null, confirms: 3 },
    { id: 7, kind: "remeasure", status: "ok", decision: null, metric: 1.85, heldOutMetric: null, confirms: 3 },
    { id: 8, kind: "remeasure", status: "ok", decision: null, metric: 2.1, heldOutMetric: null, confirms: null },
  ]);
  assert.deepEqual(series.category, ["baseline", "baseline", "kept", "confirmation", "confirmation", "remeasure", "remeasure", "remeasure"]);
  const rounded = series.best.map((value) => (value === null ? null : Number(value.toFixed(6))));
  // Not kept until the third run (#5); then the mean of its 3 runs (1.8); then of its fresh re-runs;
  // a re-run of the former best (#8) moves nothing.
  assert.deepEqual(rounded, [null, 2.1, 2.1, 2.1, 1.8, 1.95, 1.9, 1.9]);
  // σ pools the groups: baselines {2.0, 2.2} (+ #8 from id 8 on), the candidate's {1.7, 1.9, 1.8}, the best's re-runs.
  assert.equal(series.noise[0], null, "one run of one code says nothing of noise");
  assert.ok(Math.abs(series.noise[1]! - Math.sqrt(0.02)) < 1e-12);
  const squares = 0.02 + 0.02 + 0.005;
  assert.ok(Math.abs(series.noise[6]! - Math.sqrt(squares / 4)) < 1e-12, `σ after #7: ${series.noise[6]}`);
  assert.equal(series.noiseSamples, 8);
  const band = noiseBand(series);
  assert.equal(band.high[0], null);
  assert.ok(Math.abs(band.high[6]! - (1.9 + 2 * series.noise[6]!)) < 1e-12);
  assert.ok(Math.abs(band.low[6]! - (1.9 - 2 * series.noise[6]!)) < 1e-12);
  const svg = progressSvg(series, { tag: "seq", metricName: "loss", direction: "min", baseline: 2.1, best: 1.9 });
  assert.match(svg, /±2σ̂ noise band/);
  assert.match(svg, /σ [0-9.]+ from 8 runs/);
  assert.match(svg, new RegExp(`fill="${CATEGORY_COLOURS.remeasure}"`));
});

test("progress.svg draws one mark per experiment and one legend sample per kind", (t) => {
  const { dir } = useTempDir(t);
  seedSession(dir, "svg", MIXED_ROWS);
  const store = new DashboardStore(dir);
  store.refresh();
  const snapshot = store.snapshot("svg")!;
  store.close();
  const svg = progressSvg(progressSeries(snapshot.points.map(fromTuple)), { tag: "svg", metricName: "val_bpb", direction: "min", baseline: 1.501, best: 1.39 });
  for (const category of ["kept", "discarded", "baseline"] as const) {
    const marks = svg.split(`fill="${CATEGORY_COLOURS[category]}"`).length - 1;
    assert.equal(marks, MIXED_COUNTS[category] + 1, `${category}: ${MIXED_COUNTS[category]} marks plus the legend's`);
  }
  assert.equal(svg.split(`fill="${CATEGORY_COLOURS.failed}"`).length - 1, MIXED_COUNTS.failed + 1);
  assert.match(svg, /val_bpb per experiment — session svg/);
});

test("the server refuses requests without the token and answers the API with it", async (t) => {
  const { dir } = useTempDir(t);
  const ids = seedSession(dir, "mar5", MIXED_ROWS);
  seedSession(dir, "mar6", MIXED_ROWS.slice(0, 3), { startMs: Date.parse("2025-03-06T22:00:00Z") });
  const dashboard = await startDashboard({ stateDir: dir, feed: "poll" });
  t.after(() => dashboard.close());
  const base = `http://127.0.0.1:${dashboard.port}`;

  const anonymous = await fetch(`${base}/api/sessions`);
  assert.equal(anonymous.status, 401);
  assert.match(await anonymous.text(), /needs its access token/);
  assert.equal((await fetch(`${base}/?token=not-the-token`)).status, 403);
  assert.equal((await fetch(`${base}/api/stream`, { headers: { authorization: "Bearer wrong" } })).status, 403);

  const page = await fetch(dashboard.url);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<div id="app">/);
  const cookie = page.headers.get("set-cookie")!.split(";")[0];
  const sessions = await (await fetch(`${base}/api/sessions`, { headers: { cookie } })).json() as { sessions: { tag: string }[] };
  assert.deepEqual(sessions.sessions.map((session) => session.tag), ["mar5", "mar6"], "the cookie set by the page authenticates later requests");

  const get = async (path: string) => {
    const response = await fetch(`${base}${path}${path.includes("?") ? "&" : "?"}token=${dashboard.token}`);
    return { status: response.status, body: await response.json() as Record<string, unknown> };
  };
  const best = await get("/api/sessions/mar5/experiments?sort=metric&order=asc&limit=2");
  assert.equal(best.body.total, MIXED_ROWS.length);
  assert.deepEqual((best.body.rows as ExperimentRow[]).map((each) => each.metric), [1.39, 1.42]);
  const failed = await get("/api/sessions/mar5/experiments?status=failed");
  assert.deepEqual((failed.body.rows as ExperimentRow[]).map((each) => each.status).sort(), ["crash", "rejected", "timeout"]);
  const bad = await get("/api/sessions/mar5/experiments?order=sideways");
  assert.equal(bad.status, 400);
  assert.match(String(bad.body.error), /order must be asc or desc/);
  const detail = await get(`/api/experiments/${ids[2]}`);
  assert.match(String(detail.body.diff), /\+LEARNING_RATE = /);
  assert.match(String(detail.body.logTail), new RegExp(`log line of experiment ${ids[2]}`));
  assert.equal("logPath" in detail.body, false, "no local paths in what a page (or a shared report) gets");
  const snapshot = await get("/api/sessions/mar5");
  assert.equal((snapshot.body.points as unknown[]).length, MIXED_ROWS.length);
  assert.equal((snapshot.body.summary as { kept: number }).kept, MIXED_COUNTS.kept);
  assert.equal((await get("/api/sessions/nope")).status, 404);
  assert.equal((await fetch(`${base}/api/sessions?token=${dashboard.token}`, { method: "POST" })).status, 405);
});

test("the live stream pushes rows and log lines that another writer adds to the ledger", async (t) => {
  const { dir } = useTempDir(t);
  seedSession(dir, "live", MIXED_ROWS.slice(0, 2), { state: "running" });
  const dashboard = await startDashboard({ stateDir: dir, feed: "poll" });
  t.after(() => dashboard.close());
  const base = `http://127.0.0.1:${dashboard.port}`;
  const auth = { headers: { authorization: `Bearer ${dashboard.token}` } };
  await fetch(`${base}/api/sessions/live`, auth); // a page looks at the session, so it is followed
  const controller = new AbortController();
  t.after(() => controller.abort());
  const stream = await fetch(`${base}/api/stream`, { ...auth, signal: controller.signal });
  const messages = readMessages(stream.body!);

  const writer = Ledger.open(dir);
  t.after(() => writer.close());
  const id = writer.startExperiment({ tag: "live", kind: "candidate", parentCommit: "c".repeat(40), proposer: "search", description: "streamed idea", device: "cpu", slot: 0 });
  const logPath = join(dir, "logs", `${id}.log`);
  mkdirSync(join(dir, "logs"), { recursive: true });
  writeFileSync(logPath, "");
  writer.updateExperiment(id, { logPath });
  const started = await messages.next((message) => message.kind === "rows" && message.rows.some((each) => each.id === id && each.status === "running"));
  assert.equal(started.kind === "rows" && started.summary.running, 1);
  appendFileSync(logPath, "step 1 loss 2.5\nstep 2 loss 2.");
  const log = await messages.next((message) => message.kind === "log" && message.id === id);
  assert.deepEqual(log.kind === "log" && log.lines, ["step 1 loss 2.5"], "only complete lines");
  writer.finishExperiment(id, { status: "ok", decision: "keep", metric: 1.3 }, { bestMetric: 1.3, bestExperimentId: id });
  const finished = await messages.next((message) => message.kind === "rows" && message.rows.some((each) => each.id === id && each.status === "ok"));
  assert.equal(finished.kind === "rows" && finished.summary.best, 1.3);
});

test("the log follower returns only new complete lines, without terminal escapes", (t) => {
  const { dir } = useTempDir(t);
  const path = join(dir, "1.log");
  writeFileSync(path, "old line before following\n");
  const follower = new LogFollower();
  const running = [{ id: 1, tag: "t", logPath: path }];
  assert.deepEqual(follower.poll(running), [], "what was there is loaded with the experiment's detail");
  appendFileSync(path, "\x1b[32mgreen\x1b[0m line\nhalf");
  assert.deepEqual(follower.poll(running), [{ id: 1, lines: ["green line"] }]);
  appendFileSync(path, " done\n");
  assert.deepEqual(follower.poll(running), [{ id: 1, lines: ["half done"] }]);
  assert.deepEqual(follower.poll([]), []);
  // A running experiment whose log is not written yet: everything it gets later is new, none of it lost.
  const later = join(dir, "2.log");
  const starting = [{ id: 2, tag: "t", logPath: later }];
  assert.deepEqual(follower.poll(starting), []);
  writeFileSync(later, "step 1/3\nstep 2/3\n");
  appendFileSync(later, "step 3/3\n");
  assert.deepEqual(follower.poll(starting), [{ id: 2, lines: ["step 1/3", "step 2/3", "step 3/3"] }]);
});

/** Server-Sent Events from a fetch body, awaited one matching message at a time (10 s deadline each). */
function readMessages(body: ReadableStream<Uint8Array>) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const queue: StreamMessage[] = [];
  return {
    async next(match: (message: StreamMessage) => boolean): Promise<StreamMessage> {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const index = queue.findIndex(match);
        if (index >= 0) return queue.splice(0, index + 1).at(-1)!;
        if (Date.now() > deadline) throw new Error(`no matching message within 10 s; got ${JSON.stringify(queue)}`);
        let timer: NodeJS.Timeout | undefined;
        const chunk = await Promise.race([reader.read(), new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), deadline - Date.now())))]);
        clearTimeout(timer);
        if (chunk === null) continue;
        if (chunk.done) throw new Error("the stream ended");
        buffer += chunk.value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event.split("\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n");
          if (data) queue.push(JSON.parse(data) as StreamMessage);
        }
      }
    },
  };
}

test("dashboard flags that cannot work are refused with what to do", (t) => {
  const { dir } = useTempDir(t);
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: "utf8", timeout: 60_000 });
  const portAlone = cli("run", "--port", "8080");
  assert.equal(portAlone.status, 2);
  assert.match(portAlone.stderr, /--port only goes with --dashboard/);
  const badPort = cli("dashboard", "--port", "99999");
  assert.equal(badPort.status, 2);
  assert.match(badPort.stderr, /--port must be a port number from 0 to 65535/);
  const notProject = cli("dashboard");
  assert.equal(notProject.status, 3);
  assert.match(notProject.stderr, /is not an autoresearch project \(no autoresearch\.config\.json\)/);
});
