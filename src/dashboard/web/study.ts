// A shared study (README "Research together"): its best per device class, every worker with which best it
// builds on, and every worker's newest experiments. Hidden for a project whose ledger is not shared.
import type { StudyView } from "../api.ts";
import type { StudyOverview } from "../../share/overview.ts";
import { buildingOnText, seenText } from "../../views/study.ts";
import { formatDelta, formatMetric } from "../../views/format.ts";
import { h, replaceChildren } from "./dom.ts";

/** Newest experiments of the whole study shown in the panel (the table above is this worker's own session). */
const SHOWN_EXPERIMENTS = 50;
const REFRESH_MS = 2000;

export class StudyPanel {
  readonly element = h("section", { class: "panel study", "aria-label": "study", hidden: true });
  #load: () => Promise<StudyView | null>;

  constructor(load: () => Promise<StudyView | null>, live: boolean) {
    this.#load = load;
    if (live) window.setInterval(() => void this.refresh(), REFRESH_MS);
  }

  async refresh(): Promise<void> {
    const study = await this.#load().catch(() => null);
    if (study === null) return;
    this.element.hidden = false;
    if (!("workers" in study)) {
      replaceChildren(this.element, head(`Study ${study.name}`), h("p", { class: "notice" }, `the study's database (${study.database}) cannot be read: ${study.problem}`));
      return;
    }
    replaceChildren(this.element,
      head(`Study ${study.name}`, `${study.totalExperiments} experiments by ${study.workers.length} worker${study.workers.length === 1 ? "" : "s"} · ${study.database}`),
      h("ul", { class: "study-bests" }, ...(study.bests.length === 0
        ? [h("li", {}, "no best yet: the first complete baseline sets it")]
        : study.bests.map((best) => h("li", { "data-class": best.deviceClass },
          `best ${best.deviceClass}: ${formatMetric(best.metric)} by ${best.worker}${best.localId === null ? " (baseline)" : ` #${best.localId}`} · version ${best.version} · ${best.commit.slice(0, 7)}`)))),
      workersTable(study),
      experimentsTable(study),
    );
  }
}

function head(title: string, detail = ""): HTMLElement {
  return h("div", { class: "panel-head" }, h("h2", {}, title), h("span", { class: "muted" }, detail));
}

function workersTable(study: StudyOverview): HTMLElement {
  const now = Date.now();
  return h("div", { class: "table-wrap" }, h("table", { class: "study-workers" },
    h("thead", {}, h("tr", {}, ...["worker", "host", "class", "building on", "experiments", "kept", "failed", "running", "last seen"].map((label) => h("th", {}, label)))),
    h("tbody", {}, ...study.workers.map((worker) => h("tr", { "data-worker": worker.id, class: worker.onCurrentBest ? "current" : "" },
      h("td", {}, worker.id), h("td", {}, worker.host), h("td", {}, worker.deviceClass), h("td", { class: "building-on" }, buildingOnText(worker)),
      h("td", { class: "num" }, worker.experiments), h("td", { class: "num" }, worker.kept), h("td", { class: "num" }, worker.failed), h("td", { class: "num" }, worker.running),
      h("td", {}, seenText(worker, now)),
    ))),
  ));
}

function experimentsTable(study: StudyOverview): HTMLElement {
  const rows = study.experiments.slice(-SHOWN_EXPERIMENTS).reverse();
  return h("details", { class: "study-experiments" },
    h("summary", {}, `every worker's experiments (the newest ${rows.length} of ${study.totalExperiments})`),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, ...["worker", "id", "class", "status", study.metric, "Δ best", "description"].map((label) => h("th", {}, label)))),
      h("tbody", {}, ...rows.map((row) => h("tr", { "data-worker": row.worker },
        h("td", {}, row.worker), h("td", { class: "num" }, row.localId), h("td", {}, row.deviceClass), h("td", {}, row.fenced ? "fenced" : (row.decision ?? row.status)),
        h("td", { class: "num" }, formatMetric(row.metric)), h("td", { class: "num" }, formatDelta(row.metric !== null && row.bestBefore !== null ? row.metric - row.bestBefore : null)),
        h("td", {}, `${row.kind === "candidate" ? "" : `[${row.kind}] `}${row.description}`),
      ))),
    )),
  );
}
