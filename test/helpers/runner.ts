// Helpers for process-runner tests: temp dirs and an independent look at /proc.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";

export function makeTempDir(prefix = "autoresearch-runner-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A marker no other test (or run) shares. */
export function uniqueMarker(): { name: string; value: string } {
  return { name: "AUTORESEARCH_TEST_MARKER", value: `${process.pid}-${Math.random().toString(36).slice(2)}` };
}

/** "alive", "zombie" (dead, waiting to be reaped) or "gone", read straight from /proc. */
export function processState(pid: number): "alive" | "zombie" | "gone" {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return "gone";
  }
  const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  return state === "Z" || state === "X" ? "zombie" : "alive";
}

export function isAlive(pid: number): boolean {
  return processState(pid) === "alive";
}

/** Live pids whose environment holds `name=value`. */
export function pidsWithMarker(marker: { name: string; value: string }): number[] {
  const wanted = `${marker.name}=${marker.value}`;
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (environ.includes(wanted)) pids.push(Number(entry));
    } catch {
      // exited meanwhile, or not ours
    }
  }
  return pids;
}

/** Polls `condition` until it holds or the deadline passes; returns whether it held. */
export async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await delay(20);
  }
  return true;
}
