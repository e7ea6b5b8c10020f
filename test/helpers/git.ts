// Real temporary git repositories for tests. Uses the git CLI directly (not src/git),
// so assertions about src/git are checked against an independent reading.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export interface TempRepo {
  /** A scratch folder holding the repository (and room for worktrees beside it). */
  root: string;
  /** The repository's working tree, on branch main with one commit. */
  dir: string;
  /** The first commit. */
  initialCommit: string;
  /** Runs git in `cwd` (default: the repository) and returns trimmed stdout. */
  git: (args: string[], cwd?: string) => string;
  /** Writes a file relative to `cwd` (default: the repository), creating folders. */
  write: (path: string, content: string, cwd?: string) => void;
  cleanup: () => void;
}

// Isolated from the machine's global git config, with an identity for the helper's own commits.
const HELPER_ENV = {
  ...process.env,
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "Test User",
  GIT_AUTHOR_EMAIL: "test@example.com",
  GIT_COMMITTER_NAME: "Test User",
  GIT_COMMITTER_EMAIL: "test@example.com",
};

export function runGitCli(args: string[], cwd: string): string {
  return execFileSync("git", args, { cwd, env: HELPER_ENV, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

export function makeTempRoot(prefix = "autoresearch-git-"): { root: string; cleanup: () => void } {
  // realpath: on some systems tmpdir is a symlink, and git reports resolved paths.
  const root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A repository on branch main with `files` committed (default: README.md). */
export function makeTempRepo(files: Record<string, string> = { "README.md": "hello\n" }): TempRepo {
  const { root, cleanup } = makeTempRoot();
  const dir = join(root, "repo");
  mkdirSync(dir);
  const git = (args: string[], cwd = dir) => runGitCli(args, cwd);
  const write = (path: string, content: string, cwd = dir) => {
    mkdirSync(dirname(join(cwd, path)), { recursive: true });
    writeFileSync(join(cwd, path), content);
  };
  git(["init", "--quiet", "--initial-branch=main"]);
  for (const [path, content] of Object.entries(files)) write(path, content);
  git(["add", "--all"]);
  git(["commit", "--quiet", "--no-gpg-sign", "-m", "initial"]);
  return { root, dir, initialCommit: git(["rev-parse", "HEAD"]), git, write, cleanup };
}
