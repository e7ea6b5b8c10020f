// Limits on a whole phase (all its processes together): a control group per phase, where the harness
// may make one (root, or a delegated cgroup v2 tree). RLIMIT_NPROC does not bind a sandbox whose
// user maps to root outside, so the process limit needs a cgroup there; without one, the sandbox
// falls back to per-process rlimits (see bwrap.ts) and `doctor` says so.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = "/sys/fs/cgroup";

export interface PhaseCgroup {
  /** Moves a process (and what it starts from then on) into the cgroup; throws when it cannot. */
  join(pid: number): void;
  /**
   * Shell code for a process of the phase: it ends the shell with CGROUP_FAILED_EXIT unless this process is
   * in every one of the phase's cgroups (as /proc/self/cgroup says), so nothing runs outside them.
   */
  membershipCheck(): string;
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
  // What /proc/self/cgroup shows for each hierarchy joined: v2's one line ("0::<path>"), v1's line per controller.
  const lines: string[] = [];
  try {
    if (layout.kind === "v2") {
      const dir = join(layout.base, name);
      mkdirSync(dir);
      made.push(dir);
      writeFileSync(join(dir, "pids.max"), String(limits.maxProcesses));
      if (limits.memoryMb !== undefined) writeFileSync(join(dir, "memory.max"), String(limits.memoryMb * 1024 * 1024));
      lines.push(`0::*/${name}`);
    } else {
      const pids = join(layout.pids, `autoresearch-${name}`);
      mkdirSync(pids);
      made.push(pids);
      writeFileSync(join(pids, "pids.max"), String(limits.maxProcesses));
      lines.push(`*[:,]pids[:,]*/autoresearch-${name}`);
      if (limits.memoryMb !== undefined && layout.memory) {
        const memory = join(layout.memory, `autoresearch-${name}`);
        mkdirSync(memory);
        made.push(memory);
        writeFileSync(join(memory, "memory.limit_in_bytes"), String(limits.memoryMb * 1024 * 1024));
        lines.push(`*[:,]memory[:,]*/autoresearch-${name}`);
      }
    }
  } catch {
    for (const dir of made.reverse()) tryRemove(dir);
    return null;
  }
  const procs = made.map((dir) => join(dir, "cgroup.procs"));
  return {
    join: (pid) => {
      for (const file of procs) writeFileSync(file, `${pid}\n`);
    },
    membershipCheck: () => membershipCheck(lines),
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

/** Exit code of a phase that found itself outside its cgroup (it then runs nothing). */
export const CGROUP_FAILED_EXIT = 96;

/**
 * Shell code that reads /proc/self/cgroup with builtins only (no process starts) and exits with
 * CGROUP_FAILED_EXIT unless every pattern matches one of its lines. The patterns are the harness's own
 * (a controller and a cgroup name it made), never data.
 */
export function membershipCheck(patterns: readonly string[]): string {
  const flags = patterns.map((_, index) => `__ar_cg${index}`);
  const cases = patterns.map((pattern, index) => `case $__ar_line in ${pattern}) ${flags[index]}=1;; esac`).join("; ");
  const all = flags.map((flag) => `"$${flag}"`).join("");
  return [
    `${flags.map((flag) => `${flag}=`).join(" ")}`,
    `while IFS= read -r __ar_line; do ${cases}; done < /proc/self/cgroup`,
    `[ "${all}" = "${"1".repeat(patterns.length)}" ] || { echo "autoresearch: this phase is not in its cgroup; nothing ran" >&2; exit ${CGROUP_FAILED_EXIT}; }`,
    `unset __ar_line ${flags.join(" ")}`,
  ].join("\n");
}
