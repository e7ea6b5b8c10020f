// `init --here`: a study in the user's own git repository. Gather (the repository's state and files) →
// plan (the config and program.md, pure) → apply (write, commit on a new branch). Nothing is written
// until the planned config passes the same checks `run` makes.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import picomatch from "picomatch";
import { parseConfig, scopeProblems } from "../config/load.ts";
import { ConfigError, EXIT, UserError } from "../errors.ts";
import * as git from "../git/index.ts";
import { CONFIG_FILE } from "./paths.ts";

/** What the user tells init (flags or answers); every field but the lists may still be missing. */
export interface InitAnswers {
  measure?: string;
  train?: string;
  evaluate?: string;
  metric?: string;
  direction?: "min" | "max";
  mutable: string[];
  protected: string[];
  budgetSeconds?: number;
}

/** The answers a config cannot do without, as the flags that give them. */
export function missingAnswers(answers: InitAnswers): string[] {
  const missing: string[] = [];
  if (!answers.measure && !answers.train) missing.push("--measure (or --train)");
  if (answers.train && answers.budgetSeconds === undefined) missing.push("--budget");
  if (!answers.metric) missing.push("--metric");
  if (!answers.direction) missing.push("--direction");
  if (answers.mutable.length === 0) missing.push("--mutable");
  return missing;
}

export const PROGRAM_FILE = "program.md";
export const SETUP_BRANCH = "autoresearch-setup";
const IGNORED = ["/.autoresearch/", "/results.tsv"];

export interface InitPlan {
  config: Record<string, unknown>;
  /** Committed files named in the commands that init made protected on its own. */
  inferredProtected: string[];
  /** program.md's skeleton, or null when the repository already has one. */
  program: string | null;
}

/**
 * The config and program.md for these answers, given the committed files. Files that the commands
 * name (`node bench.js` → bench.js) become protected unless they are mutable: the scorer must be code
 * the proposers cannot change.
 */
export function planInit(answers: Required<Pick<InitAnswers, "metric" | "direction">> & InitAnswers, files: readonly string[], name: string, hasProgram: boolean): InitPlan {
  const isMutable = picomatch(answers.mutable, { dot: true });
  const isProtected = answers.protected.length > 0 ? picomatch(answers.protected, { dot: true }) : () => false;
  const tracked = new Set(files);
  // The scorer: files the measure or evaluate command names (a train command's files may well be the mutable code).
  const words = [answers.measure, answers.evaluate].flatMap((command) => command?.split(/\s+/) ?? []);
  const named = words.map((word) => word.replace(/^["']|["']$/g, "").replace(/^\.\//, ""));
  const inferredProtected = [...new Set(named.filter((file) => tracked.has(file) && !isMutable(file) && !isProtected(file)))];
  const measureOnly = Boolean(answers.measure) && !answers.train;
  const config: Record<string, unknown> = {
    name,
    program: PROGRAM_FILE,
    mutable: answers.mutable,
    protected: [...answers.protected, ...inferredProtected],
    ...(answers.train ? { train: { command: answers.train }, budgetSeconds: answers.budgetSeconds } : {}),
    ...(answers.evaluate ? { evaluate: { command: answers.evaluate } } : {}),
    ...(answers.measure ? { measure: { command: answers.measure } } : {}),
    metric: { name: answers.metric, direction: answers.direction },
    proposer: { name: "search" },
    // Timings are noisy: more baseline runs give a better σ (config normalisation does the same when this is left out).
    ...(measureOnly ? { acceptance: { baselineRuns: 5 } } : {}),
  };
  return { config, inferredProtected, program: hasProgram ? null : programSkeleton(answers) };
}

function programSkeleton(answers: InitAnswers): string {
  const better = answers.direction === "min" ? "lower" : "higher";
  const how = answers.measure ? `\`${answers.measure}\` measures it` : `\`${answers.train}\` runs the code${answers.evaluate ? ` and \`${answers.evaluate}\` scores it` : ""}`;
  return `# Research program

What the proposers should do in this repository. They read this file before every proposal;
say what a person new to the code would need to know.

## Goal

Make \`${answers.metric}\` ${better}. ${how}; it is protected and cannot be changed.

## Files you may change

${answers.mutable.map((glob) => `- \`${glob}\``).join("\n")}

## Ideas worth trying

- (the knobs that matter, the algorithms to try, what the profile says)

## Rules

- Keep the behaviour the same: the tests must still pass.
- Do not special-case the measurement or its inputs.
`;
}

/** Why init cannot run in `dir`: not a repository's root, no commit yet, a config already, or uncommitted changes. */
export async function repositoryProblem(dir: string): Promise<UserError | null> {
  const usage = (message: string, hint: string) => new UserError(message, { exitCode: EXIT.usage, hint });
  if (!(await git.isGitRepo(dir))) {
    return usage(`${dir} is not a git repository`, "autoresearch keeps every candidate as a commit: run `git init && git add -A && git commit -m 'initial'` first, or `autoresearch init <new-dir> --template ts-demo` for a new project from a template.");
  }
  const root = await git.repoRoot(dir);
  if (resolve(root) !== resolve(dir)) return usage(`${dir} is inside the git repository ${root}, not at its root`, `Run \`autoresearch init --here\` in ${root}; globs are relative to the repository's root.`);
  if ((await git.revParse(dir, "HEAD^{commit}")) === null) return usage(`${dir} has no commit yet`, "Commit your code first (`git add -A && git commit -m 'initial'`): the study starts from a commit.");
  if (existsSync(join(dir, CONFIG_FILE))) {
    return usage(`${join(dir, CONFIG_FILE)} already exists`, "This repository already has a study: edit the config, or remove it (and commit) to start over.");
  }
  const uncommitted = (await git.uncommittedPaths(dir)).filter((path) => path !== PROGRAM_FILE);
  if (uncommitted.length > 0) {
    const shown = uncommitted.slice(0, 5).join(", ") + (uncommitted.length > 5 ? ` and ${uncommitted.length - 5} more` : "");
    return usage(`${dir} has uncommitted changes (${shown})`, "Commit or stash them first: a study starts from committed code, and init's commit must hold only its own files.");
  }
  return null;
}

export interface InitHereResult {
  branch: string;
  commit: string;
  plan: InitPlan;
  written: string[];
}

/** Plans, checks the plan as `run` would, writes the files and commits them on a new branch. */
export async function initHere(dir: string, answers: InitAnswers, branch = SETUP_BRANCH): Promise<InitHereResult> {
  const problem = await repositoryProblem(dir);
  if (problem) throw problem;
  const missing = missingAnswers(answers);
  if (missing.length > 0) throw new UserError(`missing ${missing.join(", ")}`, { exitCode: EXIT.usage });
  if (await git.branchExists(dir, branch)) {
    throw new UserError(`branch ${branch} already exists`, { exitCode: EXIT.usage, hint: `Delete it (\`git branch -D ${branch}\`) or pass --branch NAME.` });
  }
  const files = await git.listFilesAt(dir, "HEAD");
  const plan = planInit({ ...answers, metric: answers.metric!, direction: answers.direction! }, files, basename(resolve(dir)), existsSync(join(dir, PROGRAM_FILE)));
  const text = `${JSON.stringify(plan.config, null, 2)}\n`;
  const configPath = join(dir, CONFIG_FILE);
  const config = parseConfig(text, configPath, dir);
  const scope = scopeProblems(config, files).map((line) => `${CONFIG_FILE}: ${line}`);
  if (scope.length > 0) throw new ConfigError(scope, "Nothing was written. Fix the --mutable or --protected globs (they are relative to the repository's root).");

  writeFileSync(configPath, text);
  const written = [CONFIG_FILE];
  if (plan.program !== null) writeFileSync(join(dir, PROGRAM_FILE), plan.program);
  if (plan.program !== null || !files.includes(PROGRAM_FILE)) written.push(PROGRAM_FILE);
  const gitignore = join(dir, ".gitignore");
  const existing = existsSync(gitignore) ? readFileSync(gitignore, "utf8") : "";
  const lines = new Set(existing.split("\n").map((line) => line.trim()));
  const missingIgnores = IGNORED.filter((line) => !lines.has(line));
  if (missingIgnores.length > 0) {
    writeFileSync(gitignore, `${existing}${existing === "" || existing.endsWith("\n") ? "" : "\n"}${missingIgnores.join("\n")}\n`);
    written.push(".gitignore");
  }
  await git.switchToNewBranch(dir, branch);
  const commit = await git.commitPaths(dir, written, `autoresearch: the study's config and program (${config.metric.name}, ${config.metric.direction})`);
  return { branch, commit, plan, written };
}
