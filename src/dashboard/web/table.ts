// The experiment table: sortable by any column, filtered by status and text, paged (100 rows
// a page, sorted and sliced by the data source) so 10,000+ experiments stay responsive.
import type { ExperimentRow, RowPage, RowQuery, SortKey, StatusFilter } from "../api.ts";
import { STATUS_FILTERS } from "../api.ts";
import { DEFAULT_QUERY, statusLabel } from "../query.ts";
import { formatDelta, formatDuration, formatMetric } from "../../views/format.ts";
import { clusterJobOf, placeOf } from "../../views/ran-on.ts";
import { debounce, h, replaceChildren } from "./dom.ts";

interface Column {
  key: SortKey;
  label: string;
  cell(row: ExperimentRow): Node | string;
  className?: string;
}

export class ExperimentTable {
  readonly element: HTMLElement;
  #query: RowQuery = { ...DEFAULT_QUERY };
  #load: (query: RowQuery) => Promise<RowPage>;
  #onPick: (id: number) => void;
  #head: HTMLTableRowElement;
  #body: HTMLTableSectionElement;
  #range: HTMLElement;
  #previous: HTMLButtonElement;
  #next: HTMLButtonElement;
  #status: HTMLSelectElement;
  #text: HTMLInputElement;
  #columns: Column[] = [];
  #direction: "min" | "max" = "min";
  #request = 0;
  #page: RowPage = { total: 0, offset: 0, rows: [] };
  /** The newest id ever shown: a streamed row above it is new, one below it changed. */
  #newestId: number | null = null;

  constructor(load: (query: RowQuery) => Promise<RowPage>, onPick: (id: number) => void) {
    this.#load = load;
    this.#onPick = onPick;
    this.#status = h("select", { "aria-label": "status filter", onchange: () => this.#set({ status: this.#status.value as StatusFilter, offset: 0 }) },
      ...STATUS_FILTERS.map((filter) => h("option", { value: filter }, filter === "all" ? "all statuses" : filter)));
    const typed = debounce(() => this.#set({ text: this.#text.value, offset: 0 }), 200);
    this.#text = h("input", { type: "search", placeholder: "filter: description, hypothesis, proposer…", "aria-label": "text filter", oninput: typed });
    this.#previous = h("button", { type: "button", class: "small", onclick: () => this.#set({ offset: Math.max(0, this.#query.offset - this.#query.limit) }) }, "‹ newer");
    this.#next = h("button", { type: "button", class: "small", onclick: () => this.#set({ offset: this.#query.offset + this.#query.limit }) }, "older ›");
    this.#range = h("span", { class: "muted" });
    this.#head = h("tr");
    this.#body = h("tbody");
    this.element = h("section", { class: "panel" },
      h("div", { class: "panel-head" }, h("h2", {}, "Experiments"), this.#status, this.#text, h("span", { class: "grow" }), this.#previous, this.#range, this.#next),
      h("div", { class: "table-wrap" }, h("table", { class: "experiments" }, h("thead", {}, this.#head), this.#body)),
    );
    this.configure("metric", null, "min");
  }

  /** Column titles follow the session's metric names; changing session starts from the first page. */
  configure(metricName: string, heldOutName: string | null, direction: "min" | "max"): void {
    this.#direction = direction;
    this.#columns = [
      { key: "id", label: "#", cell: (row) => `#${row.id}`, className: "num" },
      { key: "status", label: "status", cell: (row) => h("span", { class: `badge ${statusLabel(row)}` }, statusLabel(row)) },
      { key: "metric", label: metricName, cell: (row) => `${formatMetric(row.metric)}${row.selfReported ? "*" : ""}`, className: "num" },
      ...(heldOutName ? [{ key: "heldOutMetric" as const, label: heldOutName, cell: (row: ExperimentRow) => formatMetric(row.heldOutMetric), className: "num" }] : []),
      { key: "delta", label: "Δ best", cell: (row) => h("span", { class: deltaClass(row.delta, this.#direction) }, formatDelta(row.delta)), className: "num" },
      { key: "description", label: "description", cell: (row) => clipped(`${row.flags.length > 0 ? `⚑ review: ${row.flags.map((flag) => flag.kind.replace(/_/g, " ")).join(", ")} · ` : ""}${row.description}`), className: "text" },
      { key: "hypothesis", label: "hypothesis", cell: (row) => clipped(row.hypothesis), className: "text" },
      { key: "proposer", label: "proposer", cell: (row) => row.proposer },
      { key: "device", label: "ran on", cell: (row) => h("span", { title: placeTitle(row) }, placeOf(row)) },
      { key: "duration", label: "duration", cell: (row) => (row.durationMs === null ? "…" : formatDuration(row.durationMs)), className: "num" },
    ];
    this.#renderHead();
  }

  reset(): void {
    this.#query = { ...DEFAULT_QUERY };
    this.#newestId = null;
    this.#status.value = "all";
    this.#text.value = "";
    this.#renderHead();
  }

  /**
   * Rows changed by the live stream, applied at once (the data source is asked again later, but
   * may be gone: `run --dashboard` stops its server when the session ends).
   */
  patch(rows: readonly ExperimentRow[]): void {
    const shown = new Map(this.#page.rows.map((row, index) => [row.id, index]));
    const fresh: ExperimentRow[] = [];
    for (const row of rows) {
      const index = shown.get(row.id);
      if (index !== undefined) this.#page.rows[index] = row;
      else if (row.id > (this.#newestId ?? 0)) fresh.push(row);
    }
    const newestFirst = this.#query.sort === "id" && this.#query.order === "desc" && this.#query.offset === 0 && this.#query.status === "all" && this.#query.text === "";
    if (newestFirst && fresh.length > 0) {
      const rowsNow = [...fresh.sort((a, b) => b.id - a.id), ...this.#page.rows].slice(0, this.#query.limit);
      this.#render({ total: this.#page.total + fresh.length, offset: 0, rows: rowsNow });
    } else {
      this.#render(this.#page);
    }
  }

  get query(): RowQuery {
    return this.#query;
  }

  async refresh(): Promise<void> {
    const request = ++this.#request;
    const page = await this.#load(this.#query);
    if (request !== this.#request) return; // a newer query was answered meanwhile
    this.#render(page);
  }

  /** Shows a page answered for the current query elsewhere (with the first view's data). */
  show(page: RowPage): void {
    this.#request += 1; // an older refresh still on its way must not overwrite it
    this.#render(page);
  }

  #render(page: RowPage): void {
    this.#page = page;
    for (const row of page.rows) this.#newestId = Math.max(this.#newestId ?? 0, row.id);
    this.element.dataset.total = String(page.total);
    const last = Math.min(page.total, page.offset + page.rows.length);
    this.#range.textContent = page.total === 0 ? "no experiments" : `${(page.offset + 1).toLocaleString("en")}–${last.toLocaleString("en")} of ${page.total.toLocaleString("en")}`;
    this.#previous.disabled = page.offset === 0;
    this.#next.disabled = last >= page.total;
    replaceChildren(this.#body, ...page.rows.map((row) => this.#renderRow(row)));
  }

  #set(patch: Partial<RowQuery>): void {
    this.#query = { ...this.#query, ...patch };
    this.#renderHead();
    void this.refresh();
  }

  #renderHead(): void {
    replaceChildren(this.#head, ...this.#columns.map((column) => {
      const active = this.#query.sort === column.key;
      const arrow = active ? (this.#query.order === "asc" ? " ▲" : " ▼") : "";
      return h("th", {
        class: `${column.className ?? ""} sortable${active ? " active" : ""}`,
        title: `sort by ${column.label}`,
        onclick: () => this.#set({ sort: column.key, order: active && this.#query.order === "desc" ? "asc" : active ? "desc" : defaultOrder(column.key), offset: 0 }),
      }, column.label + arrow);
    }));
  }

  #renderRow(row: ExperimentRow): HTMLTableRowElement {
    return h("tr", { "data-id": row.id, class: `row-${statusLabel(row)}`, onclick: () => this.#onPick(row.id) },
      ...this.#columns.map((column) => h("td", { class: column.className ?? "" }, column.cell(row))));
  }
}

/** The column's tooltip: the device asked for, the slot, and on a cluster the scheduler's job. */
function placeTitle(row: ExperimentRow): string {
  return [`${row.device}, slot ${row.slot}`, clusterJobOf(row.ranOn)].filter(Boolean).join(" · ");
}

function clipped(text: string): HTMLElement {
  return h("span", { class: "clip", title: text }, text);
}

function defaultOrder(key: SortKey): "asc" | "desc" {
  return key === "id" || key === "duration" ? "desc" : "asc";
}

/** Green when the change goes the metric's good way, red otherwise. */
export function deltaClass(delta: number | null, direction: "min" | "max"): string {
  if (delta === null || delta === 0) return "";
  return (delta < 0) === (direction === "min") ? "good" : "bad";
}
