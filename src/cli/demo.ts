import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runSession } from "../loop/session.ts";
import { initProject } from "../project/init.ts";
import { parse, positiveInteger, positiveNumber, type Command, type Io } from "./args.ts";
import { exitCodeFor, runWithViews } from "./run.ts";

export const DEMO_DEFAULTS = { budgetSeconds: 10, maxExperiments: 10 };

export const demoCommand: Command = {
  help: `usage: autoresearch demo [--dir DIR] [--budget S] [--max-experiments N] [--slots N] [--json]

Creates a ts-demo project (a byte-level language model in TypeScript, trained on the Brown corpus)
and runs a session with the offline search proposer, then prints the summary and where the files are.

  --dir DIR             where to create the project (default: a new temporary directory)
  --budget S            training seconds per experiment (default ${DEMO_DEFAULTS.budgetSeconds})
  --max-experiments N   experiments in all, the baseline runs included (default ${DEMO_DEFAULTS.maxExperiments})
  --slots N             experiments at once (default 1)
  --json                the event stream as JSON lines

example:
  autoresearch demo --budget 5 --max-experiments 6`,
  async run(argv: string[], io: Io) {
    const { values } = parse("demo", argv, {
      dir: { type: "string" },
      budget: { type: "string" },
      "max-experiments": { type: "string" },
      slots: { type: "string" },
      json: { type: "boolean" },
    });
    const budgetSeconds = positiveNumber("demo", "budget", values.budget) ?? DEMO_DEFAULTS.budgetSeconds;
    const maxExperiments = positiveInteger("demo", "max-experiments", values["max-experiments"]) ?? DEMO_DEFAULTS.maxExperiments;
    const slots = positiveInteger("demo", "slots", values.slots);
    const dir = values.dir ? resolve(io.cwd, values.dir) : join(mkdtempSync(join(tmpdir(), "autoresearch-demo-")), "study");
    const say = values.json ? io.stderr : io.stdout;
    const projectDir = await initProject(dir, "ts-demo", { configPatch: { budgetSeconds } });
    say(`demo project: ${projectDir} (ts-demo, ${budgetSeconds}s budget, ${maxExperiments} experiments)\n\n`);
    const result = await runWithViews(io, Boolean(values.json), (bus, signal) =>
      runSession({ projectDir, maxExperiments, slots, bus, signal }),
    );
    say(
      `\nthe project is a git repository: ${projectDir}\n` +
        `  best code:   git -C ${projectDir} log --oneline autoresearch/${result.tag}\n` +
        `  results:     ${join(projectDir, "results.tsv")}  (or: cd ${projectDir} && autoresearch results)\n` +
        `  continue:    cd ${projectDir} && autoresearch run --max-experiments ${maxExperiments + 10}\n`,
    );
    return exitCodeFor(result);
  },
};
