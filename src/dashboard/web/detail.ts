// One experiment in full: what was tried and why, the decision and its rationale, every metric,
// the diff (diff-view.ts) and the log tail (live while it runs).
import type { ExperimentDetail, SessionSummaryView } from "../api.ts";
import { statusLabel } from "../query.ts";
import { formatDelta, formatDuration, formatMetric } from "../../views/format.ts";
import { clusterJobOf, formatRanOn } from "../../views/ran-on.ts";
import { h, replaceChildren } from "./dom.ts";
import { deltaClass } from "./table.ts";

const LOG_LINES = 200;

/** "ran on node7 · NVIDIA H100 80GB HBM3 (Slurm job 4242) · "; nothing while it runs or when it is not known. */
function ranOnText(detail: ExperimentDetail): string {
  if (!detail.ranOn) return "";
  const job = clusterJobOf(detail.ranOn);
  return `ran on ${formatRanOn(detail)}${job ? ` (${job})` : ""} · `;
}

export class DetailPanel {
  readonly element: HTMLElement;
  #body: HTMLElement;
  #load: (id: number) => Promise<ExperimentDetail | null>;
  #id: number | null = null;
  #log: HTMLPreElement | null = null;
  #lines: string[] = [];

  constructor(load: (id: number) => Promise<ExperimentDetail | null>) {
    this.#load = load;
    this.#body = h("div", { class: "detail-body" });
    this.element = h("aside", { class: "detail", hidden: true, "aria-label": "experiment detail" },
      h("button", { type: "button", class: "close", title: "close (Esc)", onclick: () => this.close() }, "×"),
      this.#body,
    );
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.close();
    });
  }

  get openId(): number | null {
    return this.#id;
  }

  async show(id: number, summary: SessionSummaryView | null): Promise<void> {
    this.#id = id;
    this.element.hidden = false;
    this.element.dataset.id = String(id);
    replaceChildren(this.#body, h("p", { class: "muted" }, `loading #${id}…`));
    const detail = await this.#load(id);
    if (this.#id !== id) return; // another one was opened meanwhile
    if (detail === null) {
      replaceChildren(this.#body, h("p", {}, `experiment #${id} is not in this ${summary ? "session" : "view"}`));
      return;
    }
    this.#render(detail, summary);
  }

  /** Live log lines of the open experiment. */
  appendLog(id: number, lines: readonly string[]): void {
    if (id !== this.#id || this.#log === null) return;
    this.#lines.push(...lines);
    if (this.#lines.length > LOG_LINES) this.#lines.splice(0, this.#lines.length - LOG_LINES);
    this.#log.textContent = this.#lines.join("\n");
    this.#log.scrollTop = this.#log.scrollHeight;
  }

  close(): void {
    this.#id = null;
    this.#log = null;
    this.element.hidden = true;
  }

  #render(detail: ExperimentDetail, summary: SessionSummaryView | null): void {
    const metricName = summary?.metricName ?? "metric";
    const direction = summary?.direction ?? "min";
    const label = statusLabel(detail);
    const metrics: [string, string, string?][] = [
      [metricName, `${formatMetric(detail.metric)}${detail.selfReported ? " (self-reported by the training run)" : ""}`],
      ...(detail.heldOutMetric !== null ? [[summary?.heldOutName ?? "held-out", formatMetric(detail.heldOutMetric)] as [string, string]] : []),
      ["best before", formatMetric(detail.bestBefore)],
      ["Δ best", formatDelta(detail.delta) || "—", deltaClass(detail.delta, direction)],
      ...Object.entries(detail.secondary).map(([name, value]) => [name, Number.isInteger(value) ? value.toLocaleString("en") : formatMetric(value)] as [string, string]),
      ...(detail.memoryGb !== null ? [["memory", `${detail.memoryGb.toFixed(2)} GB`] as [string, string]] : []),
      ...Object.entries(detail.timings).filter(([, ms]) => ms !== undefined).map(([phase, ms]) => [`${phase.replace(/Ms$/, "")} time`, formatDuration(ms!)] as [string, string]),
      ...(detail.usage ? [["LLM", `${detail.usage.inputTokens + detail.usage.outputTokens} tokens${detail.usage.costUsd === null ? "" : `, $${detail.usage.costUsd.toFixed(4)}`}`] as [string, string]] : []),
    ];
    this.#lines = detail.logTail === "" ? [] : detail.logTail.split("\n");
    this.#log = h("pre", { class: "log" }, this.#lines.join("\n") || "(no output)");
    const diff = h("div", { class: "diff" });
    replaceChildren(this.#body,
      h("h2", {}, `#${detail.id} `, h("span", { class: `badge ${label}` }, label), " ", detail.description),
      h("p", { class: "muted" },
        `${detail.kind}${detail.confirms !== null ? ` of #${detail.confirms}` : ""} · proposer ${detail.proposer} · ${detail.device} (slot ${detail.slot}) · ${ranOnText(detail)}started ${new Date(detail.startedAt).toLocaleString()}`,
        detail.durationMs !== null ? ` · ${formatDuration(detail.durationMs)}` : " · running",
      ),
      detail.hypothesis ? h("p", { class: "hypothesis" }, h("b", {}, "Hypothesis: "), detail.hypothesis) : null,
      detail.reason ? h("p", { class: "reason" }, h("b", {}, "Why it failed: "), detail.reason) : null,
      detail.rationale ? h("p", { class: "rationale" }, h("b", {}, `Decision${detail.decision ? ` (${detail.decision})` : ""}: `), detail.rationale) : null,
      h("table", { class: "metrics" }, h("tbody", {}, ...metrics.map(([name, value, className]) => h("tr", {}, h("th", {}, name), h("td", { class: className ?? "" }, value))))),
      h("p", { class: "muted commits" }, `parent ${detail.parentCommit.slice(0, 10)} → candidate ${detail.candidateCommit?.slice(0, 10) ?? "—"}`),
      h("h3", {}, "Diff"),
      diff,
      h("h3", {}, detail.status === "running" ? "Log (live)" : "Log tail"),
      this.#log,
    );
    if (detail.diff.trim() === "") {
      diff.append(h("p", { class: "muted" }, detail.kind === "candidate" ? "no diff recorded" : "no diff: this run used the code as it was"));
    } else {
      // diff2html and highlight.js are initialised on the first diff shown, not on page load.
      void import("./diff-view.ts").then(({ renderDiff }) => renderDiff(diff, detail.diff));
    }
    this.#log.scrollTop = this.#log.scrollHeight;
  }
}
