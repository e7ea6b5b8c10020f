// `autoresearch doctor` for a shared study (#11, README "Research together"): the database answers (and
// accepts this machine's credentials), its schema is the version this autoresearch needs, the study is there,
// and the git remote answers and takes pushes. Each failure says what to fix.
import pg from "pg";
import { connectionUrl, type SharedLedgerConfig } from "../config/ledger.ts";
import { runGit } from "../git/exec.ts";
import { schemaVersion, SCHEMA_VERSION } from "../share/schema.ts";
import { redactUrl } from "../share/study.ts";
import { studyBaseBranch } from "../share/worker.ts";

export interface ShareCheck {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  required: boolean;
}

export async function checkShare(shared: SharedLedgerConfig, projectDir: string, env: NodeJS.ProcessEnv = process.env): Promise<ShareCheck[]> {
  return [...(await checkDatabase(shared, env)), ...(await checkRemote(shared, projectDir))];
}

async function checkDatabase(shared: SharedLedgerConfig, env: NodeJS.ProcessEnv): Promise<ShareCheck[]> {
  const shown = redactUrl(shared.url);
  const client = new pg.Client({ connectionString: connectionUrl(shared, env), connectionTimeoutMillis: 5000 });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    return [{ name: "study database", required: true, ok: false, detail: `cannot connect to ${shown}: ${(error as Error).message}`, fix: connectFix(error, shared, env) }];
  }
  try {
    const checks: ShareCheck[] = [{ name: "study database", required: true, ok: true, detail: `${shown} answers` }];
    const version = await schemaVersion(client);
    if (version !== SCHEMA_VERSION) {
      checks.push({
        name: "study schema", required: true, ok: false,
        detail: version === 0 ? `${shown} has none of the study's tables` : `${shown} has schema version ${version}; this autoresearch needs ${SCHEMA_VERSION}`,
        fix: version === 0 ? "Create the study: `autoresearch share init --db <url> --remote <git url>` in the host's project (or check ledger.url names the study's database)."
          : version < SCHEMA_VERSION ? "Migrate it: `autoresearch share migrate` (then every worker needs this autoresearch or newer)."
          : "Upgrade autoresearch on this machine: the study was migrated by a newer one.",
      });
      return checks;
    }
    checks.push({ name: "study schema", required: true, ok: true, detail: `version ${version}, as this autoresearch needs` });
    const study = (await client.query<{ remote: string }>("SELECT remote FROM studies WHERE name = $1", [shared.study])).rows[0];
    if (!study) {
      const known = (await client.query<{ name: string }>("SELECT name FROM studies ORDER BY name")).rows.map((row) => row.name);
      checks.push({
        name: "study", required: true, ok: false, detail: `${shown} has no study "${shared.study}"${known.length > 0 ? ` (it has ${known.join(", ")})` : ""}`,
        fix: known.length > 0 ? "Set ledger.study in the config to the study's name, or join it again with `autoresearch join`." : "Create it with `autoresearch share init` in the host's project.",
      });
      return checks;
    }
    const workers = (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM workers WHERE study = $1", [shared.study])).rows[0]!.n;
    checks.push({ name: "study", required: true, ok: true, detail: `"${shared.study}": ${workers} worker${workers === 1 ? "" : "s"} joined${study.remote === shared.remote ? "" : `; the study was made with the remote ${study.remote}`}` });
    return checks;
  } catch (error) {
    return [{ name: "study database", required: true, ok: false, detail: `${shown}: ${(error as Error).message}`, fix: "Check that the user may read the study's tables (GRANT SELECT, INSERT, UPDATE, DELETE on them)." }];
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** What to do about a failed connection, told apart by PostgreSQL's code or the socket's. */
function connectFix(error: unknown, shared: SharedLedgerConfig, env: NodeJS.ProcessEnv): string {
  const code = (error as { code?: string }).code;
  // Without a password the client gives up before the server says no (SCRAM needs one to start).
  const noPassword = /client password must be a string|password authentication|no password supplied/i.test((error as Error).message);
  if (code === "28P01" || code === "28000" || noPassword) {
    return env[shared.passwordEnv]
      ? `The server refused the credentials: check the user in ledger.url and the password in $${shared.passwordEnv}.`
      : `The server wants a password: set $${shared.passwordEnv} (ledger.passwordEnv names the variable; the password is never written to the config).`;
  }
  if (code === "3D000") return "The database does not exist on that server: check ledger.url, or create it (createdb) and run `autoresearch share init`.";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "The host name does not resolve: check ledger.url.";
  if (code === "ECONNREFUSED") return "Nothing listens there: start the server, or check the host and port in ledger.url (and listen_addresses in postgresql.conf).";
  return "Check ledger.url, that the server runs and accepts this machine (pg_hba.conf, a firewall), and the password variable.";
}

async function checkRemote(shared: SharedLedgerConfig, projectDir: string): Promise<ShareCheck[]> {
  const base = `refs/heads/${studyBaseBranch(shared.study)}`;
  let listed: string;
  try {
    listed = (await runGit(projectDir, ["ls-remote", "--", shared.remote, base])).stdout;
  } catch (error) {
    return [{
      name: "study remote", required: true, ok: false, detail: `git cannot read ${shared.remote}: ${firstLine(error)}`,
      fix: "Check ledger.remote and that this machine may fetch from it (an SSH key or a credential helper for the user running autoresearch).",
    }];
  }
  const checks: ShareCheck[] = [];
  if (!listed.includes(`\t${base}`)) {
    checks.push({ name: "study remote", required: true, ok: false, detail: `${shared.remote} answers but has no ${studyBaseBranch(shared.study)}`, fix: "Check ledger.remote: it must be the remote `autoresearch share init` pushed the study's base to." });
    return checks;
  }
  // A dry run reaches the remote's receive side (where a read-only key is refused) without writing anything.
  try {
    await runGit(projectDir, ["push", "--dry-run", "--quiet", "--", shared.remote, `HEAD:refs/autoresearch/${shared.study}/doctor-check`]);
    checks.push({ name: "study remote", required: true, ok: true, detail: `${shared.remote} has ${studyBaseBranch(shared.study)} and takes pushes` });
  } catch (error) {
    checks.push({
      name: "study remote", required: true, ok: false, detail: `${shared.remote} can be read but not pushed to: ${firstLine(error)}`,
      fix: "Workers push their candidates and the study's best there: give this machine write access to the remote.",
    });
  }
  return checks;
}

function firstLine(error: unknown): string {
  const stderr = (error as { stderr?: string }).stderr?.trim();
  return (stderr || (error as Error).message).split("\n").find((line) => line.trim() !== "") ?? "failed";
}
