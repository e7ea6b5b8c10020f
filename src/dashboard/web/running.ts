// The experiments running now: budget progress and a live log tail for each.
import type { ExperimentRow, SessionSummaryView } from "../api.ts";
import { deviceKind } from "../../config/device-kind.ts";
import { formatDuration } from "../../views/format.ts";
import { h, replaceChildren } from "./dom.ts";

const TAIL_LINES = 12;

type Phase = "train" | "evaluate" | "measure";
const PHASE_LABELS: Record<Phase, string> = { train: "training", evaluate: "evaluating", measure: "measuring" };

interface Running {
  row: ExperimentRow;
  lines: string[];
  phase: Phase | null;
  bar: HTMLElement;
  meta: HTMLElement;
  log: HTMLPreElement;
  card: HTMLElement;
}

export class RunningPanel {
  readonly element: HTMLElement;
  #list: HTMLElement;
  #items = new Map<number, Running>();
  #budgets: Pick<SessionSummaryView, "budgetSeconds" | "budgetByDevice"> = { budgetSeconds: null, budgetByDevice: {} };
  #live: boolean;
  #onPick: (id: number) => void;

  constructor(live: boolean, onPick: (id: number) => void) {
    this.#live = live;
    this.#onPick = onPick;
    this.#list = h("div", { class: "running-list" });
    this.element = h("section", { class: "panel running" }, h("div", { class: "panel-head" }, h("h2", {}, "Running now")), this.#list);
    if (live) window.setInterval(() => this.#tick(), 500);
  }

  /** The running experiments of a freshly loaded session. */
  reset(rows: readonly ExperimentRow[], budgets: Pick<SessionSummaryView, "budgetSeconds" | "budgetByDevice">): void {
    this.#budgets = budgets;
    this.#items.clear();
    this.update(rows);
  }

  /** Changed rows from the stream: new running ones appear, finished ones go. Returns the new ones' ids. */
  update(rows: readonly ExperimentRow[]): number[] {
    const added: number[] = [];
    for (const row of rows) {
      const item = this.#items.get(row.id);
      if (row.status !== "running") {
        this.#items.delete(row.id);
      } else if (item) {
        item.row = row;
      } else {
        this.#items.set(row.id, this.#create(row));
        added.push(row.id);
      }
    }
    this.#render();
    return added;
  }

  /** The log tail loaded with the experiment's detail; live lines that arrived meanwhile stay after it. */
  seed(id: number, tail: string): void {
    const item = this.#items.get(id);
    if (!item || tail === "") return;
    const live = item.lines;
    const earlier = tail.split("\n");
    let overlap = Math.min(earlier.length, live.length);
    while (overlap > 0 && earlier.slice(-overlap).join("\n") !== live.slice(0, overlap).join("\n")) overlap -= 1;
    item.lines = [];
    this.log(id, [...earlier, ...live.slice(overlap)]);
  }

  log(id: number, lines: readonly string[]): void {
    const item = this.#items.get(id);
    if (!item) return;
    for (const line of lines) {
      const phase = /^--- (train|evaluate|measure): /.exec(line);
      if (phase) item.phase = phase[1] as Phase;
    }
    item.lines.push(...lines);
    if (item.lines.length > TAIL_LINES * 4) item.lines.splice(0, item.lines.length - TAIL_LINES);
    item.log.textContent = item.lines.slice(-TAIL_LINES).join("\n");
    this.#refreshMeta(item);
  }

  phase(id: number, phase: Phase): void {
    const item = this.#items.get(id);
    if (!item) return;
    item.phase = phase;
    this.#refreshMeta(item);
  }

  get ids(): number[] {
    return [...this.#items.keys()];
  }

  #create(row: ExperimentRow): Running {
    const bar = h("div", { class: "bar-fill" });
    const meta = h("div", { class: "muted" });
    const log = h("pre", { class: "log small" });
    const card = h("div", { class: "run-card", "data-id": row.id },
      h("div", { class: "run-title", onclick: () => this.#onPick(row.id) }, `#${row.id} ${row.description}`),
      meta, h("div", { class: "bar" }, bar), log);
    const item: Running = { row, lines: [], phase: null, bar, meta, log, card };
    this.#refreshMeta(item);
    return item;
  }

  #render(): void {
    const items = [...this.#items.values()].sort((a, b) => a.row.id - b.row.id);
    this.element.dataset.count = String(items.length);
    replaceChildren(this.#list, ...(items.length > 0 ? items.map((item) => item.card) : [h("p", { class: "muted" }, this.#live ? "nothing running" : "nothing was running when this report was made")]));
  }

  #tick(): void {
    for (const item of this.#items.values()) this.#refreshMeta(item);
  }

  #refreshMeta(item: Running): void {
    const elapsedMs = Math.max(0, Date.now() - Date.parse(item.row.startedAt));
    const budgetMs = (this.#budgets.budgetByDevice[deviceKind(item.row.device)] ?? this.#budgets.budgetSeconds ?? 0) * 1000;
    const fraction = budgetMs > 0 ? Math.min(1, elapsedMs / budgetMs) : 0;
    item.bar.style.width = `${(fraction * 100).toFixed(1)}%`;
    item.bar.classList.toggle("over", budgetMs > 0 && elapsedMs > budgetMs);
    const budget = budgetMs > 0 ? ` of ${formatDuration(budgetMs)} budget` : "";
    const phase = item.phase ? PHASE_LABELS[item.phase] : "setting up";
    item.meta.textContent = `${item.row.device} · ${phase} · ${this.#live ? formatDuration(elapsedMs) + budget : "running"}`;
  }
}
