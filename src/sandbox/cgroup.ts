// Limits on a whole phase (all its processes together): a control group per phase, where the harness
// may make one (root, or a delegated cgroup v2 tree). RLIMIT_NPROC does not bind a sandbox whose
// user maps to root outside, so the process limit needs a cgroup there; without one, the sandbox
// falls back to per-process rlimits (see bwrap.ts) and `doctor` says so.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = "/sys/fs/cgroup";

export interface PhaseCgroup {
  /** The cgroup.procs files the phase's first process writes its pid to. */
  procs: string[];
  /**
   * Whether no process is left in the cgroup. Every process the phase starts is born in it and cannot
   * leave (the sandbox sees /sys read-only), so an empty cgroup means the whole phase is gone; false
   * when unsure (a file that cannot be read).
   */
  empty(): boolean;
  remove(): void;
}

type Layout = { kind: "v2"; base: string } | { kind: "v1"; pids: string; memory: string | null } | null;

let layout: Layout | undefined;
let counter = 0;

function detect(): Layout {
  try {
    if (existsSync(join(ROOT, "cgroup.controllers"))) {
      const base = join(ROOT, "autoresearch");
      mkdirSync(base, { recursive: true });
      const enabled = readFileSync(join(ROOT, "cgroup.subtree_control"), "utf8");
      if (!enabled.includes("pids")) appendFileSync(join(ROOT, "cgroup.subtree_control"), "+pids");
      writeFileSync(join(base, "cgroup.subtree_control"), "+pids +memory");
      return { kind: "v2", base };
    }
    const pids = join(ROOT, "pids");
    if (existsSync(join(pids, "cgroup.procs"))) {
      const probe = join(pids, `autoresearch-probe-${process.pid}`);
      mkdirSync(probe, { recursive: true });
      rmdirSync(probe);
      const memory = existsSync(join(ROOT, "memory", "cgroup.procs")) ? join(ROOT, "memory") : null;
      return { kind: "v1", pids, memory };
    }
  } catch {
    // not ours to change: no cgroup limits
  }
  return null;
}

/** Which kind of whole-phase limits this machine gives the harness ("cgroup v1", "cgroup v2") or null. */
export function cgroupSupport(): string | null {
  layout ??= detect();
  return layout ? `cgroup ${layout.kind}` : null;
}

/** A fresh cgroup limiting processes (and memory, when given) for one phase; null where none can be made. */
export function createPhaseCgroup(limits: { maxProcesses: number; memoryMb?: number }): PhaseCgroup | null {
  layout ??= detect();
  if (!layout) return null;
  const name = `phase-${process.pid}-${++counter}`;
  const made: string[] = [];
  try {
    if (layout.kind === "v2") {
      const dir = join(layout.base, name);
      mkdirSync(dir);
      made.push(dir);
      writeFileSync(join(dir, "pids.max"), String(limits.maxProcesses));
      if (limits.memoryMb !== undefined) writeFileSync(join(dir, "memory.max"), String(limits.memoryMb * 1024 * 1024));
    } else {
      const pids = join(layout.pids, `autoresearch-${name}`);
      mkdirSync(pids);
      made.push(pids);
      writeFileSync(join(pids, "pids.max"), String(limits.maxProcesses));
      if (limits.memoryMb !== undefined && layout.memory) {
        const memory = join(layout.memory, `autoresearch-${name}`);
        mkdirSync(memory);
        made.push(memory);
        writeFileSync(join(memory, "memory.limit_in_bytes"), String(limits.memoryMb * 1024 * 1024));
      }
    }
  } catch {
    for (const dir of made.reverse()) tryRemove(dir);
    return null;
  }
  const procs = made.map((dir) => join(dir, "cgroup.procs"));
  return {
    procs,
    empty: () => {
      try {
        return procs.every((file) => readFileSync(file, "utf8").trim() === ""); // zombies are not listed
      } catch {
        return false;
      }
    },
    remove: () => {
      for (const dir of made.reverse()) tryRemove(dir);
    },
  };
}

function tryRemove(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // still has processes (they are being killed) or already gone
  }
}

/** Exit code of the wrapper when the phase could not join its cgroup (it then runs nothing). */
export const CGROUP_FAILED_EXIT = 96;

/**
 * Wraps a launch so that its first process joins the cgroup before it starts anything; `then` (shell code,
 * the caller's, never data) runs after joining and before the launch, in the same shell.
 */
export function launchInCgroup(launch: { file: string; args: string[] }, cgroup: PhaseCgroup, then = ""): { file: string; args: string[] } {
  const join = cgroup.procs.map((_, index) => `echo $$ > "$${index + 1}"`).join(" && ");
  return {
    file: "/bin/sh",
    args: ["-c", `${join} || exit ${CGROUP_FAILED_EXIT}; ${then ? `${then}; ` : ""}shift ${cgroup.procs.length}; exec "$@"`, "sh", ...cgroup.procs, launch.file, ...launch.args],
  };
}
