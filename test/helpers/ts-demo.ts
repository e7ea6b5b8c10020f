// Running the ts-demo template's scripts directly (no engine): copies of the template in
// temporary directories, and a child-process runner that returns exit status and output.
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const TEMPLATE_DIR = join(REPO_ROOT, "templates", "ts-demo");

export interface ScriptResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A fresh directory under the OS temp dir; removed by the returned cleanup. */
export function tempDir(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `autoresearch-${prefix}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Copies every file of the template into `dir` (as `autoresearch init` does). */
export function copyTemplate(dir: string): void {
  cpSync(TEMPLATE_DIR, dir, { recursive: true });
}

/**
 * Runs `node <args...>` in `cwd` (the harness's way of running a template's scripts) with the given
 * extra environment, killing it after `timeoutMs` (a hung script then fails the test with its output
 * instead of stalling it).
 */
export function runNode(cwd: string, args: string[], env: Record<string, string>, timeoutMs = 300_000): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: { ...process.env, AUTORESEARCH_HOME: REPO_ROOT, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** `node <script>` in `cwd`, as the ts-demo config runs its commands. */
export function runScript(cwd: string, script: string, env: Record<string, string>, timeoutMs = 120_000): Promise<ScriptResult> {
  return runNode(cwd, [script], env, timeoutMs);
}

export interface EvaluationResult {
  scorer: ScriptResult;
  servers: ScriptResult[];
  /** The metrics file's JSON, or null when the scorer wrote none. */
  metrics: Record<string, unknown> | null;
}

/**
 * Evaluates as the harness does, without its sandbox: `replicas` model servers (`node serve.ts`, a clean
 * environment with only the trained model's directory), then the scorer (`node evaluate.ts`) holding the
 * servers' stdin and stdout as file descriptors 3, 4, 5, 6, ... (AUTORESEARCH_MODEL_SERVERS). The servers
 * get end-of-file when the scorer exits and its descriptors close.
 */
export async function runEvaluation(
  cwd: string,
  env: { dataDir: string; outputDir: string; metricsFile: string },
  replicas = 2,
  timeoutMs = 120_000,
): Promise<EvaluationResult> {
  const servers = Array.from({ length: replicas }, (_, replica) =>
    spawn(process.execPath, ["serve.ts"], {
      cwd,
      env: { AUTORESEARCH_OUTPUT_DIR: env.outputDir, AUTORESEARCH_PHASE: "serve", AUTORESEARCH_REPLICA: String(replica) },
      stdio: ["pipe", "pipe", "pipe"],
    }));
  const fds = servers.map((_, replica) => `${3 + 2 * replica},${4 + 2 * replica}`).join(" ");
  const scorer = spawn(process.execPath, ["evaluate.ts"], {
    cwd,
    env: {
      ...process.env,
      AUTORESEARCH_HOME: REPO_ROOT,
      AUTORESEARCH_DATA_DIR: env.dataDir,
      AUTORESEARCH_OUTPUT_DIR: env.outputDir,
      AUTORESEARCH_METRICS_FILE: env.metricsFile,
      AUTORESEARCH_MODEL_SERVERS: fds,
    },
    stdio: ["ignore", "pipe", "pipe", ...servers.flatMap((server) => [server.stdin, server.stdout])],
  });
  // In the same tick as the spawn, before this process reads a byte: only the scorer holds the pipes now.
  for (const server of servers) {
    server.stdin.destroy();
    server.stdout.destroy();
  }
  const timer = setTimeout(() => [scorer, ...servers].forEach((child) => child.kill("SIGKILL")), timeoutMs);
  const finished = (child: ReturnType<typeof spawn>, stdout: boolean): Promise<ScriptResult> =>
    new Promise((resolve, reject) => {
      let out = "";
      let err = "";
      if (stdout) child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
      child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
      child.on("error", reject);
      child.on("close", (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
    });
  const scorerDone = finished(scorer, true);
  const serversDone = servers.map((server) => finished(server, false));
  const scorerResult = await scorerDone;
  // The harness kills the servers once the scorer exits; an honest one has already seen end-of-file.
  const killer = setTimeout(() => servers.forEach((server) => server.kill("SIGKILL")), 10_000);
  const serverResults = await Promise.all(serversDone);
  clearTimeout(killer);
  clearTimeout(timer);
  const metrics = existsSync(env.metricsFile) ? (JSON.parse(readFileSync(env.metricsFile, "utf8")) as Record<string, unknown>) : null;
  return { scorer: scorerResult, servers: serverResults, metrics };
}
