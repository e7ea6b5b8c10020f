// The one process runner: every command the harness starts (prepare, train,
// evaluate, guards) goes through runCommand, so no process of a run outlives it.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, openSync, statSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import { StringDecoder } from "node:string_decoder";
import type { Readable } from "node:stream";
import { launchSandboxed, type Launch, type SandboxSpec } from "../sandbox/index.ts";
import { launchWithHidden } from "./isolation.ts";
import { killMarkedProcesses, killProcessGroup, type Marker } from "./kill.ts";
import { LineNormaliser } from "../text/lines.ts";
import { CappedLog } from "./log-cap.ts";

export { killMarkedProcesses } from "./kill.ts";

export interface RunSpec {
  /** Run as `/bin/sh -c <command>`. */
  command: string;
  cwd: string;
  /** The complete environment (the caller has already scrubbed it). */
  env: Record<string, string>;
  /** stdout and stderr are appended here line by line (directories are created). */
  logPath: string;
  /** Hard deadline: then SIGTERM to the process group, and SIGKILL `killGraceMs` later. */
  timeoutMs: number;
  killGraceMs: number;
  /** Abort runs the same kill sequence and is reported as `aborted`. */
  signal?: AbortSignal;
  /** An environment variable that marks every process of this run, to find ones that left the group. */
  marker?: Marker;
  /** Each normalised output line, for live log tails. */
  onLine?: (line: string) => void;
  /** Absolute paths of files the command must not be able to read (see isolation.ts; Linux only). */
  hide?: readonly string[];
  /** Run inside this sandbox (then `hide` is ignored: the sandbox leaves hidden files out). */
  sandbox?: SandboxSpec;
  /**
   * Files (named pipes, for a model server and its scorer) opened on these descriptors before the
   * command starts, in this order; a named pipe's open waits for the other side. Descriptors 0-9.
   */
  redirect?: { fd: number; path: string; mode: "read" | "write" }[];
}

export interface RunOutcome {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  /** From start to the exit of the main process (cleanup of stragglers not included). */
  wallMs: number;
}

// Output that never ends a line (a prompt, a progress bar) is written out after this long.
const PARTIAL_LINE_FLUSH_MS = 1000;
// Escaped processes that never got the marker can hold our pipes open forever; stop waiting after this.
const PIPE_CLOSE_WAIT_MS = 2000;
// setTimeout fires at once for delays above 2^31-1 ms.
const MAX_TIMER_MS = 2 ** 31 - 1;

function assertDirectory(cwd: string, command: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(cwd).isDirectory();
  } catch {
    // reported below
  }
  if (!isDirectory) {
    throw new Error(`cannot run "${command}": the working directory ${cwd} does not exist or is not a directory; create it or fix the path`);
  }
}

function openLog(logPath: string): WriteStream {
  try {
    mkdirSync(dirname(logPath), { recursive: true });
    return createWriteStream(logPath, { fd: openSync(logPath, "a") });
  } catch (error) {
    throw new Error(`cannot open the log file ${logPath}: ${(error as Error).message}; check the path and its permissions`);
  }
}

function closed(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.closed || stream.destroyed) resolve();
    else stream.once("close", () => resolve());
  });
}

function outputPipes(child: ChildProcess): Readable[] {
  return [child.stdout, child.stderr].filter((pipe): pipe is Readable => pipe !== null);
}

/** Opens spec.redirect's files in a shell that then becomes the command (paths are arguments, never parsed). */
function withRedirects(launch: { file: string; args: string[] }, redirect: NonNullable<RunSpec["redirect"]>): { file: string; args: string[] } {
  if (redirect.length === 0) return launch;
  const opens = redirect.map((entry, index) => {
    if (!Number.isInteger(entry.fd) || entry.fd < 0 || entry.fd > 9) throw new Error(`cannot redirect descriptor ${entry.fd}: only 0-9`);
    return `${entry.fd}${entry.mode === "read" ? "<" : ">"}"$${index + 1}"`;
  });
  const script = `exec ${opens.join(" ")} || exit 95; shift ${redirect.length}; exec "$@"`;
  return { file: "/bin/sh", args: ["-c", script, "sh", ...redirect.map((entry) => entry.path), launch.file, ...launch.args] };
}

async function waitForPipes(pipes: Readable[], timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([Promise.all(pipes.map(closed)), gaveUp]);
  clearTimeout(timer);
  for (const pipe of pipes) pipe.destroy();
}

/**
 * Runs a command to completion and reports how it ended as data: a non-zero exit,
 * a timeout or an abort are outcomes, not errors. Throws only if the command cannot
 * be started (missing working directory, unwritable log).
 */
export async function runCommand(spec: RunSpec): Promise<RunOutcome> {
  if (spec.signal?.aborted) return { exitCode: null, signal: null, timedOut: false, aborted: true, wallMs: 0 };
  assertDirectory(spec.cwd, spec.command);
  const log = openLog(spec.logPath);
  const env = spec.marker ? { ...spec.env, [spec.marker.name]: spec.marker.value } : spec.env;
  const startedAt = performance.now();

  const redirectFds = (spec.redirect ?? []).map((entry) => entry.fd);
  const launch: Launch = spec.sandbox
    ? launchSandboxed(spec.command, spec.sandbox, env, redirectFds)
    : { ...launchWithHidden(spec.command, spec.hide ?? []), allGone: () => false, cleanup: () => {} };
  const { file, args } = withRedirects(launch, spec.redirect ?? []);
  // The sandbox's hold (its info and block descriptors) are pipes above the redirects; the redirects' own
  // descriptors are opened by the shell withRedirects starts, so they are not set up here.
  const stdio: ("ignore" | "pipe")[] = ["ignore", "pipe", "pipe"];
  if (launch.hold) {
    while (stdio.length <= launch.hold.block) stdio.push("ignore");
    stdio[launch.hold.info] = "pipe";
    stdio[launch.hold.block] = "pipe";
  }
  const child = spawn(file, args, {
    cwd: spec.sandbox ? "/" : spec.cwd,
    env,
    detached: true, // own process group, so the whole tree can be signalled at once
    stdio,
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
  } catch (error) {
    log.end();
    launch.cleanup();
    throw new Error(`cannot start "${spec.command}" in ${spec.cwd}: ${(error as Error).message}`);
  }
  const pid = child.pid as number;
  child.on("error", () => {}); // later errors (a failed kill) are covered by the group and marker sweeps
  // A sandboxed phase's command waits until the phase is in its cgroup (sandbox/index.ts).
  const confined = launch.hold ? launch.hold.confine(child) : Promise.resolve();

  const output = attachOutput(outputPipes(child), log, spec.onLine);

  let timedOut = false;
  let aborted = false;
  let killing: Promise<void> | undefined;
  const kill = () => {
    killing ??= killProcessGroup(pid, spec.killGraceMs);
  };
  const timer = Number.isFinite(spec.timeoutMs)
    ? setTimeout(() => {
        if (!aborted) timedOut = true;
        kill();
      }, Math.max(0, Math.min(spec.timeoutMs, MAX_TIMER_MS)))
    : undefined;
  const onAbort = () => {
    if (!timedOut) aborted = true;
    kill();
  };
  spec.signal?.addEventListener("abort", onAbort, { once: true });
  if (spec.signal?.aborted) onAbort(); // aborted while the process was starting

  const exit = await exited;
  const wallMs = Math.round(performance.now() - startedAt);
  clearTimeout(timer);
  spec.signal?.removeEventListener("abort", onAbort);

  // The main process is gone; now make sure nothing it started is left behind. A sandboxed phase's
  // cgroup holds every process it started: when that is empty, searching /proc would find nothing.
  await killing;
  if (!launch.allGone()) {
    await killProcessGroup(pid, spec.killGraceMs);
    if (spec.marker) await killMarkedProcesses(spec.marker, { graceMs: spec.killGraceMs });
  }
  await confined;
  await waitForPipes(outputPipes(child), PIPE_CLOSE_WAIT_MS);
  await output.finish();
  launch.cleanup();

  return { exitCode: exit.code, signal: exit.signal, timedOut, aborted, wallMs };
}

/**
 * Wires stdout and stderr through their own line normalisers (so they never interleave mid-line) into the
 * log, capped to its head and tail (log-cap.ts); `onLine` still sees every line.
 */
function attachOutput(pipes: Readable[], log: WriteStream, onLine: ((line: string) => void) | undefined) {
  let lineListener = onLine;
  let waitingForDrain = false;
  const capped = new CappedLog(log);
  // A full disk or a vanished directory: stop writing, let the command finish, then report it (finish throws).
  let writeError: Error | undefined;
  log.on("error", (error) => {
    writeError ??= error;
    if (waitingForDrain) {
      waitingForDrain = false; // no "drain" comes after an error: let the output flow (it is dropped)
      for (const pipe of pipes) pipe.resume();
    }
  });

  const writeLine = (line: string) => {
    if (!writeError && !capped.write(line) && !waitingForDrain) {
      // The disk is slower than the process: hold the pipes rather than buffer without bound.
      waitingForDrain = true;
      for (const pipe of pipes) pipe.pause();
      log.once("drain", () => {
        waitingForDrain = false;
        for (const pipe of pipes) pipe.resume();
      });
    }
    if (lineListener) {
      try {
        lineListener(line);
      } catch (error) {
        lineListener = undefined; // a broken listener must not break the run (and leave orphans)
        process.emitWarning(`runCommand: onLine threw and was dropped: ${String(error)}`);
      }
    }
  };

  const normalisers = pipes.map((pipe) => {
    const decoder = new StringDecoder("utf8");
    const normaliser = new LineNormaliser(writeLine);
    pipe.on("data", (chunk: Buffer) => normaliser.push(decoder.write(chunk)));
    pipe.once("end", () => {
      normaliser.push(decoder.end());
      normaliser.flush();
    });
    return { normaliser, decoder };
  });

  const flushTimer = setInterval(() => {
    for (const { normaliser } of normalisers) normaliser.flushIfOlderThan(PARTIAL_LINE_FLUSH_MS);
  }, PARTIAL_LINE_FLUSH_MS / 4);
  flushTimer.unref();

  return {
    /** Writes out anything still pending and closes the log. */
    async finish(): Promise<void> {
      clearInterval(flushTimer);
      for (const { normaliser, decoder } of normalisers) {
        normaliser.push(decoder.end());
        normaliser.flush();
      }
      if (!writeError) await capped.end();
      else log.destroy();
      if (writeError) throw writeError;
    },
  };
}
