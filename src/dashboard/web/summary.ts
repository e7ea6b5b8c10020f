// The session at a glance: experiments, keep rate, throughput, best vs baseline, noise, LLM cost.
import type { SessionSummaryView } from "../api.ts";
import { formatDelta, formatDuration, formatMetric } from "../../views/format.ts";
import { h, replaceChildren } from "./dom.ts";
import { deltaClass } from "./table.ts";

export class SummaryCards {
  readonly element = h("section", { class: "cards", "aria-label": "session summary" });

  render(summary: SessionSummaryView): void {
    const card = (label: string, value: string, detail: string, className = "") =>
      h("div", { class: "card", "data-label": label }, h("div", { class: "card-label" }, label), h("div", { class: `card-value ${className}` }, value), h("div", { class: "card-detail" }, detail));
    const keepRate = summary.keepRate === null ? "—" : `${(summary.keepRate * 100).toFixed(1)}%`;
    const perHour = summary.perHour === null ? "—" : `${summary.perHour.toFixed(1)}/h`;
    const perSlot = summary.perSlotPerHour === null ? "" : `${summary.perSlotPerHour.toFixed(1)}/h per slot · `;
    replaceChildren(this.element,
      card("experiments", String(summary.experiments), `${summary.running} running · ${summary.failed} failed · over ${formatDuration(summary.elapsedMs)}`),
      card("keep rate", keepRate, `${summary.kept} kept · ${summary.discarded} discarded`),
      card("throughput", perHour, `${perSlot}${summary.slots} slot${summary.slots === 1 ? "" : "s"}`),
      card(`best ${summary.metricName}`, formatMetric(summary.best), `baseline ${formatMetric(summary.baseline)}${summary.improvement !== null ? ` · ${formatDelta(summary.improvement)}` : ""}${summary.bestExperimentId !== null ? ` · #${summary.bestExperimentId}` : ""}`, deltaClass(summary.improvement, summary.direction)),
      card("noise σ", formatMetric(summary.noiseSigma), summary.noiseSigma === null ? "no repeated runs yet" : `from ${summary.noiseSamples} runs of the same code`),
      ...(summary.finalized ? [survived(summary.finalized.line, summary.finalized.text)] : []),
      card("LLM cost", summary.costUsd === null ? (summary.tokens > 0 ? "—" : "$0") : `$${summary.costUsd.toFixed(2)}`, `${summary.tokens.toLocaleString("en")} tokens`),
    );
  }
}

/** What the latest finalize found: the line, and the whole report on demand. */
function survived(line: string, text: string): HTMLElement {
  return h("div", { class: "card survived", "data-label": "what survived" },
    h("div", { class: "card-label" }, "what survived (finalize)"),
    h("div", { class: "card-detail" }, line),
    h("details", {}, h("summary", {}, "the report"), h("pre", {}, text)),
  );
}
