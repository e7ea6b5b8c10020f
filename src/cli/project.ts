// Read-only access to a project's ledger for the commands that only look (status, results, show).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { EXIT, UserError } from "../errors.ts";
import { Ledger, LEDGER_FILE } from "../ledger/sqlite.ts";
import type { SessionRecord } from "../core/session.ts";
import { CONFIG_FILE, projectPaths, type ProjectPaths } from "../project/paths.ts";

export function findProjectDir(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, CONFIG_FILE))) return dir;
    const parent = join(dir, "..");
    if (parent === dir || existsSync(join(dir, ".git"))) return start;
    dir = parent;
  }
}

export function openLedgerReadOnly(projectDir: string): { ledger: Ledger; paths: ProjectPaths } {
  const paths = projectPaths(findProjectDir(projectDir));
  if (!existsSync(join(paths.stateDir, LEDGER_FILE))) {
    // `run` needs a config: without one, the next step is init, not run.
    const hint = existsSync(join(paths.projectDir, CONFIG_FILE))
      ? "Start one with `autoresearch run` (or try `autoresearch demo`)."
      : `There is no ${CONFIG_FILE} here either: make this repository a project with \`autoresearch init --here\`, ` +
        "create a new one with `autoresearch init <dir> --template ts-demo`, or try `autoresearch demo`.";
    throw new UserError(`no research sessions in ${paths.projectDir} yet`, { exitCode: EXIT.config, hint });
  }
  return { ledger: Ledger.open(paths.stateDir, { readOnly: true }), paths };
}

export function pickSession(ledger: Ledger, tag: string | undefined): SessionRecord {
  const sessions = ledger.listSessions();
  const session = tag ? ledger.getSession(tag) : sessions.at(-1);
  if (!session) {
    throw new UserError(tag ? `no session with tag "${tag}"` : "no sessions yet", {
      exitCode: EXIT.usage,
      hint: sessions.length > 0 ? `Tags: ${sessions.map((known) => known.tag).join(", ")}` : "Start one with `autoresearch run`.",
    });
  }
  return session;
}
