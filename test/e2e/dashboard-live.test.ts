// The live dashboard in headless Chromium while real sessions run (replay proposer, the small
// JavaScript workload): inside `run --dashboard` (fed by the engine's events) and as the
// standalone `dashboard` command beside a separate `run` (polling the ledger and the logs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { chromiumMissing, launchBrowser, markPage, recordingPage, waitForDashboard, waitForView } from "../helpers/browser.ts";
import { exitOf, spawnWithUrl } from "../helpers/dashboard.ts";
import { decodePng, distinctColours } from "../helpers/png.ts";
import { baseConfig, makeProject, type Proposal } from "../helpers/project.ts";

const PROPOSALS: Proposal[] = [
  { description: "x to 5", params: { x: 5, mode: "ok" } },
  // Sleeps after printing its progress: time to see it running, with its log, even on a loaded
  // machine where a poll of the standalone dashboard or a render can take seconds (10 s was once too short
  // while the gpt tests ran beside it); the hard limit, 1 s + 29 s start-up, leaves room.
  { description: "slow x to 6", params: { x: 6, mode: "sleep", seconds: 18 } },
  { description: "crash it", params: { x: 6, mode: "crash" } },
  { description: "x to 8", params: { x: 8, mode: "ok" } },
];

test("run --dashboard: chart, table and running experiments follow the session live", { skip: chromiumMissing }, async (t) => {
  const dir = makeProject(t, { config: baseConfig({ startupSeconds: 29, timeoutSeconds: undefined }), proposals: PROPOSALS });
  const run = spawnWithUrl(["run", "--dashboard", "--port", "0", "--json", "--max-experiments", "5"], { cwd: dir });
  t.after(() => run.child.kill("SIGKILL"));
  const url = await run.url;
  const browser = await launchBrowser(t);
  const { page, errors } = await recordingPage(browser);
  await page.goto(url);
  await markPage(page);

  // The slow experiment shows up as running, with its budget and its log, while it runs.
  const { running } = await waitForView(page, (seen) => seen.running.some((card) => /slow x to 6/.test(card) && /step 3\/3/.test(card)), "the slow experiment running with its log");
  assert.match(running.find((card) => /slow x to 6/.test(card))!, /cpu · (training|setting up|evaluating) · [\d.]+m?s of 1\.0s budget/);

  // Meanwhile the keep before it is in the table; its diff opens on click (the server is still up).
  await page.click("tr.row-keep");
  await page.waitForSelector(".detail .d2h-file-wrapper", { timeout: 10_000 });
  assert.match(await page.textContent(".detail") ?? "", /"x":\s*5/);

  const final = await waitForView(page, (seen) => seen.rows === 5 && seen.points === 5, "all five experiments");
  assert.equal(final.kept, 2, "x to 5 and the slow x to 6 were kept");
  assert.equal(final.failed, 1, "the crash is marked");
  assert.ok(final.sameDocument, "updated in place, never reloaded");
  assert.equal(await exitOf(run.child), 0, run.output());
  assert.deepEqual(errors.filter((error) => !/EventSource|ERR_CONNECTION_REFUSED|Failed to load resource/.test(error)), []);
});

test("the standalone dashboard refuses requests without the token and follows a run in another process", { skip: chromiumMissing }, async (t) => {
  const dir = makeProject(t, { config: baseConfig({ startupSeconds: 29, timeoutSeconds: undefined }), proposals: PROPOSALS.slice(0, 2) });
  const dashboard = spawnWithUrl(["dashboard", "--port", "0"], { cwd: dir });
  t.after(() => dashboard.child.kill("SIGKILL"));
  const url = await dashboard.url;
  const browser = await launchBrowser(t);
  const { page } = await recordingPage(browser);

  const refused = await page.goto(url.replace(/\?token=.*/, ""));
  assert.equal(refused?.status(), 401);
  assert.match(await page.textContent("body") ?? "", /needs its access token/);
  const wrong = await page.goto(url.replace(/token=.*/, "token=guessed"));
  assert.equal(wrong?.status(), 403);

  const opened = await page.goto(url);
  assert.equal(opened?.status(), 200);
  await waitForDashboard(page);
  assert.match(await page.textContent(".notice") ?? "", /no research session in this project yet/);
  await markPage(page);

  const run = spawnWithUrl(["run", "--max-experiments", "3"], { cwd: dir });
  t.after(() => run.child.kill("SIGKILL"));
  await waitForView(page, (seen) => seen.running.some((card) => /slow x to 6/.test(card) && /step 3\/3/.test(card)), "the slow experiment with its log tail");
  assert.equal(await exitOf(run.child), 0, run.output());
  const final = await waitForView(page, (seen) => seen.rows === 3 && seen.points === 3 && seen.state === "stopped" && seen.running.length === 0, "the finished session");
  assert.equal(final.kept, 2);
  assert.ok(final.sameDocument, "the page picked up the new session without a reload");
  assert.match(await page.textContent(".cards") ?? "", /experiments\s*3/i);

  const screenshot = await page.screenshot({ fullPage: true });
  assert.ok(screenshot.length > 30_000, `a real picture, ${screenshot.length} bytes`);
  assert.ok(distinctColours(decodePng(screenshot)) > 200, "many colours: chart, badges, text");

  dashboard.child.kill("SIGTERM");
  assert.equal(await exitOf(dashboard.child), 0, "Ctrl-C (SIGTERM) stops the dashboard cleanly");
});
