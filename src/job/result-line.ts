// A job's result as the last line of its output, for executors that only get the job's log back (a
// Kubernetes pod's). The workload writes to the same log, so the line carries a token the harness made
// for this submission and handed only to `autoresearch job` (the phases' environments are the spec's,
// never the job process's own); and only the log's last line counts, which the job writes after every
// phase's processes are gone.
import type { JobResult } from "./spec.ts";

/** The variable that hands `autoresearch job --print-result` the token of its result line. */
export const RESULT_TOKEN_ENV = "AUTORESEARCH_RESULT_TOKEN";
export const RESULT_LINE_PREFIX = "AUTORESEARCH_RESULT";

export function formatResultLine(result: JobResult, token: string): string {
  return `${RESULT_LINE_PREFIX} ${token} ${JSON.stringify(result)}`;
}

const STATUSES = new Set(["ok", "crash", "timeout", "no_metric", "invalid", "rejected", "interrupted"]);

/**
 * The result from a job's log: its last non-empty line, if that is a result line with this token for this
 * experiment; else null (the job died before it could write one, or a line only looks like one).
 */
export function readResultLine(log: string, token: string, experimentId: number): JobResult | null {
  const lines = log.split("\n");
  let last = "";
  for (let index = lines.length - 1; index >= 0; index -= 1) {
    const line = lines[index]!.replace(/\r$/, "");
    if (line.trim() !== "") {
      last = line;
      break;
    }
  }
  const prefix = `${RESULT_LINE_PREFIX} ${token} `;
  if (token === "" || !last.startsWith(prefix)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(last.slice(prefix.length));
  } catch {
    return null;
  }
  const result = parsed as Partial<JobResult> | null;
  if (!result || typeof result !== "object" || result.experimentId !== experimentId || !STATUSES.has(String(result.status))) return null;
  if (result.metric !== null && typeof result.metric !== "number") return null;
  return result as JobResult;
}

/** The log without the job's result line (what the experiment's log keeps; the token is not shown anywhere). */
export function withoutResultLine(log: string, token: string): string {
  return log.split("\n").filter((line) => !line.startsWith(`${RESULT_LINE_PREFIX} ${token} `)).join("\n");
}
