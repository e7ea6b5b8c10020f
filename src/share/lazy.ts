// The shared study's part of `status` and `results`, loaded only for a project whose ledger is a shared one:
// for every other project those commands load no database client and no schema library (their start-up
// is measured: test/cli.test.ts, bench/cli-startup.ts).
import type { StudyOverview, StudyUnavailable } from "./overview.ts";

/** Whether a session's config names a shared (PostgreSQL) ledger; its fields are checked where it is used. */
export function isSharedLedgerConfig(ledger: unknown): boolean {
  return typeof ledger === "object" && ledger !== null && (ledger as { kind?: unknown }).kind === "postgres";
}

/** The study's overview for a shared ledger, or null (without loading anything) for a local one. */
export async function studyOverviewIfShared(ledger: unknown, options: { limit?: number } = {}): Promise<StudyOverview | StudyUnavailable | null> {
  if (!isSharedLedgerConfig(ledger)) return null;
  const { studyOverviewFor } = await import("./overview.ts");
  return studyOverviewFor(ledger, options);
}

/** The other workers' baseline runs of this worker's device class, which its σ pools; none outside a study. */
export async function pooledBaselinesIfShared(study: StudyOverview | StudyUnavailable | null, stateDir: string): Promise<number[][]> {
  if (study === null) return [];
  const [{ pooledElsewhere }, { savedWorkerId }] = await Promise.all([import("./overview.ts"), import("./worker.ts")]);
  return pooledElsewhere(study, savedWorkerId(stateDir));
}

export function isOverview(value: StudyOverview | StudyUnavailable | null): value is StudyOverview {
  return value !== null && "workers" in value;
}
