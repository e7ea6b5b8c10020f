// progress.png: the SVG rendered by headless Chromium (through playwright-core), so text and
// anti-aliasing look as in a browser. Without Chromium the report still works; the PNG is skipped.
import { existsSync } from "node:fs";

/** Flags for a headless Chromium that stays off the network and needs no sandbox or GPU. */
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"];

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];

/** The Chromium to use: $AUTORESEARCH_CHROMIUM, else the usual system paths; null when none. */
export function findChromium(): string | null {
  const configured = process.env.AUTORESEARCH_CHROMIUM;
  if (configured) return existsSync(configured) ? configured : null;
  return CANDIDATES.find((path) => existsSync(path)) ?? null;
}

export async function svgToPng(svg: string, size: { width: number; height: number }, scale = 2): Promise<{ png: Buffer } | { skipped: string }> {
  const executablePath = findChromium();
  if (executablePath === null) {
    return { skipped: `no Chromium found (${process.env.AUTORESEARCH_CHROMIUM ? `AUTORESEARCH_CHROMIUM=${process.env.AUTORESEARCH_CHROMIUM} does not exist` : `looked for ${CANDIDATES.join(", ")}`}); install it (e.g. apt-get install chromium) or set AUTORESEARCH_CHROMIUM, then run report again` };
  }
  let playwright: typeof import("playwright-core");
  try {
    playwright = await import("playwright-core");
  } catch {
    return { skipped: "playwright-core is not installed; run `npm install` in the autoresearch directory, then run report again" };
  }
  const browser = await playwright.chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: 60_000 });
  try {
    const context = await browser.newContext({ viewport: size, deviceScaleFactor: scale });
    const page = await context.newPage();
    await page.route("**/*", (route) => route.abort()); // the SVG is self-contained; nothing may be fetched
    await page.setContent(`<!doctype html><html><body style="margin:0;background:#fff">${svg}</body></html>`);
    return { png: await page.screenshot({ type: "png", clip: { x: 0, y: 0, ...size } }) };
  } finally {
    await browser.close();
  }
}
