// Where experiments ran (the ledger's ranOn), as the terminal views and the dashboard show it. Pure, no I/O.
import type { RanOn } from "../core/experiment.ts";

interface Placed {
  ranOn?: RanOn | null;
  /** The device the harness asked for: "cpu" or "cuda:N". */
  device: string;
}

/** "node7 · NVIDIA H100 80GB HBM3": the machine, and for a GPU run the GPU's model (else the device asked for); "—" when not known. */
export function formatRanOn(row: Placed): string {
  if (!row.ranOn) return "—";
  const host = row.ranOn.host ?? "unknown host";
  if (row.device === "cpu") return host;
  return `${host} · ${row.ranOn.deviceName ?? row.device}`;
}

/** Where it ran, or while that is not known (running, or recorded before the ledger kept it) the device it was given. */
export function placeOf(row: Placed): string {
  return row.ranOn ? formatRanOn(row) : row.device;
}

/** The scheduler's name for the job, when it ran on a cluster: "Slurm job 4242", "pod autoresearch-…-7". */
export function clusterJobOf(ranOn: RanOn | null | undefined): string | null {
  if (ranOn?.slurmJobId) return `Slurm job ${ranOn.slurmJobId}`;
  if (ranOn?.pod) return `pod ${ranOn.pod}`;
  return null;
}

/**
 * Whether a table of these experiments needs a column for where each ran: when they ran on more than one
 * machine, or on a cluster. A session that ran on this machine alone says so once, not on every row.
 */
export function ranOnColumnNeeded(rows: readonly Placed[]): boolean {
  const hosts = new Set(rows.filter((row) => row.ranOn).map((row) => row.ranOn!.host));
  return hosts.size > 1 || rows.some((row) => clusterJobOf(row.ranOn) !== null);
}

/** "node1 · NVIDIA H100 80GB HBM3 ×12, node2 · NVIDIA A100-SXM4-40GB ×3", most used first; null when none is known. */
export function ranOnSummary(rows: readonly Placed[]): string | null {
  const counts = new Map<string, number>();
  for (const row of rows) if (row.ranOn) counts.set(formatRanOn(row), (counts.get(formatRanOn(row)) ?? 0) + 1);
  if (counts.size === 0) return null;
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([place, count]) => `${place} ×${count}`).join(", ");
}
