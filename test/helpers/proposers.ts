// Builders for proposer tests: contexts and history entries as the loop would hand them over.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HistoryEntry, ProposalContext } from "../../src/proposers/types.ts";

export function makeContext(files: Record<string, string>, history: HistoryEntry[] = [], direction: "min" | "max" = "min"): ProposalContext {
  return {
    program: "Tune the model.",
    files,
    best: { commit: "c0ffee", metric: 1 },
    metric: { name: "loss", direction },
    history,
    noiseSigma: null,
  };
}

let nextId = 1;

export function makeEntry(fields: Partial<HistoryEntry>): HistoryEntry {
  return {
    id: nextId++,
    kind: "candidate",
    parentCommit: "c0ffee",
    candidateCommit: "beef",
    proposer: "search",
    description: "",
    hypothesis: "",
    status: "ok",
    decision: "discard",
    metric: 1,
    delta: 0.1,
    meta: null,
    ...fields,
  };
}

/** A fresh temp dir, removed by the returned cleanup. */
export function makeTempDir(prefix = "autoresearch-proposers-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const neverAborted = new AbortController().signal;
