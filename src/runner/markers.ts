// The environment variables that mark a session's processes, so that leftovers — even ones that
// left the process group with `setsid`, or were orphaned by a `kill -9` of the harness — are found
// through /proc and killed (kill.ts). The loop sets them for workload phases, the agent runner for agents.
import { createHash } from "node:crypto";

/** Set in every process of one experiment (or of the prepare step): "<session key>/<id>". */
export const MARKER_ENV = "AUTORESEARCH_RUN_MARKER";
/** Set in every process the session starts, so a resume can find leftovers of a killed harness. */
export const SESSION_MARKER_ENV = "AUTORESEARCH_SESSION_MARKER";

/** Identifies one session of one project in process markers (stable across runs, so a resume finds leftovers). */
export function sessionKey(projectDir: string, tag: string): string {
  return createHash("sha256").update(`${projectDir}\0${tag}`).digest("hex").slice(0, 16);
}
