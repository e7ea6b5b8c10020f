// Applies a proposal's edits to the mutable files, in memory. Errors are precise because
// they are shown to the proposer (an LLM, later) so it can correct its edit.
import type { Edit } from "./types.ts";

export type ApplyEditsResult =
  | { ok: true; files: Record<string, string>; changed: string[] }
  | { ok: false; error: string };

const EXCERPT_CHARS = 80;

/**
 * Applies edits in order (a later edit sees the earlier ones' result). A search/replace edit
 * must match exactly once; a whole-file edit replaces the file or creates a new one.
 * `changed` lists the paths whose final content differs from the input, in edit order.
 */
export function applyEdits(files: Record<string, string>, edits: Edit[]): ApplyEditsResult {
  if (edits.length === 0) return { ok: false, error: "the proposal contains no edits; expected at least one edit to a mutable file" };
  const result: Record<string, string> = { ...files };
  const touched: string[] = [];
  for (const [index, edit] of edits.entries()) {
    const label = `edit ${index + 1} of ${edits.length}`;
    const pathProblem = checkPath(edit?.path);
    if (pathProblem) return { ok: false, error: `${label}: ${pathProblem}` };
    const path = edit.path;
    const where = `${label} (${path})`;
    if ("content" in edit && typeof edit.content === "string") {
      if ("search" in edit || "replace" in edit) {
        return { ok: false, error: `${where}: has both "content" and "search"/"replace"; expected either a whole-file "content" or a "search"/"replace" pair` };
      }
      result[path] = edit.content;
    } else if ("search" in edit && typeof edit.search === "string" && typeof edit.replace === "string") {
      const current = result[path];
      if (current === undefined) {
        return { ok: false, error: `${where}: no such file among the mutable files (${listPaths(result)}); to create a new file, give its whole "content" instead of "search"/"replace"` };
      }
      const replaced = replaceOnce(current, edit.search, edit.replace);
      if (typeof replaced !== "string") return { ok: false, error: `${where}: ${replaced.problem}` };
      result[path] = replaced;
    } else {
      return { ok: false, error: `${where}: expected either {"path", "content"} or {"path", "search", "replace"} with string values` };
    }
    if (!touched.includes(path)) touched.push(path);
  }
  const changed = touched.filter((path) => result[path] !== files[path]);
  return { ok: true, files: result, changed };
}

/** Why a path is unacceptable, or null. Paths are posix, relative to the project root. */
function checkPath(path: unknown): string | null {
  if (typeof path !== "string" || path.length === 0) return `"path" is missing; expected a file path relative to the project root`;
  if (path.startsWith("/") || path.startsWith("\\") || /^[A-Za-z]:/.test(path)) {
    return `path "${path}" is absolute; expected a path relative to the project root, like "src/model.ts"`;
  }
  const segments = path.split(/[\\/]/);
  if (segments.includes("..")) return `path "${path}" contains ".."; expected a path inside the project`;
  if (path.includes("\\")) return `path "${path}" uses backslashes; expected "/" as the separator`;
  if (segments.some((segment) => segment === "" || segment === ".")) {
    return `path "${path}" has an empty or "." segment; expected a plain relative path like "src/model.ts"`;
  }
  return null;
}

function replaceOnce(content: string, search: string, replace: string): string | { problem: string } {
  if (search.length === 0) return { problem: `"search" is empty; expected the exact text to replace, copied from the file` };
  const positions: number[] = [];
  for (let at = content.indexOf(search); at !== -1; at = content.indexOf(search, at + 1)) positions.push(at);
  if (positions.length === 1) {
    // Slicing instead of String.replace: "$&" and friends in `replace` must stay literal.
    const at = positions[0];
    return content.slice(0, at) + replace + content.slice(at + search.length);
  }
  if (positions.length === 0) return { problem: notFound(content, search) };
  const lines = positions.slice(0, 5).map((at) => lineOf(content, at));
  const more = positions.length > 5 ? ", ..." : "";
  return {
    problem:
      `"search" text ${excerpt(search)} matched ${positions.length} times (at lines ${lines.join(", ")}${more}); ` +
      `it must match exactly once: include more surrounding lines to make it unique`,
  };
}

function notFound(content: string, search: string): string {
  const base = `"search" text ${excerpt(search)} was not found`;
  // Point at the likely spot: most misses are whitespace or a stale copy of a line.
  const firstLine = search.split("\n").find((line) => line.trim().length > 0)?.trim();
  if (firstLine) {
    const lines = content.split("\n");
    const index = lines.findIndex((line) => line.includes(firstLine));
    if (index !== -1) {
      return `${base}; its first line appears at line ${index + 1} (${excerpt(lines[index].trim())}) but the text after it differs; copy the text exactly, including whitespace`;
    }
  }
  return `${base}; copy the text exactly from the current file, including whitespace`;
}

function lineOf(content: string, at: number): number {
  let line = 1;
  for (let index = content.indexOf("\n"); index !== -1 && index < at; index = content.indexOf("\n", index + 1)) line++;
  return line;
}

function excerpt(text: string): string {
  const shown = text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}...` : text;
  return JSON.stringify(shown);
}

function listPaths(files: Record<string, string>): string {
  const paths = Object.keys(files).sort();
  if (paths.length === 0) return "there are none";
  return paths.length > 10 ? `${paths.slice(0, 10).join(", ")}, ...` : paths.join(", ");
}
