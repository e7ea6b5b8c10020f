// Evaluation split in two: the model servers (untrusted: they run the mutable code, each in its own
// sandbox) and the scorer (trusted: the protected evaluator, which never runs mutable code). Each
// server's stdin and stdout are named pipes in a private directory of the harness; the scorer opens
// their other ends as descriptors 3, 4, 5, 6, ... and learns which are which from
// AUTORESEARCH_MODEL_SERVERS ("3,4 5,6"). The servers share nothing but their pipes to the scorer.
// When the scorer exits, each server reads the end of its input; whatever they do, they are stopped.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ENV_MODEL_SERVERS } from "../project/contract.ts";
import { runCommand, type RunOutcome, type RunSpec } from "./process.ts";

/** Descriptors 3..8: the shell that opens them takes single digits. */
export const MAX_MODEL_SERVERS = 3;

export interface ServedEvaluation {
  scorer: RunSpec;
  servers: RunSpec[];
}

export interface ServedOutcome extends RunOutcome {
  /** How each server ended (normally `aborted`: stopped once the scorer was done, or exit 0 at end of input). */
  servers: RunOutcome[];
}

/** The AUTORESEARCH_MODEL_SERVERS value for `count` servers: fds from 3 up, a "write,read" pair each. */
export function modelServerFds(count: number): string {
  return Array.from({ length: count }, (_, index) => `${3 + 2 * index},${4 + 2 * index}`).join(" ");
}

export async function runServed(spec: ServedEvaluation): Promise<ServedOutcome> {
  if (spec.servers.length < 1 || spec.servers.length > MAX_MODEL_SERVERS) throw new Error(`1 to ${MAX_MODEL_SERVERS} model servers, not ${spec.servers.length}`);
  const dir = mkdtempSync(join(tmpdir(), "autoresearch-serve-"));
  const stopServers = new AbortController();
  const outer = spec.scorer.signal;
  const onAbort = () => stopServers.abort();
  outer?.addEventListener("abort", onAbort, { once: true });
  let servers: Promise<RunOutcome>[] = [];
  try {
    const fifos = spec.servers.map((_, index) => ({ requests: join(dir, `requests-${index}`), answers: join(dir, `answers-${index}`) }));
    execFileSync("mkfifo", ["-m", "600", ...fifos.flatMap((fifo) => [fifo.requests, fifo.answers])]);
    servers = spec.servers.map((server, index) => runCommand({
      ...server,
      signal: stopServers.signal,
      redirect: [{ fd: 0, path: fifos[index].requests, mode: "read" }, { fd: 1, path: fifos[index].answers, mode: "write" }],
    }));
    // A server that fails to start leaves the scorer waiting on its pipe; that stops the scorer too.
    const serverFailed = Promise.race(servers.map((outcome) => outcome.then(() => new Promise<never>(() => {}), (error: Error) => error)));
    const scorerStop = new AbortController();
    outer?.addEventListener("abort", () => scorerStop.abort(), { once: true });
    if (outer?.aborted) scorerStop.abort();
    let startError: Error | null = null;
    void serverFailed.then((error) => {
      startError = error;
      scorerStop.abort();
    });
    const scorer = await runCommand({
      ...spec.scorer,
      signal: scorerStop.signal,
      env: { ...spec.scorer.env, [ENV_MODEL_SERVERS]: modelServerFds(fifos.length) },
      redirect: fifos.flatMap((fifo, index) => [
        { fd: 3 + 2 * index, path: fifo.requests, mode: "write" as const },
        { fd: 4 + 2 * index, path: fifo.answers, mode: "read" as const },
      ]),
    });
    if (startError) throw startError;
    stopServers.abort();
    return { ...scorer, aborted: scorer.aborted && Boolean(outer?.aborted), servers: await Promise.all(servers) };
  } finally {
    stopServers.abort();
    outer?.removeEventListener("abort", onAbort);
    await Promise.allSettled(servers);
    rmSync(dir, { recursive: true, force: true });
  }
}
