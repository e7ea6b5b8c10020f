// Where a project's experiments are recorded: the local SQLite ledger (the default, no server), or a
// study shared through PostgreSQL and a git remote (#11). The database password is never in the config:
// it comes from the environment variable `passwordEnv` (PGPASSWORD by default, which PostgreSQL's tools read too).
import { z } from "zod";

export const sharedLedgerSchema = z.strictObject({
  kind: z.literal("postgres"),
  /** postgres://user@host:port/database, without a password. */
  url: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
    .refine((url) => !hasPassword(url), "must not contain a password: put it in the environment variable named by passwordEnv (default PGPASSWORD)"),
  /** The study's name in the database (also the branch autoresearch/<study>/... on the remote). */
  study: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "letters, digits, '.', '_' and '-', starting with a letter or digit"),
  /** The study's git remote (URL or path) where candidates and the best travel. */
  remote: z.string().min(1),
  /** The environment variable holding the database password. */
  passwordEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default("PGPASSWORD"),
  /** The class of machine whose results are comparable (an H100's and a laptop's are not): default the slots' device kind. */
  deviceClass: z.string().regex(/^[A-Za-z0-9._-]+$/).optional(),
  /** How long a claim holds without a heartbeat; a dead worker's claims become claimable after it. */
  leaseSeconds: z.number().min(1).max(3600).default(60),
});

export const ledgerSchema = z.discriminatedUnion("kind", [z.strictObject({ kind: z.literal("sqlite") }), sharedLedgerSchema]);

export type SharedLedgerConfig = z.output<typeof sharedLedgerSchema>;

function hasPassword(url: string): boolean {
  try {
    return new URL(url).password !== "";
  } catch {
    return false;
  }
}

/** The URL to connect with: the configured one plus the password from its environment variable, if set. */
export function connectionUrl(config: Pick<SharedLedgerConfig, "url" | "passwordEnv">, env: NodeJS.ProcessEnv = process.env): string {
  const password = env[config.passwordEnv];
  if (!password) return config.url;
  const url = new URL(config.url);
  url.password = password;
  return url.toString();
}
