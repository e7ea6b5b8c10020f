// Headless Chromium for the dashboard's end-to-end tests (Debian's /usr/bin/chromium driven by
// playwright-core). Tests skip, saying why, on a machine without it.
import { existsSync } from "node:fs";
import type { TestContext } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { CHROMIUM_ARGS } from "../../src/dashboard/png.ts";

export const CHROMIUM = "/usr/bin/chromium";

export const chromiumMissing = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)`;

/** A browser closed when the test ends. */
export async function launchBrowser(t: TestContext): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
  t.after(() => browser.close());
  return browser;
}

/** A page whose every request is recorded; with `offline`, all but file:// ones fail. */
export async function recordingPage(browser: Browser, options: { offline?: boolean } = {}): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const requests: string[] = [];
  const errors: string[] = [];
  context.on("request", (request) => requests.push(request.url()));
  if (options.offline) await context.route("**/*", (route) => (route.request().url().startsWith("file://") ? route.continue() : route.abort()));
  const page = await context.newPage();
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  return { page, requests, errors };
}

/** Polls `read` (e.g. what the page shows) until `check` passes; fails with the last value seen. */
export async function waitUntil<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (check(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(last)}`);
}

/** Resolves once the dashboard page has loaded its data and painted the table and the chart. */
export async function waitForDashboard(page: Page, timeoutMs = 30_000): Promise<void> {
  await page.waitForSelector('body[data-ready="true"]', { state: "attached", timeout: timeoutMs });
}

/** What the dashboard shows, read the way a user would see it. */
export function readDashboard(page: Page) {
  // (The callback runs in the page; the Node typecheck has no DOM types, so `body` is untyped.)
  return page.$eval("body", (body, marker) => {
    const chart = body.querySelector(".charts").dataset;
    const texts = (selector: string): string[] => [...body.querySelectorAll(selector)].map((element: { textContent: string }) => element.textContent);
    return {
      points: Number(chart.points ?? 0),
      kept: Number(chart.kept ?? 0),
      failed: Number(chart.failed ?? 0),
      rows: Number(body.querySelector("[data-total]")?.dataset.total ?? 0),
      canvases: body.querySelectorAll(".charts canvas").length as number,
      running: texts(".run-card"),
      state: texts("header .badge")[0] ?? "",
      connection: texts(".connection")[0] ?? "",
      sessions: [...body.querySelectorAll("header select option")].map((option: { value: string }) => option.value),
      sameDocument: (globalThis as { marker?: string }).marker === marker,
    };
  }, MARKER);
}

export type DashboardView = Awaited<ReturnType<typeof readDashboard>>;

const MARKER = "set before the session";

/** Marks the page's window, so readDashboard can tell whether it was reloaded since. */
export async function markPage(page: Page): Promise<void> {
  await page.evaluate((marker) => ((globalThis as { marker?: string }).marker = marker), MARKER);
}

/** waitUntil on the dashboard's view. */
export function waitForView(page: Page, check: (view: DashboardView) => boolean, what: string, timeoutMs = 90_000): Promise<DashboardView> {
  return waitUntil(() => readDashboard(page), check, what, timeoutMs);
}
