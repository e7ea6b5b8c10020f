// `autoresearch report`: a self-contained index.html (the dashboard's UI with the data inlined,
// opening from disk with no server and no network) plus progress.svg and progress.png.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EXIT, UserError } from "../errors.ts";
import type { DetailExtra, ExperimentDetail, ReportData, ReportDetails, StudyView } from "./api.ts";
import { webBundle } from "./bundle.ts";
import { progressSvg, SVG_SIZE } from "./chart-svg.ts";
import { renderPage } from "./page.ts";
import { svgToPng } from "./png.ts";
import { fromTuple, progressSeries } from "./progress.ts";
import { DashboardStore } from "./store.ts";

/** Log lines kept per experiment in the report (the whole log stays in the project). */
const REPORT_LOG_LINES = 20;

export interface ReportOptions {
  stateDir: string;
  outDir: string;
  /** Only this session; default: every session (the chart shows the latest). */
  tag?: string;
  now?: () => Date;
  /** A shared study's overview, shown beside the sessions (README "Research together"). */
  study?: StudyView | null;
}

export interface ReportResult {
  /** The session the progress chart shows. */
  chartTag: string;
  html: string;
  svg: string;
  /** Null when the PNG was skipped; `skipped` then says why. */
  png: string | null;
  skipped: string | null;
  experiments: number;
}

export async function writeReport(options: ReportOptions): Promise<ReportResult> {
  const store = new DashboardStore(options.stateDir);
  try {
    store.refresh();
    const sessions = store.sessions();
    if (sessions.length === 0) {
      throw new UserError(`no sessions to report on in ${options.stateDir}`, { exitCode: EXIT.config, hint: store.problem ?? "Start one with `autoresearch run`." });
    }
    if (options.tag !== undefined && !sessions.some((session) => session.tag === options.tag)) {
      throw new UserError(`no session with tag "${options.tag}"`, { exitCode: EXIT.usage, hint: `Tags: ${sessions.map((session) => session.tag).join(", ")}` });
    }
    const included = sessions.filter((session) => options.tag === undefined || session.tag === options.tag);
    const data: ReportData = { generatedAt: (options.now?.() ?? new Date()).toISOString(), sessions: included, snapshots: {}, rows: {}, ...(options.study ? { study: options.study } : {}) };
    const details: ReportDetails = {};
    let experiments = 0;
    for (const { tag } of included) {
      data.snapshots[tag] = store.snapshot(tag)!;
      data.rows[tag] = store.rows(tag)!;
      for (const detail of store.details(tag, REPORT_LOG_LINES)) details[String(detail.id)] = extraOf(detail);
      experiments += data.rows[tag].length;
    }
    const chartTag = included.at(-1)!.tag;
    const snapshot = data.snapshots[chartTag];
    const svgText = progressSvg(progressSeries(snapshot.points.map(fromTuple), snapshot.summary.finalized?.unconfirmedKeeps), {
      tag: chartTag, metricName: snapshot.summary.metricName, direction: snapshot.summary.direction, baseline: snapshot.summary.baseline, best: snapshot.summary.best,
    });
    const bundle = await webBundle();
    mkdirSync(options.outDir, { recursive: true });
    const html = join(options.outDir, "index.html");
    const svg = join(options.outDir, "progress.svg");
    writeFileSync(html, renderPage(bundle, { title: `autoresearch report · ${included.map((session) => session.tag).join(", ")}`, report: { data, details } }));
    writeFileSync(svg, svgText);
    const rendered = await svgToPng(svgText, SVG_SIZE);
    let png: string | null = null;
    if ("png" in rendered) {
      png = join(options.outDir, "progress.png");
      writeFileSync(png, rendered.png);
    }
    return { chartTag, html, svg, png, skipped: "skipped" in rendered ? rendered.skipped : null, experiments };
  } finally {
    store.close();
  }
}

/** The detail minus what its row already holds (the page joins them again). */
function extraOf(detail: ExperimentDetail): DetailExtra {
  const { parentCommit, candidateCommit, rationale, bestBefore, secondary, memoryGb, timings, usage, diff, logTail } = detail;
  return { parentCommit, candidateCommit, rationale, bestBefore, secondary, memoryGb, timings, usage, diff, logTail };
}
