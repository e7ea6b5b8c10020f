// `autoresearch report`: the static HTML opens from disk in Chromium with no network at all,
// is the same app as the live dashboard, and progress.png plots every experiment.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CATEGORY_COLOURS } from "../../src/dashboard/progress.ts";
import { chromiumMissing, launchBrowser, readDashboard, recordingPage, waitForDashboard, waitForView } from "../helpers/browser.ts";
import { MIXED_COUNTS, MIXED_ROWS, seedSession } from "../helpers/dashboard.ts";
import { useTempDir } from "../helpers/ledger.ts";
import { countBlobs, decodePng, distinctColours } from "../helpers/png.ts";
import { CLI } from "../helpers/project.ts";

function report(projectDir: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const result = spawnSync(process.execPath, [CLI, "report", "--project", projectDir, ...args], { encoding: "utf8", env, timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A project directory whose ledger holds an early short session and the MIXED one (the latest). */
function seededProject(t: { after: (fn: () => void) => void }): { dir: string; mixedIds: number[] } {
  const { dir } = useTempDir(t);
  const stateDir = join(dir, ".autoresearch");
  seedSession(stateDir, "early", MIXED_ROWS.slice(0, 3), { startMs: Date.parse("2025-03-01T22:00:00Z") });
  // Run on a cluster's two nodes, each experiment a Slurm job.
  const mixedIds = seedSession(stateDir, "mar5", MIXED_ROWS, { ranOn: (index) => ({ host: `node-${index % 2 === 0 ? "a" : "b"}`, deviceName: "Intel Xeon", slurmJobId: String(1000 + index) }) });
  return { dir, mixedIds };
}

test("the report opens from disk with no network: chart, table, sessions and a diff", { skip: chromiumMissing }, async (t) => {
  const { dir, mixedIds } = seededProject(t);
  const out = join(dir, "shared-report");
  const result = report(dir, ["--out", out]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /report of 15 experiments \(chart: session mar5\)/);

  const png = decodePng(readFileSync(join(out, "progress.png")));
  for (const category of ["kept", "discarded", "baseline", "failed"] as const) {
    // Each kind of mark appears once more in the legend.
    assert.equal(countBlobs(png, CATEGORY_COLOURS[category]), MIXED_COUNTS[category] + 1, `${category} marks in progress.png`);
  }
  assert.ok(readFileSync(join(out, "progress.svg"), "utf8").startsWith("<svg"));

  const browser = await launchBrowser(t);
  const { page, requests, errors } = await recordingPage(browser, { offline: true });
  const url = pathToFileURL(join(out, "index.html")).href;
  await page.goto(url);
  await waitForDashboard(page);
  const view = await readDashboard(page);
  assert.equal(view.points, MIXED_ROWS.length);
  assert.equal(view.kept, MIXED_COUNTS.kept);
  assert.equal(view.failed, MIXED_COUNTS.failed);
  assert.equal(view.rows, MIXED_ROWS.length);
  assert.equal(view.canvases, 2, "validation and held-out charts side by side");
  assert.match(view.connection, /^report of /);
  assert.deepEqual(view.sessions, ["early", "mar5"]);

  // Drag across the validation chart: both charts zoom to that range; a click opens the nearest experiment.
  const plot = (await page.locator(".charts .u-over").first().boundingBox())!;
  await page.mouse.move(plot.x + plot.width * 0.3, plot.y + plot.height / 2);
  await page.mouse.down();
  await page.mouse.move(plot.x + plot.width * 0.7, plot.y + plot.height / 2, { steps: 5 });
  await page.mouse.up();
  const zoomed = await page.locator(".charts").evaluate((charts) => ({ zoomed: charts.dataset.zoomed, ranges: charts.dataset.ranges.split(" ") }));
  assert.equal(zoomed.zoomed, "true");
  const [low, high] = zoomed.ranges[0].split("..").map(Number);
  assert.ok(low > mixedIds[0] && high < mixedIds.at(-1)!, `zoomed into the middle: ${zoomed.ranges[0]}`);
  assert.equal(zoomed.ranges[1], zoomed.ranges[0], "the held-out chart follows");
  await page.mouse.click(plot.x + plot.width / 2, plot.y + plot.height / 2);
  const opened = Number(await page.locator(".detail").getAttribute("data-id"));
  assert.ok(opened >= low && opened <= high, `the clicked experiment #${opened} is in the zoomed range`);
  await page.keyboard.press("Escape");
  await page.click("text=reset zoom");
  assert.equal(await page.locator(".charts").getAttribute("data-zoomed"), "false");

  // Filter, then open a kept experiment: its diff is rendered and highlighted.
  await page.selectOption("section.panel select", "keep");
  await waitForView(page, (seen) => seen.rows === MIXED_COUNTS.kept, "the keep filter");
  await page.click(`tr[data-id="${mixedIds[2]}"]`);
  await page.waitForSelector(".detail .d2h-file-wrapper", { timeout: 10_000 });
  const detail = await page.textContent(".detail") ?? "";
  assert.match(detail, /LEARNING_RATE = 0\.0012/);
  assert.match(detail, /keep: seeded/, "the decision rationale");
  assert.match(detail, new RegExp(`log line of experiment ${mixedIds[2]}`));
  assert.match(detail, /· ran on node-a \(Slurm job 1002\) ·/, "where it ran");
  assert.equal(await page.locator(`tr[data-id="${mixedIds[2]}"] td:nth-last-child(2)`).textContent(), "node-a", "the table's ran-on column");
  assert.ok(await page.locator(".detail .d2h-ins [class^='hljs-']").count() > 0, "syntax highlighting in the diff");

  await page.keyboard.press("Escape");
  await page.selectOption("header select", "early");
  await waitForView(page, (seen) => seen.points === 3 && seen.rows === 3, "switching session");

  const screenshot = decodePng(await page.screenshot({ fullPage: true }));
  assert.ok(screenshot.width >= 1400 && screenshot.height > 600);
  assert.ok(distinctColours(screenshot) > 200, "a rendered page, not a blank one");
  assert.deepEqual(errors, []);
  assert.ok(requests.length > 0);
  assert.deepEqual(requests.filter((request) => !request.startsWith("file://")), [], "nothing but the file itself was requested");
});

test("without Chromium the report is still written, and says why progress.png is missing", (t) => {
  const { dir } = seededProject(t);
  const out = join(dir, "report");
  const result = report(dir, ["--out", out, "--tag", "early"], { ...process.env, AUTORESEARCH_CHROMIUM: join(dir, "no-such-chromium") });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /progress\.png skipped: no Chromium found \(AUTORESEARCH_CHROMIUM=.* does not exist\)/);
  assert.ok(existsSync(join(out, "index.html")) && existsSync(join(out, "progress.svg")));
  assert.equal(existsSync(join(out, "progress.png")), false);
  const html = readFileSync(join(out, "index.html"), "utf8");
  assert.match(html, /"tag":"early"/);
  assert.doesNotMatch(html, /"tag":"mar5"/, "--tag keeps other sessions out");
  assert.doesNotMatch(html, /\.autoresearch\/logs/, "no local paths in a shareable file");

  const missing = report(dir, ["--tag", "nope"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no session with tag "nope"/);
});
