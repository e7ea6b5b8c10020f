// Checks a parsed proposal before it leaves the proposer: only mutable files, edits that apply,
// an actual change, and not the same code as an earlier proposal. Each problem is worded for the
// model, which gets it back to correct its answer.
import { createHash } from "node:crypto";
import { applyEdits } from "../edits.ts";
import type { Edit, HistoryEntry } from "../types.ts";

export interface CheckInput {
  /** The current best's mutable files. */
  files: Record<string, string>;
  edits: Edit[];
  /** Whether a path not among `files` may be created (it matches the mutable globs). */
  mayCreate: (path: string) => boolean;
  /** Read-only context files, named in the message when the model tries to edit one. */
  readOnly: string[];
  history: HistoryEntry[];
}

export type CheckResult =
  | { ok: true; edits: Edit[]; changed: string[]; filesHash: string; whitespaceRepairs: number }
  | { ok: false; kind: "scope" | "apply" | "noop" | "duplicate"; problem: string };

export function checkProposal(input: CheckInput): CheckResult {
  const { files, edits } = input;
  for (const [index, edit] of edits.entries()) {
    const readOnly = input.readOnly.includes(edit.path);
    if (edit.path in files || (!readOnly && "content" in edit && input.mayCreate(edit.path))) continue;
    const why = readOnly ? "it is a read-only context file" : "it is not one of the mutable files";
    return { ok: false, kind: "scope", problem: `edit ${index + 1} of ${edits.length} changes "${edit.path}", but ${why}; you may change only: ${Object.keys(files).sort().join(", ")}` };
  }
  // Apply one edit at a time, so a search text that differs from the file only in trailing
  // whitespace can be matched to the file's own text before the whole set is applied.
  let running = files;
  const resolved: Edit[] = [];
  let whitespaceRepairs = 0;
  for (const [index, edit] of edits.entries()) {
    let attempt = applyEdits(running, [edit]);
    if (!attempt.ok && "search" in edit) {
      const exact = uniqueLooseMatch(running[edit.path] ?? "", edit.search);
      if (exact !== null) {
        const repaired = { ...edit, search: exact };
        const retry = applyEdits(running, [repaired]);
        if (retry.ok) {
          attempt = retry;
          resolved.push(repaired);
          whitespaceRepairs += 1;
          running = retry.files;
          continue;
        }
      }
    }
    if (!attempt.ok) return { ok: false, kind: "apply", problem: attempt.error.replace(/^edit 1 of 1/, `edit ${index + 1} of ${edits.length}`) };
    resolved.push(edit);
    running = attempt.files;
  }
  const applied = applyEdits(files, resolved);
  if (!applied.ok) return { ok: false, kind: "apply", problem: applied.error };
  const changed = applied.changed.filter((path) => normalize(applied.files[path]!) !== normalize(files[path] ?? ""));
  if (changed.length === 0) {
    return { ok: false, kind: "noop", problem: `the edits leave every file as it is (ignoring whitespace); propose a change that alters the code` };
  }
  const filesHash = hashFiles(applied.files);
  const earlier = input.history.find((entry) => (entry.meta as { filesHash?: unknown } | null)?.filesHash === filesHash);
  if (earlier) {
    const outcome = earlier.status === "queued" || earlier.status === "running" ? earlier.status : `${earlier.status}${earlier.decision ? `, ${earlier.decision}` : ""}`;
    return { ok: false, kind: "duplicate", problem: `the result is the same code as experiment ${describeId(earlier.id)} ("${earlier.description}", ${outcome}); propose a different idea` };
  }
  return { ok: true, edits: resolved, changed, filesHash, whitespaceRepairs };
}

/** A digest of the files ignoring line endings and trailing whitespace: equal code, equal hash. */
export function hashFiles(files: Record<string, string>): string {
  const hash = createHash("sha256");
  for (const path of Object.keys(files).sort()) hash.update(`${path}\0${normalize(files[path]!)}\0`);
  return hash.digest("hex").slice(0, 16);
}

function normalize(content: string): string {
  return content.replace(/\r\n?/g, "\n").split("\n").map((line) => line.trimEnd()).join("\n").trimEnd();
}

/** The file's own text for `search` when exactly one place matches it line by line, ignoring trailing whitespace. */
function uniqueLooseMatch(content: string, search: string): string | null {
  const wanted = search.replace(/\r\n?/g, "\n").split("\n").map((line) => line.trimEnd());
  while (wanted.length > 0 && wanted.at(-1) === "") wanted.pop();
  if (wanted.length === 0) return null;
  const lines = content.split("\n");
  const starts: number[] = [];
  for (let start = 0; start + wanted.length <= lines.length; start++) {
    if (wanted.every((line, offset) => lines[start + offset]!.trimEnd() === line)) starts.push(start);
  }
  if (starts.length !== 1) return null;
  return lines.slice(starts[0], starts[0]! + wanted.length).join("\n");
}

function describeId(id: number): string {
  return id > 0 ? `#${id}` : "(queued, not run yet)";
}
