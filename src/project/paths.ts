// Where the harness keeps its state inside a research project. All of it is git-ignored.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The autoresearch package root (where templates and shipped data live). */
export function harnessHome(): string {
  return dirname(dirname(dirname(fileURLToPath(import.meta.url))));
}

export interface ProjectPaths {
  projectDir: string;
  stateDir: string;
  dataDir: string;
  dataManifest: string;
  /** The project's split secret (0600), handed to the prepare command only; never under dataDir. */
  splitSecret: string;
  logsDir: string;
  worktreesDir: string;
  runsDir: string;
  lockFile: string;
  resultsTsv: string;
}

/** The project's config file; here rather than in config/ so that finding a project does not load the schema. */
export const CONFIG_FILE = "autoresearch.config.json";

export const STATE_DIR_NAME = ".autoresearch";

export function projectPaths(projectDir: string): ProjectPaths {
  const stateDir = join(projectDir, STATE_DIR_NAME);
  return {
    projectDir,
    stateDir,
    dataDir: join(stateDir, "data"),
    dataManifest: join(stateDir, "data.manifest.json"),
    splitSecret: join(stateDir, "split-secret"),
    logsDir: join(stateDir, "logs"),
    worktreesDir: join(stateDir, "worktrees"),
    runsDir: join(stateDir, "runs"),
    lockFile: join(stateDir, "run.lock"),
    resultsTsv: join(projectDir, "results.tsv"),
  };
}

export function experimentLogPath(paths: ProjectPaths, id: number): string {
  return join(paths.logsDir, `${id}.log`);
}

/** Where an experiment's train phase writes (AUTORESEARCH_OUTPUT_DIR): checkpoints, reports. Pruned by the `outputs` policy. */
export function experimentOutputDir(paths: ProjectPaths, id: number): string {
  return join(paths.runsDir, String(id), "out");
}

/** A session's own files (the proposer's notebook, notes.md), beside the ledger. */
export function sessionDir(paths: ProjectPaths, tag: string): string {
  return join(paths.stateDir, "sessions", tag);
}

export function branchName(tag: string): string {
  return `autoresearch/${tag}`;
}

export function candidateRef(tag: string, id: number): string {
  return `refs/autoresearch/${tag}/${id}`;
}
