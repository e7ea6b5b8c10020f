import { join, resolve } from "node:path";
import { writeReport } from "../dashboard/report.ts";
import { projectPaths } from "../project/paths.ts";
import { isOverview } from "../share/lazy.ts";
import { projectStudy, studyOverviewFor } from "../share/overview.ts";
import { parse, type Command, type Io } from "./args.ts";
import { openLedgerReadOnly } from "./project.ts";

export const reportCommand: Command = {
  help: `usage: autoresearch report [--out DIR] [--tag T] [--project DIR]

Writes index.html (the dashboard with the data inlined: it opens from disk, no server, no network),
progress.svg and progress.png (the progress chart, for a README or a post; the PNG needs Chromium
and is skipped with a message without it). A shared study's report also holds the whole study as read
from its database: the workers, which best each builds on, and every worker's experiments.

  --out DIR       where to write them (default: .autoresearch/report in the project)
  --tag T         only this session (default: every session; the chart shows the latest)
  --project DIR   the project directory (default: the current directory)

example:
  autoresearch report --out site/`,
  async run(argv: string[], io: Io) {
    const { values } = parse("report", argv, { out: { type: "string" }, tag: { type: "string" }, project: { type: "string" } });
    // Opening read-only first gives the usual clear error for a project with no sessions.
    const { ledger, paths: found } = openLedgerReadOnly(values.project ?? io.cwd);
    ledger.close();
    const paths = projectPaths(found.projectDir);
    const outDir = values.out ? resolve(io.cwd, values.out) : join(paths.stateDir, "report");
    // A shared study's report holds the whole study too (every worker's experiments), as read now.
    const study = await studyOverviewFor(projectStudy(paths.projectDir));
    if (study !== null && !isOverview(study)) io.stderr(`study ${study.name} (${study.database}) cannot be read (${study.problem}): the report shows this worker's own sessions\n`);
    const result = await writeReport({ stateDir: paths.stateDir, outDir, tag: values.tag, study });
    io.stdout(
      `report of ${result.experiments} experiment${result.experiments === 1 ? "" : "s"} (chart: session ${result.chartTag}):\n` +
        `  ${result.html}   open it in a browser; it works offline, from disk\n` +
        `  ${result.svg}\n` +
        (result.png ? `  ${result.png}\n` : ""),
    );
    if (result.skipped) io.stderr(`progress.png skipped: ${result.skipped}\n`);
    return 0;
  },
};
