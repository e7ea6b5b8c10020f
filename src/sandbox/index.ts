// The sandbox, as the runner uses it: a launch (bwrap inside a per-phase cgroup where one can be
// made) and a probe that says whether this machine can make one at all.
import { execFile, type ChildProcess } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPhaseCgroup, type PhaseCgroup } from "./cgroup.ts";
import { sandboxLaunch, shellLimits, type SandboxSpec } from "./bwrap.ts";

export { gpuDeviceNodes, interpreterPaths, type SandboxLimits, type SandboxSpec } from "./bwrap.ts";
export { cgroupSupport } from "./cgroup.ts";

export interface Launch {
  file: string;
  args: string[];
  /**
   * Descriptors beyond stdio the launch needs, each a pipe to the harness; with them, `confine` must be called
   * once the process is spawned (it lets the phase's command start once the phase is in its cgroup).
   */
  hold?: { info: number; block: number; confine(child: ChildProcess): Promise<void> };
  /**
   * True when the launch can vouch that none of the phase's processes is left (its cgroup is empty), so
   * the runner need not search /proc for stragglers; false when it cannot tell.
   */
  allGone(): boolean;
  /** Removes what the launch made (the cgroup); call after every process of the phase is gone. */
  cleanup(): void;
}

/**
 * A sandboxed phase. Where a cgroup can be made, bwrap is started directly and holds the sandbox's first
 * process until the harness has moved it into the cgroup (`hold.confine`); inside, before the command, a
 * prelude checks that the process is in the cgroup (so a hold released any other way runs nothing) and sets
 * the per-process limits. Where none can be made, bwrap runs the command under prlimit. `usedFds` are
 * descriptors the caller opens itself (redirects): the hold's are above them.
 */
export function launchSandboxed(command: string, spec: SandboxSpec, env: Record<string, string>, usedFds: readonly number[] = []): Launch {
  const cgroup = createPhaseCgroup(spec.limits);
  if (!cgroup) return { ...sandboxLaunch(command, spec, env), allGone: () => false, cleanup: () => {} };
  const info = Math.max(2, ...usedFds) + 1;
  const block = info + 1;
  const prelude = `${cgroup.membershipCheck()}\n${shellLimits(spec.limits)}`;
  return {
    ...sandboxLaunch(command, spec, env, { prelude, holdFds: { info, block } }),
    hold: { info, block, confine: (child) => confine(child, cgroup, info, block) },
    allGone: () => cgroup.empty(),
    cleanup: () => removeLater(cgroup.remove),
  };
}

/**
 * Reads the sandbox's first process from bwrap's info descriptor, moves it into the cgroup, and only then
 * releases it. On any failure the hold is released without moving it: the prelude then ends the phase.
 */
async function confine(child: ChildProcess, cgroup: PhaseCgroup, infoFd: number, blockFd: number): Promise<void> {
  const info = child.stdio[infoFd] as Readable | null | undefined;
  const block = child.stdio[blockFd] as Writable | null | undefined;
  let text = "";
  if (info) {
    info.setEncoding("utf8");
    await new Promise<void>((resolve) => {
      info.on("data", (chunk: string) => {
        text += chunk;
      });
      info.once("end", () => resolve());
      info.once("close", () => resolve());
      info.once("error", () => resolve());
    });
  }
  const pid = /"child-pid"\s*:\s*(\d+)/.exec(text)?.[1];
  let joined = false;
  if (pid !== undefined) {
    try {
      cgroup.join(Number(pid));
      joined = true;
    } catch {
      // released below without a byte: the prelude finds the phase outside its cgroup and stops it
    }
  }
  if (!block) return;
  await new Promise<void>((resolve) => {
    block.once("error", () => resolve()); // bwrap gone already (it failed, or was killed): nothing to release
    if (joined) block.end("1", () => resolve());
    else block.end(() => resolve());
  });
}

/** A cgroup whose processes were just killed may take a moment to empty. */
function removeLater(remove: () => void): void {
  remove();
  const timer = setTimeout(remove, 2000);
  timer.unref();
}

let probed: Promise<string | null> | undefined;

/** null when this machine can run a sandboxed phase, else why not (tried for real, once per process). */
export function sandboxProblem(): Promise<string | null> {
  probed ??= probe();
  return probed;
}

async function probe(): Promise<string | null> {
  if (process.platform !== "linux") return `the sandbox needs Linux namespaces; this is ${process.platform}`;
  const dir = mkdtempSync(join(tmpdir(), "autoresearch-probe-"));
  try {
    const secret = join(dir, "secret");
    const out = join(dir, "out");
    writeFileSync(secret, "visible");
    mkdirSync(out);
    const { file, args } = sandboxLaunch(`test ! -e '${secret}' && echo ok > '${out}/probe'`, {
      cwd: out, readOnly: [], writable: [out], network: false, devices: [],
      limits: { tmpMb: 16, maxFileMb: 16, maxProcesses: 64 },
    }, { PATH: "/usr/bin:/bin" });
    const result = await new Promise<{ code: number | string | null; stderr: string }>((resolve) => {
      execFile(file, args, { timeout: 20_000 }, (error, _stdout, stderr) => resolve({ code: error ? (error.code ?? null) : 0, stderr }));
    });
    if (result.code === "ENOENT") return "bubblewrap (bwrap) is not installed: apt-get install bubblewrap (Debian/Ubuntu), dnf install bubblewrap (Fedora)";
    if (result.code !== 0) {
      const first = (result.stderr.trim() || `exit ${result.code}`).split("\n")[0];
      return `bwrap could not make a sandbox: ${first} (unprivileged user namespaces may be disabled: sysctl kernel.unprivileged_userns_clone=1, or on Ubuntu 24.04+ the AppArmor rule for bwrap)`;
    }
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
