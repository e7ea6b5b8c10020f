// Running the ts-demo template's scripts directly (no engine): copies of the template in
// temporary directories, and a child-process runner that returns exit status and output.
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
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
