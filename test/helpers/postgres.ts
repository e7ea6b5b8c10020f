// A real PostgreSQL for the shared study's tests: a throw-away server of this test file's own, started
// by scripts/postgres-local.sh (so a test can stop and restart it), with a fresh database per test.
// Without PostgreSQL's binaries the tests skip, saying why (.ci/run installs them).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

const SCRIPT = join(import.meta.dirname, "..", "..", "scripts", "postgres-local.sh");

export interface TestPostgres {
  /** The server's maintenance database (postgres://postgres@127.0.0.1:PORT/postgres). */
  url: string;
  /** A fresh, empty database on the server; its URL. */
  database(name: string): Promise<string>;
  /** Stops the server (fast: sessions are cut) / starts it again on the same port. */
  stop(): void;
  start(): void;
  close(): void;
}

let counter = 0;

/** The server, or the reason there is none here (the caller skips with it). */
export function startPostgres(): TestPostgres | string {
  const dir = mkdtempSync(join(tmpdir(), "autoresearch-pg-"));
  let output: string;
  try {
    output = execFileSync("bash", [SCRIPT, "start", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const said = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    return `no PostgreSQL server could be started here (${said}); .ci/run installs Debian's postgresql`;
  }
  const url = /AUTORESEARCH_TEST_POSTGRES_URL=(\S+)/.exec(output)![1]!;
  let running = true;
  return {
    url,
    async database(name: string) {
      const database = `${name.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}_${process.pid}_${++counter}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${database}`);
      } finally {
        await client.end();
      }
      return url.replace(/\/postgres$/, `/${database}`);
    },
    stop() {
      execFileSync("bash", [SCRIPT, "stop", dir], { stdio: "ignore" });
      running = false;
    },
    start() {
      execFileSync("bash", [SCRIPT, "restart", dir], { stdio: "ignore" });
      running = true;
    },
    close() {
      if (running) execFileSync("bash", [SCRIPT, "stop", dir], { stdio: "ignore" });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
