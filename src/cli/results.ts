import { formatResultsTsv } from "../ledger/results-tsv.ts";
import { safeJson, safeLine } from "../text/safe-text.ts";
import { formatDelta, formatDuration, formatMetric, truncate } from "../views/format.ts";
import { isolationLines } from "../views/lines.ts";
import { formatRanOn, ranOnColumnNeeded } from "../views/ran-on.ts";
import { studyResultsLines } from "../views/study.ts";
import { isOverview, studyOverviewIfShared } from "../share/lazy.ts";
import { UsageError } from "../errors.ts";
import { parse, type Command, type Io } from "./args.ts";
import { openLedgerReadOnly, pickSession } from "./project.ts";

export const resultsCommand: Command = {
  help: `usage: autoresearch results [--tag T] [--json | --tsv] [--mine] [--project DIR]

  --tag T         the session (default: the latest)
  --json          every field of every experiment, as JSON
  --tsv           the results.tsv format (first five columns as the original autoresearch; this worker's own)
  --mine          in a shared study: only this worker's own session, not the whole study
  --project DIR   the project directory (default: the current directory)

A table of every experiment of the session, oldest first: id, status or decision, the metric, the
delta against the best at the time, the held-out metric (when the config names one), time, where it ran
(when the experiments ran on more than one machine or on a cluster: the node and its GPU's model),
description.
In a shared study (README "Research together") the table holds every worker's experiments, each with
its worker, its id in that worker's ledger and its device class; when the study's database cannot be
read, this worker's own session is shown and a line on stderr says why.

examples:
  autoresearch results
  autoresearch results --tsv > results.tsv`,
  async run(argv: string[], io: Io) {
    const { values } = parse("results", argv, { tag: { type: "string" }, json: { type: "boolean" }, tsv: { type: "boolean" }, mine: { type: "boolean" }, project: { type: "string" } });
    if (values.json && values.tsv) throw new UsageError("results: choose one of --json and --tsv");
    const { ledger } = openLedgerReadOnly(values.project ?? io.cwd);
    try {
      const session = pickSession(ledger, values.tag);
      const rows = ledger.listExperiments({ tag: session.tag, order: "asc" });
      const config = session.config as { metric?: { name?: string; heldOut?: string } };
      const metricName = config.metric?.name ?? "metric";
      // Width 0 is unknown (a pipe, or a terminal that reports none): lines are not cut.
      const width = io.columns > 0 ? Math.max(60, io.columns) : Number.POSITIVE_INFINITY;
      const study = values.mine || values.tsv ? null : await studyOverviewIfShared((session.config as { ledger?: unknown }).ledger);
      if (study !== null && !isOverview(study)) io.stderr(`study ${study.name} (${study.database}) cannot be read (${study.problem}): this worker's own session follows\n`);
      if (isOverview(study)) {
        io.stdout(values.json ? `${safeJson(study.experiments, 2)}\n` : `${studyResultsLines(study, width).map(safeLine).join("\n")}\n`);
      } else if (values.json) {
        io.stdout(`${safeJson(rows, 2)}\n`);
      } else if (values.tsv) {
        io.stdout(formatResultsTsv(rows.filter((row) => row.status !== "running"), { metricName, heldOutName: config.metric?.heldOut }));
      } else {
        const heldOut = config.metric?.heldOut;
        // The held-out column is there only when the config names a held-out metric.
        const heldOutCell = (text: string) => (heldOut ? ` ${text.padStart(10)}` : "");
        // Where each ran, when they ran on more than one machine or on a cluster (views/ran-on.ts).
        const places = ranOnColumnNeeded(rows) ? rows.map((row) => safeLine(formatRanOn(row))) : null;
        const placeWidth = places ? Math.min(32, Math.max(6, ...places.map((place) => place.length))) : 0;
        const placeCell = (text: string) => (places ? `${truncate(text, placeWidth).padEnd(placeWidth)}  ` : "");
        io.stdout(`${"id".padStart(5)}  ${"status".padEnd(11)} ${safeLine(metricName).padStart(10)} ${"delta".padStart(10)}${heldOutCell(safeLine(heldOut ?? ""))} ${"time".padStart(7)}  ${placeCell("ran on")}description\n`);
        for (const [index, row] of rows.entries()) {
          const status = row.decision ?? row.status;
          const mark = row.selfReported ? "*" : " ";
          const review = row.flags.length > 0 ? "⚑ " : "";
          const line = `${String(row.id).padStart(5)}  ${status.padEnd(11)} ${formatMetric(row.metric).padStart(10)}${mark}${formatDelta(row.delta).padStart(10)}${heldOutCell(formatMetric(row.heldOutMetric))} ${formatDuration(row.timings.totalMs ?? 0).padStart(7)}  ${placeCell(places?.[index] ?? "")}${review}${row.kind === "candidate" ? "" : `[${row.kind}] `}${row.description}`;
          io.stdout(`${truncate(safeLine(line), width)}\n`);
        }
        if (rows.some((row) => row.selfReported)) io.stdout("* self-reported: read from the training output, not from a protected evaluator\n");
        if (rows.some((row) => row.flags.length > 0)) io.stdout("⚑ flagged for review (implausible score, slow evaluation, or a self-report that disagrees): see autoresearch show <id>\n");
        for (const line of isolationLines(session.isolation === "sandbox" ? null : session.isolation, false)) io.stdout(`${line.trim()}\n`);
      }
      return 0;
    } finally {
      ledger.close();
    }
  },
};
