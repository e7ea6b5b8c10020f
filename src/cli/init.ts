import { resolve } from "node:path";
import { parse, positiveNumber, type Command, type Io } from "./args.ts";
import { UsageError } from "../errors.ts";
import { initProject, listTemplates } from "../project/init.ts";
import { initHere, missingAnswers, repositoryProblem, SETUP_BRANCH, type InitAnswers } from "../project/init-here.ts";

const flags = {
  template: { type: "string", short: "t" },
  here: { type: "boolean" },
  measure: { type: "string" },
  train: { type: "string" },
  evaluate: { type: "string" },
  metric: { type: "string" },
  direction: { type: "string" },
  mutable: { type: "string", multiple: true },
  protected: { type: "string", multiple: true },
  budget: { type: "string" },
  branch: { type: "string" },
} as const;

export const initCommand: Command = {
  help: `usage: autoresearch init <dir> [--template NAME]
       autoresearch init --here (or: init .) --measure CMD --metric NAME --direction min|max --mutable GLOBS [flags]

Creates <dir> (new, or empty) as a git repository from a template, with program.md and
autoresearch.config.json, and commits it; then \`cd <dir> && autoresearch run\` starts a session.

With --here, starts a study in the git repository you are in (its root, everything committed):
writes autoresearch.config.json and a program.md skeleton, adds .autoresearch/ to .gitignore, and
commits them on a new branch (${SETUP_BRANCH}). It asks nothing unless a flag is missing and it runs
in a terminal; without a terminal, a missing flag is an error that names it.

  --template NAME     the template to copy: ${listTemplates().join(", ")} (default: ts-demo)
  --here              use the current repository instead of creating one
  --measure CMD       a protected command that runs the code and prints "NAME: value" or writes
                      AUTORESEARCH_METRICS_FILE (a measure-only study: no training, no budget)
  --train CMD         a command that trains under the budget (with --budget; optionally --evaluate CMD)
  --evaluate CMD      the protected scorer after --train (writes AUTORESEARCH_METRICS_FILE)
  --metric NAME       the metric's name, e.g. runtime_ms
  --direction D       min or max: which way is better
  --mutable GLOBS     files proposers may change (comma-separated, or the flag repeated)
  --protected GLOBS   files that must never change; files the measure/evaluate command names are added
  --budget S          seconds of training per experiment (with --train)
  --branch NAME       the branch init commits on (default: ${SETUP_BRANCH})

examples:
  autoresearch init my-study --template gpt
  autoresearch init --here --measure "node bench.js" --metric runtime_ms --direction min --mutable "src/**/*.js"`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse("init", argv, flags, 1);
    const dir = positionals[0];
    if (values.here || dir === ".") return initInPlace(io, values);
    if (!dir) throw new UsageError("missing <dir> (or --here for the repository you are in)", "Usage: autoresearch init <dir> --template ts-demo, or autoresearch init --here --measure CMD ...");
    const target = await initProject(dir, values.template ?? "ts-demo");
    io.stdout(`created ${target} from template ${values.template ?? "ts-demo"}\n\nnext:\n  cd ${dir}\n  autoresearch run\n`);
    return 0;
  },
};

type Values = ReturnType<typeof parse<typeof flags>>["values"];

async function initInPlace(io: Io, values: Values): Promise<number> {
  if (values.template) throw new UsageError("--template makes a new project; --here uses the repository you are in", "Leave out one of them.");
  const dir = resolve(io.cwd);
  // Refused before any question: nothing to ask about in a repository init cannot use.
  const problem = await repositoryProblem(dir);
  if (problem) throw problem;
  let answers = answersFromFlags(values);
  const missing = missingAnswers(answers);
  if (missing.length > 0) {
    if (!(process.stdin.isTTY && io.isTTY)) {
      throw new UsageError(`missing ${missing.join(", ")}`, `Without a terminal init asks nothing; e.g. autoresearch init --here --measure "node bench.js" --metric runtime_ms --direction min --mutable "src/**/*.js"`);
    }
    answers = await askMissing(answers);
  }
  const result = await initHere(dir, answers, values.branch ?? SETUP_BRANCH);
  const config = result.plan.config as { metric: { name: string; direction: string }; mutable: string[]; protected: string[] };
  const phase = answers.measure ? `measure   ${answers.measure}` : `train     ${answers.train} (${answers.budgetSeconds}s)${answers.evaluate ? `, evaluate ${answers.evaluate}` : ""}`;
  io.stdout([
    `committed ${result.written.join(", ")} on branch ${result.branch} (${result.commit.slice(0, 7)})`,
    `  ${phase}`,
    `  metric    ${config.metric.name} (${config.metric.direction === "min" ? "lower" : "higher"} is better)`,
    `  mutable   ${config.mutable.join(", ")}`,
    `  protected ${config.protected.length > 0 ? config.protected.join(", ") : "(none)"}${result.plan.inferredProtected.length > 0 ? ` (named in the command: ${result.plan.inferredProtected.join(", ")})` : ""}`,
    "",
    "next:",
    ...(result.plan.program !== null ? [`  edit program.md (what to try, what to avoid) and commit it`] : []),
    "  autoresearch doctor                        check this machine (sandbox, tools)",
    "  autoresearch run --max-experiments 20      baselines, then candidates from the search proposer",
    "  autoresearch results                       what was kept; `autoresearch report` for a page",
    "",
  ].join("\n"));
  return 0;
}

function answersFromFlags(values: Values): InitAnswers {
  const direction = values.direction;
  if (direction !== undefined && direction !== "min" && direction !== "max") {
    throw new UsageError(`--direction must be min or max, got "${direction}"`, "min: lower is better (a time, a size); max: higher is better (a throughput, a score).");
  }
  if (values.budget !== undefined && !values.train) throw new UsageError("--budget limits a train phase; there is no --train", "A measure-only study has no budget: leave --budget out.");
  return {
    measure: values.measure, train: values.train, evaluate: values.evaluate, metric: values.metric, direction,
    mutable: globList(values.mutable), protected: globList(values.protected),
    budgetSeconds: positiveNumber("init", "budget", values.budget),
  };
}

function globList(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((value) => value.split(",")).map((glob) => glob.trim()).filter(Boolean);
}

/** The questions for what the flags left out (a terminal only); @inquirer/prompts is loaded only here. */
async function askMissing(answers: InitAnswers): Promise<InitAnswers> {
  const { input, select, number } = await import("@inquirer/prompts");
  const next = { ...answers };
  const required = (value: string) => value.trim() !== "" || "required";
  if (!next.measure && !next.train) {
    next.measure = await input({ message: "Command that measures the code (prints \"NAME: value\"):", validate: required });
  }
  if (next.train && next.budgetSeconds === undefined) {
    next.budgetSeconds = await number({ message: "Training seconds per experiment:", min: 1, required: true });
  }
  next.metric ??= await input({ message: "Metric name:", validate: required });
  next.direction ??= await select({ message: "Which is better?", choices: [{ name: "lower (min)", value: "min" as const }, { name: "higher (max)", value: "max" as const }] });
  if (next.mutable.length === 0) next.mutable = globList([await input({ message: "Files proposers may change (globs, comma-separated):", validate: required })]);
  return next;
}
