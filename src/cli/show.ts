import { existsSync } from "node:fs";
import { EXIT, UsageError, UserError } from "../errors.ts";
import { experimentOutputDir } from "../project/paths.ts";
import { readLogTail } from "../text/log-tail.ts";
import { safeJson, safeLine, safeText } from "../text/safe-text.ts";
import { formatDelta, formatDuration, formatMetric } from "../views/format.ts";
import { clusterJobOf, formatRanOn } from "../views/ran-on.ts";
import { parse, positionalId, type Command, type Io } from "./args.ts";
import { openLedgerReadOnly } from "./project.ts";

export const showCommand: Command = {
  help: `usage: autoresearch show <id> [--json] [--project DIR]

Shows one experiment of the project: what it tried (description, hypothesis, the diff against its
parent), its metrics and the held-out metric, the decision and its rationale, review flags, where it
ran (the machine or cluster node, its device's model, the Slurm job or pod), timings, where its log and
outputs are, and the last 30 lines of its log. The ids are in \`autoresearch results\`.

  --json          every field, with the log tail and the output directory, as JSON
  --project DIR   the project directory (default: the current directory)

example:
  autoresearch show 12`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse("show", argv, { json: { type: "boolean" }, project: { type: "string" } }, 1);
    const where = "Usage: autoresearch show <id> (the ids are in `autoresearch results`)";
    if (positionals[0] === undefined) throw new UsageError("missing <id>, the experiment to show", where);
    const id = positionalId("id", positionals[0], where);
    const { ledger, paths } = openLedgerReadOnly(values.project ?? io.cwd);
    try {
      const row = ledger.getExperiment(id);
      if (!row) throw new UserError(`no experiment ${id}`, { exitCode: EXIT.usage, hint: "See `autoresearch results` for the ids." });
      const logTail = row.logPath && existsSync(row.logPath) ? readLogTail(row.logPath, { maxLines: 30 }) : "";
      const outputDir = experimentOutputDir(paths, row.id);
      const outputs = existsSync(outputDir) ? outputDir : null;
      if (values.json) {
        io.stdout(`${safeJson({ ...row, outputDir: outputs, logTail }, 2)}\n`);
        return 0;
      }
      const metrics = Object.entries(row.secondary).map(([name, value]) => `${safeLine(name)}=${formatMetric(value)}`).join("  ");
      const isolation = ledger.getSession(row.tag)?.isolation;
      const lines = [
        `experiment ${row.id} (${row.kind}) in session ${row.tag}${isolation && isolation !== "sandbox" ? ` (${isolation})` : ""}, proposer ${row.proposer}, ${row.device} slot ${row.slot}`,
        ...row.flags.map((flag) => `⚑ review:    ${flag.kind.replace(/_/g, " ")}: ${safeLine(flag.detail)}`),
        `status:      ${row.status}${row.decision ? ` → ${row.decision}` : ""}${row.reason ? ` — ${safeLine(row.reason)}` : ""}`,
        `description: ${safeLine(row.description)}`,
        ...(row.hypothesis ? [`hypothesis:  ${safeLine(row.hypothesis)}`] : []),
        `metric:      ${formatMetric(row.metric)}${row.selfReported ? " (self-reported)" : ""}  best before ${formatMetric(row.bestBefore)}  delta ${formatDelta(row.delta)}  held-out ${formatMetric(row.heldOutMetric)}`,
        ...(metrics ? [`secondary:   ${metrics}`] : []),
        ...(row.rationale ? [`decision:    ${safeLine(row.rationale)}`] : []),
        `commits:     parent ${row.parentCommit.slice(0, 10)}  candidate ${row.candidateCommit?.slice(0, 10) ?? "-"}`,
        ...(row.ranOn ? [`ran on:      ${safeLine(formatRanOn(row))}${row.ranOn.deviceName && row.device === "cpu" ? ` (${safeLine(row.ranOn.deviceName)})` : ""}${clusterJobOf(row.ranOn) ? `, ${safeLine(clusterJobOf(row.ranOn)!)}` : ""}`] : []),
        `timings:     ${Object.entries(row.timings).map(([phase, ms]) => `${phase.replace(/Ms$/, "")} ${formatDuration(ms ?? 0)}`).join(", ")}`,
        `log:         ${row.logPath || "-"}`,
        `outputs:     ${outputs ?? "- (removed by the outputs policy once decided; see README \"Config reference\")"}`,
        "",
        row.diff ? `--- diff\n${row.diff.trimEnd()}` : "--- no diff (the code as it was)",
        "",
        logTail ? `--- log tail\n${logTail.trimEnd()}` : "--- no log",
      ];
      // Description, diff, reasons, metric names and the log were written by proposers and workloads.
      io.stdout(`${safeText(lines.join("\n"))}\n`);
      return 0;
    } finally {
      ledger.close();
    }
  },
};
