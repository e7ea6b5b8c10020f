// A full disk or a read-only directory for tests that run as root (where chmod stops nothing):
// a TypeScript module run by Node in a private mount namespace (`unshare -m`) where `dir` is
// a tiny tmpfs, or a read-only bind mount of itself. Nothing outside that process sees the mount.
import { spawnSync } from "node:child_process";

export type Mount = { kind: "tmpfs"; sizeKb: number } | { kind: "read-only" };

/** Whether this machine lets a test make a private mount namespace (root, unshare available). */
export function privateMountsWork(): boolean {
  const probe = spawnSync("unshare", ["-m", "sh", "-c", "mount -t tmpfs -o size=16k tmpfs /mnt 2>/dev/null || mount -t tmpfs -o size=16k tmpfs /tmp"], { stdio: "ignore" });
  return probe.status === 0;
}

/** Runs `node <script> ...args` with `dir` mounted as asked; returns its stdout, stderr and exit code. */
export function runWithMount(dir: string, mount: Mount, script: string, args: string[] = [], options: { timeoutMs?: number; env?: Record<string, string> } = {}) {
  const setup = mount.kind === "tmpfs"
    ? `mount -t tmpfs -o size=${mount.sizeKb}k tmpfs "$1"`
    : `mount --bind "$1" "$1" && mount -o remount,bind,ro "$1"`;
  const result = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", `${setup} && shift && exec "$@"`, "sh", dir, process.execPath, script, ...args], {
    encoding: "utf8",
    timeout: options.timeoutMs ?? 60_000,
    env: { ...process.env, ...options.env },
  });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}
