// The sandbox, as the runner uses it: a launch (bwrap inside a per-phase cgroup where one can be
// made) and a probe that says whether this machine can make one at all.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPhaseCgroup, launchInCgroup } from "./cgroup.ts";
import { sandboxLaunch, shellLimits, type SandboxSpec } from "./bwrap.ts";

export { gpuDeviceNodes, interpreterPaths, type SandboxLimits, type SandboxSpec } from "./bwrap.ts";
export { cgroupSupport } from "./cgroup.ts";

export interface Launch {
  file: string;
  args: string[];
  /**
   * True when the launch can vouch that none of the phase's processes is left (its cgroup is empty), so
   * the runner need not search /proc for stragglers; false when it cannot tell.
   */
  allGone(): boolean;
  /** Removes what the launch made (the cgroup); call after every process of the phase is gone. */
  cleanup(): void;
}

export function launchSandboxed(command: string, spec: SandboxSpec, env: Record<string, string>): Launch {
  const cgroup = createPhaseCgroup(spec.limits);
  if (!cgroup) return { ...sandboxLaunch(command, spec, env), allGone: () => false, cleanup: () => {} };
  // The shell that joins the cgroup sets the per-process limits too, so no prlimit starts inside.
  const launch = sandboxLaunch(command, spec, env, { limitsSetOutside: true });
  return { ...launchInCgroup(launch, cgroup, shellLimits(spec.limits)), allGone: () => cgroup.empty(), cleanup: () => removeLater(cgroup.remove) };
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
