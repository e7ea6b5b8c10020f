// Runs one agent invocation through the one process runner: its own process group, a time limit,
// an allow-listed environment (the harmless defaults and what the config names), and a log file. Its files
// (prompt, stdout, final message, log) stay under .autoresearch/agents/<run>/ for inspection.
import { randomUUID } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scrubEnvironment } from "../../guard/env.ts";
import { projectPaths } from "../../project/paths.ts";
import { MARKER_ENV, SESSION_MARKER_ENV, sessionKey } from "../../runner/markers.ts";
import { runCommand } from "../../runner/process.ts";
import { readLogTail } from "../../text/log-tail.ts";
import type { AgentFiles, AgentSpec } from "./clis.ts";

/** Set for the agent: where its prompt is (it is also on stdin), and where it may write its final message. */
export const ENV_PROMPT_FILE = "AUTORESEARCH_PROMPT_FILE";
export const ENV_MESSAGE_FILE = "AUTORESEARCH_MESSAGE_FILE";

const KILL_GRACE_MS = 5000;

export interface AgentRunSpec {
  spec: AgentSpec;
  projectDir: string;
  worktree: string;
  prompt: string;
  timeoutSeconds: number;
  /** Variables the agent needs besides the harmless defaults, e.g. its API key (config proposer.passEnv). */
  passEnv: string[];
  /** The session's tag: marks the agent's processes so a resume after a crash kills leftovers. */
  tag: string | undefined;
  signal: AbortSignal;
}

export interface AgentRunResult {
  exitCode: number | null;
  timedOut: boolean;
  aborted: boolean;
  stdout: string;
  /** What the agent wrote to its message file, if anything. */
  message: string | null;
  logPath: string;
  files: AgentFiles;
}

export async function runAgent(run: AgentRunSpec): Promise<AgentRunResult> {
  const runId = `${new Date().toISOString().replace(/[:.]/g, "-")}-${run.spec.name}-${randomUUID().slice(0, 6)}`;
  const runDir = join(projectPaths(run.projectDir).stateDir, "agents", runId);
  mkdirSync(runDir, { recursive: true });
  const files: AgentFiles = { promptFile: join(runDir, "prompt.md"), stdoutFile: join(runDir, "stdout.txt"), messageFile: join(runDir, "message.txt") };
  const logPath = join(runDir, "agent.log");
  writeFileSync(files.promptFile, run.prompt);
  const commandLine = run.spec.commandLine(files);
  writeFileSync(logPath, `--- ${run.spec.name}: ${commandLine}\n`);

  const env = scrubEnvironment(process.env, { pass: run.passEnv }).env;
  env[ENV_PROMPT_FILE] = files.promptFile;
  env[ENV_MESSAGE_FILE] = files.messageFile;
  const key = run.tag ? sessionKey(run.projectDir, run.tag) : "no-session";
  if (run.tag) env[SESSION_MARKER_ENV] = key;
  const outcome = await runCommand({
    command: commandLine, cwd: run.worktree, env, logPath,
    timeoutMs: run.timeoutSeconds * 1000, killGraceMs: KILL_GRACE_MS, signal: run.signal,
    marker: { name: MARKER_ENV, value: `${key}/agent-${runId}` },
  });
  const stdout = existsSync(files.stdoutFile) ? readFileSync(files.stdoutFile, "utf8") : "";
  if (stdout) appendFileSync(logPath, `--- stdout\n${stdout.endsWith("\n") ? stdout : `${stdout}\n`}`);
  const message = existsSync(files.messageFile) ? readFileSync(files.messageFile, "utf8") : null;
  return { exitCode: outcome.exitCode, timedOut: outcome.timedOut, aborted: outcome.aborted, stdout, message: message?.trim() ? message : null, logPath, files };
}

/** Why a finished run cannot be used, as one line a user can act on; null if it exited 0. */
export function runFailure(run: AgentRunResult, spec: AgentSpec, timeoutSeconds: number): string | null {
  if (run.aborted) return `${spec.label} was interrupted (the harness was stopped)`;
  if (run.timedOut) return `${spec.label} ran past its time limit of ${timeoutSeconds}s and was killed (log: ${run.logPath}); raise proposer.timeoutSeconds if it needs longer`;
  if (run.exitCode === 0) return null;
  const tail = readLogTail(run.logPath, { maxLines: 5, maxBytes: 2048 }).replace(/\s*\n\s*/g, " | ").slice(-400);
  const missing = run.exitCode === 127 ? ` (command not found? ${spec.installHint})` : "";
  const how = run.exitCode === null ? "was killed by a signal" : `exited with code ${run.exitCode}`;
  return `${spec.label} ${how}${missing}: ${tail} (log: ${run.logPath})`;
}
