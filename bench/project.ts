// A throwaway research project for the throughput benchmark: training just sleeps for the
// budget, a protected evaluator sleeps a fixed time and reports the knob as the metric.
import { execFileSync } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface BenchProject {
  dir: string;
  cleanup: () => void;
}

export interface BenchProjectOptions {
  budgetSeconds: number;
  evaluateSeconds: number;
}

/** The mutable file; proposers rewrite it, the evaluator copies it to the metrics file. */
export const KNOB_FILE = "knob.json";

// Independent of the user's git setup (hooks, signing, identity).
const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "Bench",
  GIT_AUTHOR_EMAIL: "bench@localhost",
  GIT_COMMITTER_NAME: "Bench",
  GIT_COMMITTER_EMAIL: "bench@localhost",
};

export function makeBenchProject(options: BenchProjectOptions): BenchProject {
  // realpath: tmpdir may be a symlink, and git reports resolved paths.
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "autoresearch-bench-")));
  const config = {
    name: "throughput benchmark",
    mutable: [KNOB_FILE],
    protected: ["evaluate.sh"],
    train: { command: 'sleep "$AUTORESEARCH_BUDGET_SECONDS"' },
    evaluate: { command: "sh evaluate.sh" },
    metric: { name: "score", direction: "min" },
    budgetSeconds: options.budgetSeconds,
    devices: ["cpu"],
    acceptance: { policy: "greedy" },
  };
  const files: Record<string, string> = {
    "autoresearch.config.json": `${JSON.stringify(config, null, 2)}\n`,
    "program.md": "Benchmark workload: lower the score in knob.json.\n",
    [KNOB_FILE]: `${JSON.stringify({ score: 2 })}\n`,
    "evaluate.sh": `sleep ${options.evaluateSeconds}\ncp ${KNOB_FILE} "$AUTORESEARCH_METRICS_FILE"\n`,
  };
  for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
  const git = (args: string[]) => execFileSync("git", args, { cwd: dir, env: GIT_ENV, stdio: ["ignore", "pipe", "pipe"] });
  git(["init", "--quiet", "--initial-branch=main"]);
  git(["add", "--all"]);
  git(["commit", "--quiet", "--no-gpg-sign", "-m", "benchmark project"]);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
