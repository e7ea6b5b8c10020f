// A candidate's patch and changed paths from what this process already holds — the parent's files in
// kept trees (objects.ts), the candidate's in the proposal — instead of one `git diff` process per
// experiment. The output is git's: the same headers, hunks with three lines of context and git's default
// function-name line, so `git apply` takes it and `show` prints what git would. Whatever this does not
// write exactly as git does (binary or non-UTF-8 text, empty files, modes other than 100644/100755, paths
// git would quote, very large files or edits, a file where a directory was) is left to `git diff`.
import { createHash } from "node:crypto";
import { structuredPatch } from "diff";
import { cachedEntryAt } from "./objects.ts";
import { diffWithChanges, type ChangedPath } from "./query.ts";

const ZERO_ABBREV = "0000000";
// Paths git prints as they are (no quoting, no trailing tab on the ---/+++ lines).
const PLAIN_PATH = /^[A-Za-z0-9._\-+@,=~][A-Za-z0-9._\-+@,=~/]*$/;
const MAX_FILE_CHARS = 256 * 1024;
// Beyond this many changed lines a file's diff is git's to compute (Myers' cost grows with the edit).
const MAX_EDIT_LENGTH = 2_000;
// xdiff's default function line: the nearest earlier line starting with a letter, '_' or '$', cut to 80 bytes.
const FUNCTION_LINE = /^[A-Za-z_$]/;
const FUNCTION_LINE_BYTES = 80;

/**
 * The patch from `parent` to `commit` and the paths it changes, where `commit` is `parent` with `files`
 * written in (git.commitFiles). Computed here when it can be, from `git diff` otherwise.
 */
export async function candidateDiff(repo: string, parent: string, commit: string, files: Record<string, string>): Promise<{ patch: string; changes: ChangedPath[] }> {
  return (await patchFromMemory(repo, parent, files)) ?? diffWithChanges(repo, parent, commit);
}

/** The patch and changes of writing `files` onto `parent`, or null when git must compute them. */
export async function patchFromMemory(repo: string, parent: string, files: Record<string, string>): Promise<{ patch: string; changes: ChangedPath[] } | null> {
  const paths = Object.keys(files).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const changes: ChangedPath[] = [];
  const parts: string[] = [];
  for (const path of paths) {
    const content = files[path]!;
    if (!PLAIN_PATH.test(path) || !isPlainText(content) || content === "") return null;
    const before = await cachedEntryAt(repo, parent, path);
    if (before === undefined) return null;
    if (before !== null && (!(before.mode === "100644" || before.mode === "100755") || !isPlainText(before.content) || before.content === "")) return null;
    if (before !== null && before.content === content) continue;
    const hunks = hunksOf(before?.content ?? "", content);
    if (hunks === null) return null;
    const newAbbrev = blobId(content).slice(0, 7);
    if (before === null) {
      changes.push({ status: "A", path });
      parts.push(`diff --git a/${path} b/${path}\nnew file mode 100644\nindex ${ZERO_ABBREV}..${newAbbrev}\n--- /dev/null\n+++ b/${path}\n${hunks}`);
    } else {
      changes.push({ status: "M", path });
      parts.push(`diff --git a/${path} b/${path}\nindex ${before.oid.slice(0, 7)}..${newAbbrev} ${before.mode}\n--- a/${path}\n+++ b/${path}\n${hunks}`);
    }
  }
  return { patch: parts.join(""), changes };
}

function isPlainText(text: string): boolean {
  return text.length <= MAX_FILE_CHARS && !text.includes("\0") && !text.includes("\uFFFD") && !text.includes("\r");
}

function blobId(content: string): string {
  const body = Buffer.from(content);
  return createHash("sha1").update(Buffer.concat([Buffer.from(`blob ${body.length}\0`), body])).digest("hex");
}

/** The hunks of a text change as git prints them, or null when the edit is too large to compute here. */
function hunksOf(before: string, after: string): string | null {
  const patch = structuredPatch("a", "b", before, after, "", "", { context: 3, maxEditLength: MAX_EDIT_LENGTH });
  if (patch === undefined) return null;
  const oldLines = before === "" ? [] : before.split("\n");
  let text = "";
  for (const hunk of patch.hunks) {
    // A new file's hunk starts at line 0 of nothing, as git prints it (both files are never empty here otherwise).
    const oldStart = before === "" ? 0 : hunk.oldStart;
    const header = `@@ -${range(oldStart, hunk.oldLines)} +${range(hunk.newStart, hunk.newLines)} @@${functionLine(oldLines, hunk.oldStart - 1)}`;
    text += `${header}\n${hunk.lines.join("\n")}\n`;
  }
  return text;
}

function range(start: number, count: number): string {
  return count === 1 ? String(start) : `${start},${count}`;
}

/** xdiff's default: the nearest line before the hunk's first (0-based `first`) that starts a function. */
function functionLine(lines: string[], first: number): string {
  for (let index = Math.min(first, lines.length) - 1; index >= 0; index -= 1) {
    const line = lines[index]!;
    if (!FUNCTION_LINE.test(line)) continue;
    const cut = Buffer.from(line).subarray(0, FUNCTION_LINE_BYTES).toString().replace(/\s+$/, "");
    return ` ${cut}`;
  }
  return "";
}
