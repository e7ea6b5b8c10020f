// The research notebook: every N finished experiments the model distils what was learned into
// notes.md in the session's directory; later prompts carry the notes instead of raw history.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UNTRUSTED_NOTICE, wrapUntrusted } from "../../text/untrusted.ts";
import type { HistoryEntry, ProposalContext } from "../types.ts";
import { collectInsights, experimentsTable, hypothesesList, isFinished } from "./history.ts";

export const NOTEBOOK_FILE = "notes.md";
const HEADER = /^<!-- autoresearch notebook: distilled through experiment (\d+)/;
const NOTES_MAX_CHARS = 8000;

export interface Notebook {
  text: string;
  /** The last experiment the notes account for (0: none; notes written by hand or an agent). */
  throughId: number;
}

export function notebookPath(sessionDir: string): string {
  return join(sessionDir, NOTEBOOK_FILE);
}

export function readNotebook(sessionDir: string): Notebook | null {
  const path = notebookPath(sessionDir);
  if (!existsSync(path)) return null;
  const raw = readFileSync(path, "utf8");
  const throughId = Number(HEADER.exec(raw)?.[1] ?? 0);
  const text = raw.replace(/^<!--[\s\S]*?-->\n?/, "").trim();
  return text ? { text: text.length > NOTES_MAX_CHARS ? `${text.slice(0, NOTES_MAX_CHARS)}\n[... notes cut ...]` : text, throughId } : null;
}

/**
 * The notes as a prompt shows them: an untrusted-data block, since a model wrote them from experiment
 * output (and anyone may edit the file).
 */
export function notebookBlock(notebook: Notebook): string {
  return wrapUntrusted("research notebook notes.md", notebook.text, NOTES_MAX_CHARS + 100);
}

/** How much of a shared study's notebook a prompt carries. */
const STUDY_NOTES_MAX_CHARS = 12_000;

/**
 * A shared study's notebook as a prompt shows it: what the other workers' proposers and the study's people
 * wrote, newest last, in one untrusted-data block (empty when there is none).
 */
export function studyNotesBlock(context: ProposalContext): string {
  const notes = context.studyNotes ?? [];
  if (notes.length === 0) return "";
  const text = notes.map((note) => `## From ${note.from}\n\n${note.text.trim()}`).join("\n\n");
  // The newest notes matter most: a long notebook loses its oldest part.
  const kept = text.length > STUDY_NOTES_MAX_CHARS ? `[... older notes cut ...]\n${text.slice(-STUDY_NOTES_MAX_CHARS)}` : text;
  return wrapUntrusted("the study's shared notebook (other workers' notes and people's)", kept, STUDY_NOTES_MAX_CHARS + 200);
}

/** The finished experiments the notes do not cover yet, when there are at least `every` of them. */
export function notebookDue(history: HistoryEntry[], notebook: Notebook | null, every: number): HistoryEntry[] | null {
  if (every <= 0) return null;
  const fresh = history.filter((entry) => isFinished(entry) && entry.id > (notebook?.throughId ?? 0));
  return fresh.length >= every ? fresh : null;
}

export const NOTEBOOK_SYSTEM = `You keep the research notebook of an automated research loop. Each experiment changed the
code and was measured; you read the results and write concise notes that a researcher (you, later)
will rely on instead of the raw history. Be factual: cite experiment numbers and metric values.

${UNTRUSTED_NOTICE}`;

export function notebookPrompt(context: ProposalContext, notebook: Notebook | null, fresh: HistoryEntry[]): string {
  const goal = `${context.metric.name} (${context.metric.direction === "min" ? "lower" : "higher"} is better)`;
  const finished = context.history.filter(isFinished);
  return [
    `# Research program\n\n${context.program.trim()}`,
    `# Current notes\n\n${notebook ? notebookBlock(notebook) : "(none yet)"}`,
    `# Experiments so far (metric: ${goal})\n\n${experimentsTable(context, finished)}`,
    `# Hypotheses\n\n${hypothesesList(finished, collectInsights(context.history)) || "(none recorded)"}`,
    `# Your task\n\nRewrite the notes to take in experiments ${fresh[0]!.id}–${fresh.at(-1)!.id}. Use these sections:\n` +
      `## What helped\n## What did not help\n## Open questions and next ideas\n` +
      `Keep what still holds from the current notes, drop what the new results contradict, stay under 500 words. ` +
      `Answer with the notes only (markdown), no preamble.`,
  ].join("\n\n");
}

/** Writes the notes atomically, with a header saying which experiments they cover. */
export function writeNotebook(sessionDir: string, answer: string, throughId: number, at: string): Notebook {
  const text = unwrapFence(answer).trim().slice(0, NOTES_MAX_CHARS);
  mkdirSync(sessionDir, { recursive: true });
  const path = notebookPath(sessionDir);
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, `<!-- autoresearch notebook: distilled through experiment ${throughId} at ${at} -->\n${text}\n`);
  renameSync(temporary, path);
  return { text, throughId };
}

function unwrapFence(text: string): string {
  const match = /^\s*(`{3,}|~{3,})[^\n]*\n([\s\S]*?)\n\1\s*$/.exec(text);
  return match ? match[2]! : text;
}
