// The edit protocol: how the model answers, and a forgiving parser for what models actually write
// (markdown bold labels, code fences around blocks, CRLF, 5 to 9 marker characters). Problems
// are described precisely, because the description is sent back to the model to fix.
import type { Edit } from "../types.ts";

export const PROTOCOL = `Answer in exactly this format:

DESCRIPTION: <one line, under 100 characters: what this change does>
HYPOTHESIS: <one or two sentences: why it should improve the metric>
INSIGHT: #<id> <optional, one line: what the latest finished experiment taught you>

Then one or more edit blocks. To change part of a file, copy the lines to change exactly (the
SEARCH text must appear exactly once in the current file) and give their replacement:

<<<<<<< SEARCH path/to/file
the exact current lines
=======
the new lines
>>>>>>> REPLACE

To replace a whole file (best for small files):

<<<<<<< FILE path/to/file
the complete new content
>>>>>>> END

Change only the mutable files. Make one focused change per answer.`;

export interface ParsedAnswer {
  description: string;
  hypothesis: string;
  /** About which experiment (null: the latest finished one) and what it taught. */
  insight: { experiment: number | null; text: string } | null;
  edits: Edit[];
}

export type ParseResult = { ok: true; answer: ParsedAnswer } | { ok: false; problem: string };

const LABEL = /^[\s>*_#-]*(description|hypothesis|insight)[\s*_]*(?:\(([^)]*)\))?[\s*_]*:[\s*_]*(.*)$/i;
const OPENER = /^\s*<{5,9}\s*(SEARCH|FILE)\b[\s:]*(.*?)\s*$/i;
const DIVIDER = /^\s*={5,9}\s*$/;
const CLOSER = /^\s*>{5,9}\s*(REPLACE|END|FILE)?\s*$/i;
const FENCE = /^\s*(`{3,}|~{3,})/;
const DESCRIPTION_MAX = 200;

export function parseAnswer(text: string): ParseResult {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const problems: string[] = [];
  const labels: Record<string, string> = {};
  const edits: Edit[] = [];
  let blockNumber = 0;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const opener = OPENER.exec(line);
    if (opener) {
      blockNumber += 1;
      const block = readBlock(lines, index, opener[1]!.toUpperCase() as "SEARCH" | "FILE", opener[2]!, blockNumber);
      if ("problem" in block) {
        problems.push(block.problem);
        break; // after a broken block the rest is unreliable
      }
      edits.push(block.edit);
      index = block.end;
      continue;
    }
    const label = LABEL.exec(line);
    if (label) {
      const key = label[1]!.toLowerCase();
      if (labels[key] !== undefined) continue; // the first one counts
      const parts = [`${label[2] ? `${label[2]} ` : ""}${label[3]!}`.trim()];
      // Hypotheses may run over several lines; a blank line, another label or a block ends them.
      while (key !== "description" && index + 1 < lines.length && lines[index + 1]!.trim() !== "" && !LABEL.test(lines[index + 1]!) && !OPENER.test(lines[index + 1]!) && !FENCE.test(lines[index + 1]!)) {
        parts.push(lines[++index]!.trim());
      }
      labels[key] = parts.join(" ").replace(/\*\*/g, "").trim();
    }
  }
  if (!labels.description) problems.unshift(`the "DESCRIPTION: ..." line is missing; start the answer with it`);
  if (edits.length === 0 && problems.length === 0) {
    problems.push(`no edit blocks found; give at least one "<<<<<<< SEARCH path" or "<<<<<<< FILE path" block as the format shows`);
  }
  if (problems.length > 0) return { ok: false, problem: problems.join("; ") };
  const description = labels.description!.length > DESCRIPTION_MAX ? `${labels.description!.slice(0, DESCRIPTION_MAX - 3)}...` : labels.description!;
  return { ok: true, answer: { description, hypothesis: labels.hypothesis ?? "", insight: parseInsight(labels.insight), edits } };
}

type BlockResult = { edit: Edit; end: number } | { problem: string };

function readBlock(lines: string[], start: number, kind: "SEARCH" | "FILE", pathText: string, number: number): BlockResult {
  const path = cleanPath(pathText) ?? pathFromLineBefore(lines, start);
  const name = `block ${number} (${kind}${path ? ` ${path}` : ""}, line ${start + 1})`;
  if (!path) return { problem: `${name} names no file; put the path after the marker, like "<<<<<<< ${kind} src/model.py"` };
  const unclosed = kind === "SEARCH"
    ? `${name} is not closed; expected a "=======" line, the replacement, then ">>>>>>> REPLACE" (if the answer was long it may have been cut off: prefer SEARCH/REPLACE blocks over whole files)`
    : `${name} is not closed; expected the content, then a ">>>>>>> END" line (if the answer was long it may have been cut off: prefer SEARCH/REPLACE blocks over whole files)`;
  if (kind === "FILE") {
    for (let index = start + 1; index < lines.length; index++) {
      if (CLOSER.test(lines[index]!)) {
        const body = unfence(lines.slice(start + 1, index));
        return { edit: { path, content: body.length === 0 ? "" : `${body.join("\n")}\n` }, end: index };
      }
      if (OPENER.test(lines[index]!)) return { problem: unclosed };
    }
    return { problem: unclosed };
  }
  let divider = -1;
  for (let index = start + 1; index < lines.length; index++) {
    const line = lines[index]!;
    if (divider === -1 && DIVIDER.test(line)) {
      divider = index;
    } else if (OPENER.test(line)) {
      return { problem: unclosed };
    } else if (CLOSER.test(line)) {
      if (divider === -1) return { problem: `${name} has no "=======" line between the SEARCH text and its replacement` };
      const search = unfence(lines.slice(start + 1, divider)).join("\n");
      const replace = unfence(lines.slice(divider + 1, index)).join("\n");
      if (search.trim() === "") return { problem: `${name} has an empty SEARCH part; copy the lines to change from the file, or use a FILE block to write a whole file` };
      return { edit: { path, search, replace }, end: index };
    }
  }
  return { problem: unclosed };
}

/** "`params.json`", "path=params.json", "./params.json" and "**params.json**" all mean params.json. */
function cleanPath(text: string): string | null {
  const path = text.trim().replace(/^path\s*[=:]\s*/i, "").replace(/^[`'"*]+|[`'"*:]+$/g, "").replace(/^\.\//, "").trim();
  return path.length > 0 && !/\s/.test(path) ? path : null;
}

/** Some models put the file name on its own line above the block (or above its code fence). */
function pathFromLineBefore(lines: string[], start: number): string | null {
  for (let index = start - 1; index >= 0 && index >= start - 3; index--) {
    const line = lines[index]!.trim();
    if (line === "" || FENCE.test(line)) continue;
    const path = cleanPath(line.replace(/^(file|path)\s*:\s*/i, "").replace(/^#+\s*/, ""));
    return path && /[./]/.test(path) ? path : null;
  }
  return null;
}

/** Drops a code fence wrapped around a section (both its first and last line are fences). */
function unfence(section: string[]): string[] {
  if (section.length >= 2 && FENCE.test(section[0]!) && /^\s*(`{3,}|~{3,})\s*$/.test(section.at(-1)!)) return section.slice(1, -1);
  return section;
}

function parseInsight(text: string | undefined): ParsedAnswer["insight"] {
  if (!text) return null;
  const match = /^(?:experiment\s*)?#?(\d+)\s*[:.)-]?\s*(.*)$/i.exec(text);
  const experiment = match && match[2] ? Number(match[1]) : null;
  const body = (experiment !== null ? match![2]! : text).trim();
  return body ? { experiment, text: body.slice(0, 300) } : null;
}
