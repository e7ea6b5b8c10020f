// The dashboard page: the same app for the live server and the static report; only the data
// source differs (see source.ts).
import "uplot/dist/uPlot.min.css";
import "diff2html/bundles/css/diff2html.min.css";
import "highlight.js/styles/github.css";
import "./styles.css";
import { REPORT_DATA_ID, REPORT_DETAILS_ID } from "../api.ts";
import type { ExperimentRow, ReportData, ReportDetails, RowPage, SessionListItem, SessionSnapshot, SessionSummaryView, StreamMessage } from "../api.ts";
import { fromTuple, type PointInput } from "../progress.ts";
import { formatMetric } from "../../views/format.ts";
import { ProgressCharts } from "./chart.ts";
import { DetailPanel } from "./detail.ts";
import { debounce, h, replaceChildren } from "./dom.ts";
import { RunningPanel } from "./running.ts";
import { httpSource, staticSource, type ConnectionState, type DataSource } from "./source.ts";
import { StudyPanel } from "./study.ts";
import { SummaryCards } from "./summary.ts";
import { ExperimentTable } from "./table.ts";

class App {
  #source: DataSource;
  /** The session shown. */
  #tag: string | null = null;
  /** The server's data version of what the page shows; -1 before the first load. */
  #version = -1;
  #summary: SessionSummaryView | null = null;
  #points = new Map<number, PointInput>();
  #loading = false;
  #pending: StreamMessage[] = [];
  #select = h("select", { "aria-label": "session" });
  #state = h("span", { class: "badge" });
  #isolation = h("span", { class: "badge isolation", hidden: true });
  #connection = h("span", { class: "connection" });
  #notice = h("p", { class: "notice", hidden: true });
  #cards = new SummaryCards();
  #charts = new ProgressCharts((id) => this.#open(id));
  #running: RunningPanel;
  #table = new ExperimentTable((query) => this.#source.page(this.#tag ?? "", query), (id) => this.#open(id));
  #detail = new DetailPanel((id) => this.#source.detail(id));
  #study: StudyPanel;
  #redrawQueued = false;
  // A failed refresh keeps the patched rows; the connection badge already says the server is gone.
  #refreshTable = debounce(() => void this.#table.refresh().catch(() => undefined), 250);

  constructor(source: DataSource) {
    this.#source = source;
    this.#running = new RunningPanel(source.live, (id) => this.#open(id));
    this.#study = new StudyPanel(() => this.#source.study(), source.live);
    this.#select.addEventListener("change", () => {
      history.replaceState(null, "", `${location.search}#tag=${encodeURIComponent(this.#select.value)}`);
      void this.#reload(this.#select.value);
    });
    const app = document.getElementById("app")!;
    replaceChildren(app,
      h("header", {}, h("h1", {}, "autoresearch"), this.#select, this.#state, this.#isolation, h("span", { class: "grow" }), this.#connection),
      this.#notice,
      h("main", {}, this.#cards.element, this.#study.element, this.#charts.element, this.#running.element, this.#table.element),
      this.#detail.element,
    );
  }

  async start(): Promise<void> {
    this.#source.subscribe({
      message: (message) => this.#onMessage(message),
      state: (state) => this.#showConnection(state),
    });
    await Promise.all([this.#reload(), this.#study.refresh()]);
  }

  /** Loads the sessions and one of them (default: the one shown, the URL's, else the latest) in one request. */
  async #reload(tag: string | null = null): Promise<void> {
    this.#loading = true;
    try {
      const wanted = tag ?? this.#tag ?? new URLSearchParams(location.hash.slice(1)).get("tag");
      if (wanted !== this.#tag) this.#table.reset();
      const overview = await this.#source.overview(wanted, this.#table.query);
      this.#version = overview.version;
      this.#renderSessions(overview.sessions);
      this.#notice.hidden = overview.sessions.length > 0;
      this.#notice.textContent = overview.problem ?? "";
      if (overview.snapshot !== null && overview.page !== null) this.#showSession(overview.snapshot, overview.page);
    } catch (error) {
      this.#notice.hidden = false;
      this.#notice.textContent = `could not load the data (${(error as Error).message}); the page retries when the live connection comes back`;
      this.#version = -1;
    } finally {
      this.#loading = false;
    }
    for (const message of this.#pending.splice(0)) this.#onMessage(message);
    // Ready (for tests and the benchmark) once the table and the chart have been painted.
    await new Promise((resolve) => requestAnimationFrame(resolve));
    if (document.body.dataset.ready !== "true") performance.mark("autoresearch-ready");
    document.body.dataset.ready = "true";
  }

  #showSession(snapshot: SessionSnapshot, page: RowPage): void {
    const summary = snapshot.summary;
    if (summary.tag !== this.#tag) this.#table.reset();
    this.#tag = summary.tag;
    this.#select.value = summary.tag;
    this.#points = new Map(snapshot.points.map((tuple) => [tuple[0], fromTuple(tuple)]));
    this.#summary = summary;
    this.#table.configure(summary.metricName, summary.heldOutName, summary.direction);
    this.#table.show(page);
    this.#redraw();
    this.#running.reset(snapshot.running, summary);
    this.#seedLogs(snapshot.running.map((row) => row.id));
  }

  /** The log so far of experiments that started before the page followed them. */
  #seedLogs(ids: readonly number[]): void {
    for (const id of ids) void this.#source.detail(id).then((detail) => detail && this.#running.seed(id, detail.logTail));
  }

  #onMessage(message: StreamMessage): void {
    if (this.#loading) {
      this.#pending.push(message);
      return;
    }
    switch (message.kind) {
      case "hello":
        // (Re)connected: reload only if something changed since the data on the page was read.
        if (message.version !== this.#version) void this.#reload();
        return;
      case "sessions":
        this.#renderSessions(message.sessions);
        if (this.#tag === null || !message.sessions.some((session) => session.tag === this.#tag)) void this.#reload();
        return;
      case "rows":
        if (message.tag !== this.#tag) return;
        this.#applyRows(message.rows, message.summary);
        return;
      case "log":
        this.#running.log(message.id, message.lines);
        this.#detail.appendLog(message.id, message.lines);
        return;
      case "phase":
        this.#running.phase(message.id, message.phase);
        return;
    }
  }

  #applyRows(rows: readonly ExperimentRow[], summary: SessionSummaryView): void {
    for (const row of rows) this.#points.set(row.id, { id: row.id, kind: row.kind, status: row.status, decision: row.decision, metric: row.metric, heldOutMetric: row.heldOutMetric, confirms: row.confirms });
    this.#summary = summary;
    this.#seedLogs(this.#running.update(rows));
    this.#table.patch(rows);
    this.#refreshTable();
    if (!this.#redrawQueued) {
      this.#redrawQueued = true;
      requestAnimationFrame(() => this.#redraw());
    }
    // A finished experiment that is open in the detail view is shown again with its results.
    const open = rows.find((row) => row.id === this.#detail.openId && row.status !== "running");
    if (open) void this.#detail.show(open.id, summary);
  }

  #redraw(): void {
    this.#redrawQueued = false;
    if (this.#summary === null) return;
    this.#cards.render(this.#summary);
    this.#charts.update([...this.#points.values()], this.#summary);
    this.#state.textContent = this.#summary.state;
    this.#state.className = `badge state-${this.#summary.state}`;
    this.#state.title = this.#summary.stopReason ?? "";
    // Unsandboxed or networked phases must be visible; the plain sandbox needs no badge.
    const isolation = this.#summary.isolation;
    this.#isolation.hidden = isolation === null || isolation === "sandbox";
    this.#isolation.textContent = isolation === "unsandboxed" ? "UNSANDBOXED" : isolation === "sandbox+network" ? "sandbox · NETWORK ON" : (isolation ?? "");
    this.#isolation.title = isolation === "unsandboxed" ? "the mutable code ran with the user's full rights and could reach the network" : "";
    document.title = `${this.#summary.name ?? this.#summary.tag} · best ${formatMetric(this.#summary.best)} · autoresearch`;
  }

  #renderSessions(sessions: readonly SessionListItem[]): void {
    replaceChildren(this.#select, ...sessions.map((session) => h("option", { value: session.tag }, `${session.tag} · ${session.state} · best ${formatMetric(session.bestMetric)}`)));
    if (this.#tag !== null) this.#select.value = this.#tag;
  }

  #open(id: number): void {
    void this.#detail.show(id, this.#summary);
  }

  #showConnection(state: ConnectionState): void {
    this.#connection.dataset.state = state;
    this.#connection.textContent = state === "static"
      ? `report of ${new Date(this.#source.generatedAt ?? Date.now()).toLocaleString()}`
      : { connecting: "connecting…", live: "● live", offline: "offline: the dashboard server stopped" }[state];
  }
}

function chooseSource(): DataSource {
  const embedded = document.getElementById(REPORT_DATA_ID);
  if (embedded?.textContent) {
    return staticSource(JSON.parse(embedded.textContent) as ReportData, () => JSON.parse(document.getElementById(REPORT_DETAILS_ID)?.textContent || "{}") as ReportDetails);
  }
  return httpSource(new URLSearchParams(location.search).get("token"));
}

void new App(chooseSource()).start();
