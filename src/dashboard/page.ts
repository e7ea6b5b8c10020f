// The one HTML page of the dashboard and the report: the bundle inlined, and for the report the
// data too, so the file opens from disk with no server and no network.
import { REPORT_DATA_ID, REPORT_DETAILS_ID, type ReportData, type ReportDetails } from "./api.ts";
import type { WebBundle } from "./bundle.ts";

/** For the report file, where no header can be set: nothing may be fetched from anywhere. */
const REPORT_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:; base-uri 'none'; form-action 'none'";

/** For the live page: scripts only with this response's nonce; requests only to this server. */
export function liveCsp(nonce: string): string {
  return `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; img-src data:; font-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

export function renderPage(bundle: WebBundle, options: { title: string; nonce?: string; report?: { data: ReportData; details: ReportDetails } }): string {
  const nonce = options.nonce ? ` nonce="${options.nonce}"` : "";
  const { report } = options;
  const csp = report ? `\n<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">` : "";
  const data = report
    ? `\n<script type="application/json" id="${REPORT_DATA_ID}">${jsonForScript(report.data)}</script>` +
      `\n<script type="application/json" id="${REPORT_DETAILS_ID}">${jsonForScript(report.details)}</script>`
    : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">${csp}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)}</title>
<style>${closeTagSafe(bundle.css, "style")}</style>
</head>
<body>
<div id="app"></div>${data}
<script${nonce}>${closeTagSafe(bundle.js, "script")}</script>
</body>
</html>
`;
}

/** JSON inside <script>: "<" escaped so no string in the data can end the element. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

// In JavaScript strings, regular expressions and CSS, "<\/" means the same as "</".
function closeTagSafe(code: string, tag: "script" | "style"): string {
  return code.replace(new RegExp(`</(${tag})`, "gi"), "<\\/$1");
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
