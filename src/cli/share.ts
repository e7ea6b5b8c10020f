// `autoresearch share init` (host a study: its tables in PostgreSQL, its base on a git remote) and
// `autoresearch join` (a machine joins: a clone of the study's base, registered as a worker). #11.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import * as git from "../git/index.ts";
import { cloneBranch, pushWithLease, remoteRef } from "../git/remote.ts";
import { CONFIG_FILE, loadConfig } from "../config/load.ts";
import { connectionUrl, type SharedLedgerConfig } from "../config/ledger.ts";
import { UsageError, UserError, EXIT } from "../errors.ts";
import { projectPaths } from "../project/paths.ts";
import { migrate } from "../share/schema.ts";
import { createPool, readNotebook, readStudy, redactUrl } from "../share/study.ts";
import { studyBaseBranch, WORKER_FILE, workerIdentity } from "../share/worker.ts";
import { safeText } from "../text/safe-text.ts";
import { parse, type Command, type Io } from "./args.ts";
import { findProjectDir } from "./project.ts";

const STUDY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const shareCommand: Command = {
  help: `usage: autoresearch share init --db postgres://USER@HOST[:PORT]/DB --remote GIT_URL [--study NAME] [--lease SECONDS] [--project DIR]
       autoresearch share migrate [--project DIR]
       autoresearch share note TEXT [--project DIR]
       autoresearch share notes [--project DIR]

Hosts this project's study for many machines (README "Research together"): creates the study's tables in
the PostgreSQL database (or migrates them), records the study, adds \`ledger\` to ${CONFIG_FILE} and commits it,
and pushes that commit to the git remote as study/<study>/base. Machines then join it with
\`autoresearch join\`. The password is never written anywhere: give it in PGPASSWORD.

\`share migrate\` brings the study's database (the one this project's config names) to the schema this
autoresearch needs (\`autoresearch doctor\` says when); every worker then needs this version or newer.
\`share note\` adds a note to the study's shared notebook: the proposers on every machine read it with
the other workers' notes.md. \`share notes\` prints the notebook.

  --db URL          the PostgreSQL database, without a password
  --remote URL      the git remote every worker can fetch from and push to (an empty bare repository is fine)
  --study NAME      the study's name (default: the project directory's name)
  --lease SECONDS   how long a worker's claim holds without its heartbeat (ledger.leaseSeconds, default 60):
                    a dead worker's candidates become free to others after it
  --project DIR     the project directory (default: the current directory)

example (with the password in PGPASSWORD):
  autoresearch share init --db postgres://research@db.example.org/studies --remote git@example.org:study.git`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse("share", argv, { db: { type: "string" }, remote: { type: "string" }, study: { type: "string" }, lease: { type: "string" }, project: { type: "string" } }, 2);
    if (positionals[0] === "note" || positionals[0] === "notes") return notebookCommand(positionals[0], positionals[1], values.project ?? io.cwd, io);
    if (positionals.length > 1) throw new UsageError(`share ${positionals[0]} takes no argument "${positionals[1]}"`, "See `autoresearch share --help`.");
    if (positionals[0] === "migrate") return migrateStudy(values.project ?? io.cwd, io);
    if (positionals[0] !== "init") throw new UsageError(positionals[0] ? `unknown subcommand "${positionals[0]}"` : "share needs a subcommand", "Use `autoresearch share init --db <url> --remote <git url>` (or share migrate, note, notes).");
    const db = required("share", "db", values.db);
    const remote = required("share", "remote", values.remote);
    const projectDir = findProjectDir(values.project ?? io.cwd);
    const config = loadConfig(projectDir);
    const study = values.study ?? basename(projectDir).replace(/[^A-Za-z0-9._-]/g, "-");
    if (!STUDY_NAME.test(study)) throw new UsageError(`--study "${study}" is not a valid name`, "Use letters, digits, '.', '_' and '-', starting with a letter or digit.");
    refusePassword(db);
    if (values.lease !== undefined && !(Number(values.lease) >= 1 && Number(values.lease) <= 3600)) throw new UsageError(`--lease must be a number of seconds from 1 to 3600, got "${values.lease}"`);
    if (config.ledger.kind === "postgres") throw new UserError(`${CONFIG_FILE} already shares this project as the study "${config.ledger.study}"`, { exitCode: EXIT.usage, hint: "Machines join it with `autoresearch join`." });
    if (!(await git.isClean(projectDir))) throw new UserError("the project has uncommitted changes", { exitCode: EXIT.config, hint: "Commit them first: the study starts from a commit every worker can fetch." });

    const pool = createPool(connectionUrl({ url: db, passwordEnv: "PGPASSWORD" }));
    try {
      const client = await pool.connect().catch((error: Error) => {
        throw new UserError(`cannot reach the database at ${redactUrl(db)}: ${error.message}`, { exitCode: EXIT.environment, hint: "Check the URL, that the server accepts this machine, and PGPASSWORD." });
      });
      try {
        const migrated = await migrate(client);
        if (migrated.from !== migrated.to) io.stdout(`database ${redactUrl(db)}: schema version ${migrated.from} → ${migrated.to}\n`);
        const exists = await client.query("SELECT 1 FROM studies WHERE name = $1", [study]);
        if (exists.rowCount) throw new UserError(`the database already has a study "${study}"`, { exitCode: EXIT.usage, hint: "Pick another --study, or join that one with `autoresearch join`." });
      } finally {
        client.release();
      }
      // The config that every worker will run with names the study; commit it, then make that commit the study's base.
      const path = join(projectDir, CONFIG_FILE);
      const raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
      raw.ledger = { kind: "postgres", url: db, study, remote, ...(values.lease === undefined ? {} : { leaseSeconds: Number(values.lease) }) };
      writeFileSync(path, `${JSON.stringify(raw, null, 2)}\n`);
      loadConfig(projectDir); // the edited config must still be valid
      const base = await git.commitPaths(projectDir, [CONFIG_FILE], `autoresearch: share this project as the study "${study}"`);
      const branch = `refs/heads/${studyBaseBranch(study)}`;
      const there = await remoteRef(projectDir, remote, branch).catch((error: Error) => {
        throw new UserError(`cannot reach the git remote ${remote}: ${error.message}`, { exitCode: EXIT.environment, hint: "Create it (an empty bare repository will do) and check this machine may push to it." });
      });
      if (there !== null) throw new UserError(`the remote already has ${branch}`, { exitCode: EXIT.usage, hint: "Pick another --study, or another remote." });
      await pushWithLease(projectDir, remote, base, branch, null);
      await pool.query(
        "INSERT INTO studies (name, base_commit, remote, metric, direction) VALUES ($1, $2, $3, $4, $5)",
        [study, base, remote, config.metric.name, config.metric.direction],
      );
      io.stdout(
        `study "${study}": base ${base.slice(0, 7)} pushed to ${remote} as ${studyBaseBranch(study)}; ${CONFIG_FILE} now has ledger.kind "postgres".\n` +
        `On every machine that joins (this one too: \`autoresearch run\` here):\n  autoresearch join ${db} --remote ${remote} --study ${study} && cd ${study} && autoresearch run\n`,
      );
      return 0;
    } finally {
      await pool.end();
    }
  },
};

export const joinCommand: Command = {
  help: `usage: autoresearch join postgres://USER@HOST[:PORT]/DB --remote GIT_URL [--study NAME] [--dir DIR]

Joins a shared study (README "Research together"): clones the study's base from the remote into DIR
(default: the study's name), checks the database and registers this machine as a worker. Then
\`autoresearch run\` in DIR researches with the others. The worker only connects out: to the database
and the remote. The password, if any, comes from PGPASSWORD (or the config's ledger.passwordEnv).

  --remote URL   the study's git remote
  --study NAME   the study (default: the only one in the database)
  --dir DIR      where the clone goes (default: ./<study>); an existing clone of the study is joined in place

example:
  autoresearch join postgres://research@db.example.org/studies --remote git@example.org:study.git && cd study && autoresearch run`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse("join", argv, { remote: { type: "string" }, study: { type: "string" }, dir: { type: "string" } }, 1);
    const db = positionals[0];
    if (!db) throw new UsageError("join needs the study's database URL", "e.g. autoresearch join postgres://user@host/db --remote <git url>");
    refusePassword(db);
    const remote = required("join", "remote", values.remote);
    const pool = createPool(connectionUrl({ url: db, passwordEnv: "PGPASSWORD" }));
    try {
      const name = values.study ?? (await onlyStudy(pool, db));
      const study = await readStudy(pool, name, db).catch((error: unknown) => {
        if (error instanceof UserError) throw error;
        throw new UserError(`cannot reach the database at ${redactUrl(db)}: ${(error as Error).message}`, { exitCode: EXIT.environment, hint: "Check the URL, that the server accepts this machine, and PGPASSWORD." });
      });
      const dir = resolve(io.cwd, values.dir ?? study.name);
      if (!existsSync(join(dir, CONFIG_FILE))) await cloneBranch(io.cwd, remote, studyBaseBranch(study.name), dir);
      const config = loadConfig(dir);
      if (config.ledger.kind !== "postgres" || config.ledger.study !== study.name) {
        throw new UserError(`${dir} is not a clone of the study "${study.name}" (its ${CONFIG_FILE} has no ledger for it)`, { exitCode: EXIT.config, hint: "Give another --dir, or remove that directory." });
      }
      const worker = workerIdentity(projectPaths(dir).stateDir);
      await pool.query(
        `INSERT INTO workers (study, id, host, device_class) VALUES ($1, $2, $3, $4)
         ON CONFLICT (study, id) DO UPDATE SET host = EXCLUDED.host, last_seen = now()`,
        [study.name, worker.id, worker.host, config.ledger.deviceClass ?? (config.devices[0]?.startsWith("cuda") ? "cuda" : "cpu")],
      );
      io.stdout(`joined the study "${study.name}" as worker ${worker.id} in ${dir}\nnext: cd ${dir} && autoresearch run\n`);
      return 0;
    } finally {
      await pool.end();
    }
  },
};

/** The shared study this project's config names; a usage error for a project with a local ledger. */
function sharedConfig(start: string): { projectDir: string; ledger: SharedLedgerConfig } {
  const projectDir = findProjectDir(start);
  const config = loadConfig(projectDir);
  if (config.ledger.kind !== "postgres") throw new UserError(`${CONFIG_FILE} does not share this project (its ledger is local)`, { exitCode: EXIT.usage, hint: "Host a study with `autoresearch share init`, or join one with `autoresearch join`." });
  return { projectDir, ledger: config.ledger };
}

/** `share note TEXT` / `share notes`: the study's shared notebook. */
async function notebookCommand(subcommand: "note" | "notes", text: string | undefined, start: string, io: Io): Promise<number> {
  const { projectDir, ledger } = sharedConfig(start);
  if (subcommand === "note" && !text?.trim()) throw new UsageError("share note needs the note's text", "e.g. autoresearch share note \"warmup above 500 steps never helped\"");
  if (subcommand === "notes" && text !== undefined) throw new UsageError(`share notes takes no argument "${text}"`, "To add a note: autoresearch share note TEXT");
  const url = connectionUrl(ledger);
  const pool = createPool(url);
  try {
    const worker = existsSync(join(projectPaths(projectDir).stateDir, WORKER_FILE)) ? workerIdentity(projectPaths(projectDir).stateDir).id : null;
    await readStudy(pool, ledger.study, url).catch((error: unknown) => {
      if (error instanceof UserError) throw error;
      throw new UserError(`cannot reach the study's database at ${redactUrl(url)}: ${(error as Error).message}`, { exitCode: EXIT.environment, hint: "`autoresearch doctor` checks the connection and says what to fix." });
    });
    if (subcommand === "note") {
      await pool.query("INSERT INTO notebook (study, worker, text, source) VALUES ($1, $2, $3, 'person')", [ledger.study, worker, text!.trim()]);
      io.stdout(`noted in the study "${ledger.study}": the proposers on every machine read it from their next proposal\n`);
      return 0;
    }
    const notes = await readNotebook(pool, ledger.study, null);
    if (notes.length === 0) io.stdout(`the study "${ledger.study}" has no notes yet (add one: autoresearch share note TEXT)\n`);
    for (const note of notes) {
      const from = note.source === "person" ? `a person${note.worker ? ` at worker ${note.worker}` : ""}` : `worker ${note.worker}'s notes.md`;
      io.stdout(`--- ${from}, ${note.at}\n${safeText(note.text.trim())}\n\n`);
    }
    return 0;
  } finally {
    await pool.end();
  }
}

/** `share migrate`: the study's database brought to this autoresearch's schema. */
async function migrateStudy(start: string, io: Io): Promise<number> {
  const { ledger } = sharedConfig(start);
  const url = connectionUrl(ledger);
  const pool = createPool(url);
  try {
    const client = await pool.connect().catch((error: Error) => {
      throw new UserError(`cannot reach the study's database at ${redactUrl(url)}: ${error.message}`, { exitCode: EXIT.environment, hint: "`autoresearch doctor` checks the connection and says what to fix." });
    });
    try {
      const migrated = await migrate(client);
      io.stdout(migrated.from === migrated.to
        ? `database ${redactUrl(url)}: schema version ${migrated.to}, as this autoresearch needs; nothing to do\n`
        : `database ${redactUrl(url)}: schema version ${migrated.from} → ${migrated.to}; every worker now needs this autoresearch or newer\n`);
      return 0;
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
}

function required(command: string, flag: string, value: string | undefined): string {
  if (!value) throw new UsageError(`--${flag} is required`, `See \`autoresearch ${command} --help\`.`);
  return value;
}

function refusePassword(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`"${url}" is not a URL`, "Give the database as postgres://user@host:port/database.");
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol)) throw new UsageError(`"${redactUrl(url)}" is not a postgres:// URL`, "Give the database as postgres://user@host:port/database.");
  if (parsed.password) throw new UsageError("the database URL contains a password", "Leave it out of the URL (it would be written to the config and the shell history) and set PGPASSWORD instead.");
}

async function onlyStudy(pool: ReturnType<typeof createPool>, db: string): Promise<string> {
  const rows = await pool.query<{ name: string }>("SELECT name FROM studies ORDER BY name").catch((error: Error) => {
    throw new UserError(`cannot read the studies at ${redactUrl(db)}: ${error.message}`, { exitCode: EXIT.environment, hint: "Check the URL and that `autoresearch share init` created the study there." });
  });
  if (rows.rows.length === 1) return rows.rows[0]!.name;
  if (rows.rows.length === 0) throw new UserError(`the database at ${redactUrl(db)} has no study`, { exitCode: EXIT.config, hint: "Create one with `autoresearch share init`." });
  throw new UsageError(`the database has ${rows.rows.length} studies: ${rows.rows.map((row) => row.name).join(", ")}`, "Name one with --study.");
}
