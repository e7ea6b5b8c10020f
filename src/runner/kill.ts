// Finding and killing every process of a run: by process group, then by the
// marker variable in each process's environment (catches `setsid` escapees).
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";

const POLL_MS = 20;
const PROC = "/proc";

export interface Marker {
  name: string;
  value: string;
}

function hasProcfs(): boolean {
  try {
    readFileSync(`${PROC}/self/stat`);
    return true;
  } catch {
    return false;
  }
}

function listPids(): number[] {
  try {
    return readdirSync(PROC)
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number)
      .filter((pid) => pid !== process.pid);
  } catch {
    return [];
  }
}

/** State and process group from /proc/<pid>/stat, or null if the process is gone. */
function readStat(pid: number): { state: string; pgid: number } | null {
  try {
    const stat = readFileSync(`${PROC}/${pid}/stat`, "utf8");
    // The command name sits in parentheses and may itself contain spaces or ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0], pgid: Number(fields[2]) };
  } catch {
    return null;
  }
}

function send(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone, or not ours to signal: either way nothing more to do here.
  }
}

/** Live members of a process group. A zombie has already died; it only waits for a parent (or an init that may never come) to reap it. */
function groupMembers(pgid: number): number[] {
  if (!hasProcfs()) {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  return listPids().filter((pid) => {
    const stat = readStat(pid);
    return stat !== null && stat.pgid === pgid && stat.state !== "Z" && stat.state !== "X";
  });
}

/** Whether any process (a zombie included) is in the group: one kill(0), before reading all of /proc. */
function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH"; // EPERM: there is one, not ours
  }
}

function environHas(pid: number, entry: Buffer): boolean {
  let environ: Buffer;
  try {
    environ = readFileSync(`${PROC}/${pid}/environ`);
  } catch {
    return false; // gone, or another user's process
  }
  let start = 0;
  while (start < environ.length) {
    let end = environ.indexOf(0, start);
    if (end === -1) end = environ.length;
    if (end - start === entry.length && environ.subarray(start, end).equals(entry)) return true;
    start = end + 1;
  }
  return false;
}

function markerEntry(marker: Marker): Buffer {
  return Buffer.from(`${marker.name}=${marker.value}`);
}

/** Pids whose environment contains exactly `name=value`. Zombies have an empty environ and never match. */
export function findMarkedProcesses(marker: Marker): number[] {
  const entry = markerEntry(marker);
  return listPids().filter((pid) => environHas(pid, entry));
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) return false;
    await delay(POLL_MS);
  }
  return true;
}

/** SIGTERM the whole group, give it `graceMs`, then SIGKILL whatever is left; resolves once none is alive. */
export async function killProcessGroup(pgid: number, graceMs: number): Promise<void> {
  if (!groupExists(pgid) || groupMembers(pgid).length === 0) return;
  send(-pgid, "SIGTERM");
  if (await waitUntil(() => groupMembers(pgid).length === 0, graceMs)) return;
  send(-pgid, "SIGKILL");
  await waitUntil(() => groupMembers(pgid).length === 0, graceMs + 1000);
}

/**
 * Kills (SIGTERM, then SIGKILL after `graceMs`) every process whose environment has
 * `name=value`, and returns how many there were. Linux only (reads /proc); elsewhere 0.
 * A process that clears its own environment before exec cannot be found this way.
 */
export async function killMarkedProcesses(marker: Marker, options: { graceMs?: number } = {}): Promise<number> {
  const graceMs = options.graceMs ?? 2000;
  const entry = markerEntry(marker);
  // Re-checking the marker (not just the pid) before each signal means a recycled pid is never hit.
  const stillMarked = (pid: number) => environHas(pid, entry);
  const found = findMarkedProcesses(marker);
  if (found.length === 0) return 0;
  for (const pid of found) send(pid, "SIGTERM");
  if (!(await waitUntil(() => !found.some(stillMarked), graceMs))) {
    for (const pid of found.filter(stillMarked)) send(pid, "SIGKILL");
    await waitUntil(() => !found.some(stillMarked), 1000);
  }
  // Something marked may have forked while we waited; a second pass catches it.
  const late = findMarkedProcesses(marker).filter((pid) => !found.includes(pid));
  for (const pid of late) send(pid, "SIGKILL");
  if (late.length > 0) await waitUntil(() => !late.some(stillMarked), 1000);
  return found.length + late.length;
}
