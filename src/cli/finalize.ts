import { EXIT, UsageError } from "../errors.ts";
import { reportMarkdown, reportText } from "../finalize/render.ts";
import { DEFAULT_FINALIZE_RUNS, runFinalize } from "../loop/finalize.ts";
import { safeJson, safeText } from "../text/safe-text.ts";
import { parse, positiveInteger, type Command, type Io } from "./args.ts";
import { findProjectDir } from "./project.ts";
import { runWithViews } from "./run.ts";

export const FINALIZE_HELP = `usage: autoresearch finalize [flags]

What survived a session, measured afresh once its loop has stopped:
  re-score  the baseline's code and the final best, N runs each, interleaved (so drift hits both alike):
            the gain on the metric and the held-out metric with 95% intervals, against the session's claim
  ablation  the best without each kept change (the others re-applied in order, or it reverted), N runs each:
            each change's contribution with its interval; "no measurable contribution" when it covers 0
  branch    autoresearch/<tag>-final: one commit per kept change that mattered, each message with its
            contribution and the experiments behind it; noise keeps are left out
Every run is an experiment (kind rescore or ablation) in the ledger, sandboxed and checked like any other;
status, show, the dashboard and the report show the result.

  --tag T          the session (default: the latest)
  --runs N         fresh runs of each code (default ${DEFAULT_FINALIZE_RUNS}; at least 2)
  --slots N        runs at once (one GPU each when GPUs are used); each slot runs whole rounds
  --no-ablation    re-score only
  --markdown       print the result as a Markdown block (for a README or a pull request)
  --json           print the result as JSON (progress goes to stderr)
  --unsandboxed    as for run: only where bubblewrap cannot run, for sessions whose proposer writes code
  --project DIR    the project directory (default: the current directory)

examples:
  autoresearch finalize
  autoresearch finalize --tag mar5 --runs 8 --slots 2 --markdown`;

export const finalizeCommand: Command = {
  help: FINALIZE_HELP,
  async run(argv: string[], io: Io) {
    const { values } = parse("finalize", argv, {
      tag: { type: "string" },
      runs: { type: "string" },
      slots: { type: "string" },
      "no-ablation": { type: "boolean" },
      markdown: { type: "boolean" },
      json: { type: "boolean" },
      unsandboxed: { type: "boolean" },
      project: { type: "string" },
    });
    if (values.json && values.markdown) throw new UsageError("finalize: --json and --markdown are two ways to print the result; pick one", "The JSON holds the Markdown too, under \"markdown\".");
    const runs = positiveInteger("finalize", "runs", values.runs) ?? DEFAULT_FINALIZE_RUNS;
    if (runs < 2) throw new UsageError("finalize: --runs must be at least 2 (an interval needs two runs of each code)", "e.g. --runs 5");
    // With --json, stdout holds the result alone; the live view goes to stderr.
    const viewIo: Io = values.json ? { ...io, stdout: io.stderr, isTTY: false } : io;
    const result = await runWithViews(viewIo, false, (bus, signal) => runFinalize({
      projectDir: findProjectDir(values.project ?? io.cwd),
      tag: values.tag,
      runs,
      ablation: !values["no-ablation"],
      slots: positiveInteger("finalize", "slots", values.slots),
      unsandboxed: Boolean(values.unsandboxed),
      bus,
      signal,
    }));
    const markdown = reportMarkdown(result.report, result.branch);
    if (values.json) io.stdout(`${safeJson({ ...result, markdown }, 2)}\n`);
    else if (values.markdown) io.stdout(`${safeText(markdown)}\n`);
    else io.stdout(`\n${safeText(reportText(result.report, result.branch))}\n`);
    if (result.interrupted) {
      io.stderr("finalize was interrupted: the numbers above rest on the runs that finished, and no branch was written. Run it again for a complete measurement.\n");
      return EXIT.interrupted;
    }
    return EXIT.ok;
  },
};
