// The project's split secret: 32 random bytes drawn once per project, kept in
// .autoresearch/split-secret (mode 0600) and handed to the prepare command only, which keys the
// train/validation/test assignment with it. Without it, the held-out rows cannot be rebuilt from
// the public source the data came from. Only its fingerprint is ever written anywhere else.
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { UserError } from "../errors.ts";

export interface SplitSecret {
  /** 64 lowercase hex digits; goes into the prepare command's environment and nowhere else. */
  value: string;
  /** A hash of the secret (not the secret): what the prepared-data manifest records, to notice a new secret. */
  fingerprint: string;
}

const SECRET_PATTERN = /^[0-9a-f]{64}$/;

/** Reads the project's split secret, drawing and storing it the first time. */
export function projectSplitSecret(path: string): SplitSecret {
  let value = readSecret(path);
  if (value === null) {
    mkdirSync(dirname(path), { recursive: true });
    try {
      // "wx": two sessions of one project starting at once keep whichever secret was written first.
      writeFileSync(path, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    value = readSecret(path)!;
  }
  if (!SECRET_PATTERN.test(value)) {
    throw new UserError(`${path} does not hold a split secret (expected 64 hex digits)`, {
      hint: "Delete the file: the next run draws a new secret and prepares the data again (scores from before are then not comparable).",
    });
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  return { value, fingerprint: splitSecretFingerprint(value) };
}

export function splitSecretFingerprint(value: string): string {
  return createHash("sha256").update(`autoresearch split secret\0${value}`).digest("hex");
}

function readSecret(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}
