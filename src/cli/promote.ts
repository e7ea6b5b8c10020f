import { EXIT, UsageError } from "../errors.ts";
import { promoteText } from "../finalize/promote.ts";
import { runPromote } from "../loop/promote.ts";
import { safeJson, safeText } from "../text/safe-text.ts";
import { parse, positiveInteger, positiveNumber, type Command, type Io } from "./args.ts";
import { openLedgerReadOnly, pickSession } from "./project.ts";
import { runWithViews } from "./run.ts";

export const PROMOTE_HELP = `usage: autoresearch promote [flags]

Do the session's gains hold at a longer budget? Re-runs the top k kept candidates (best first, by the
mean of their session runs) and the baseline at the longer train budget, N runs each, interleaved, and
prints each candidate's gain over the baseline with its 95% interval at the session's budget and at the
longer one: "holds" (the interval excludes 0), "not shown" (it covers 0) or "reverses".
Every run is an experiment (kind rescore, meta.promote) in the ledger, sandboxed and checked like any other;
status shows the result. Defaults come from the config's "promote" section.

  --budget S       the longer train budget in seconds (default: promote.budgetSeconds)
  --k K            how many kept candidates (default: promote.k, else 3)
  --runs N         runs of each code (default: promote.runs, else 3; at least 2)
  --tag T          the session (default: the latest)
  --slots N        runs at once; each slot runs whole rounds
  --json           print the result as JSON (progress goes to stderr)
  --unsandboxed    as for run: only where bubblewrap cannot run, for sessions whose proposer writes code
  --project DIR    the project directory (default: the current directory)

examples:
  autoresearch promote --budget 600
  autoresearch promote --tag mar5 --budget 1800 --k 2 --runs 4`;

export const promoteCommand: Command = {
  help: PROMOTE_HELP,
  async run(argv: string[], io: Io) {
    const { values } = parse("promote", argv, {
      budget: { type: "string" },
      k: { type: "string" },
      runs: { type: "string" },
      tag: { type: "string" },
      slots: { type: "string" },
      json: { type: "boolean" },
      unsandboxed: { type: "boolean" },
      project: { type: "string" },
    });
    const runs = positiveInteger("promote", "runs", values.runs);
    if (runs !== undefined && runs < 2) throw new UsageError("promote: --runs must be at least 2 (an interval needs two runs of each code)", "e.g. --runs 3");
    const { ledger, paths } = openLedgerReadOnly(values.project ?? io.cwd);
    let tag: string;
    try {
      tag = pickSession(ledger, values.tag).tag;
    } finally {
      ledger.close();
    }
    const viewIo: Io = values.json ? { ...io, stdout: io.stderr, isTTY: false } : io;
    const result = await runWithViews(viewIo, false, (bus, signal) => runPromote({
      projectDir: paths.projectDir,
      tag,
      budgetSeconds: positiveNumber("promote", "budget", values.budget),
      k: positiveInteger("promote", "k", values.k),
      runs,
      slots: positiveInteger("promote", "slots", values.slots),
      unsandboxed: Boolean(values.unsandboxed),
      bus,
      signal,
    }));
    if (values.json) io.stdout(`${safeJson(result, 2)}\n`);
    else if (result.report) io.stdout(`\n${safeText(promoteText(result.report))}\n`);
    if (result.interrupted) {
      io.stderr("promote was interrupted: the numbers above rest on the runs that finished. Run it again for a complete measurement.\n");
      return EXIT.interrupted;
    }
    return EXIT.ok;
  },
};
