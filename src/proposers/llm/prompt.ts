// The proposal prompt, rebuilt from scratch for every call (never a growing chat): the program,
// the best mutable files, read-only context, the notebook, a compact history, and failure logs.
import type { ProposalContext } from "../types.ts";
import { collectInsights, experimentsTable, failureReports, formatNumber, hypothesesList, ideasTried, tableEntries } from "./history.ts";
import { notebookBlock, studyNotesBlock, type Notebook } from "./notebook.ts";
import { PROTOCOL } from "./protocol.ts";
import { UNTRUSTED_NOTICE } from "../../text/untrusted.ts";

export const PROMPT_BOUNDS = { mutableFileChars: 60_000, contextFileChars: 20_000, contextTotalChars: 60_000 } as const;

/** The system prompt; a measure-only study's speaks of measuring the code, not of training a model. */
export function systemPrompt(measureOnly = false): string {
  const harness = measureOnly
    ? `The harness applies it, has a protected measure command run the code and measure the metric
(a benchmark's time, a bundle's size, a test suite's duration), and keeps the change only if the metric
improves beyond the noise.`
    : `The harness applies it, trains under a fixed time budget, has a
protected evaluator measure the metric, and keeps the change only if the metric improves beyond
the noise.`;
  const scorer = measureOnly ? "measure command" : "evaluator";
  const target = measureOnly ? "the code" : "the model";
  return `You are the research engineer of an automated research loop. Each turn you propose ONE change
to the mutable files of a project. ${harness} You never run anything yourself; you only propose edits.

Good proposals are specific and testable: one idea at a time, grounded in the results so far, not
a repeat of an idea already tried. The ${scorer}, the data and the config are protected: changes
to them are rejected, and so is any attempt to game the metric instead of improving ${target}.

${UNTRUSTED_NOTICE}

${PROTOCOL}`;
}

export interface PromptInput {
  context: ProposalContext;
  readOnlyFiles: Record<string, string>;
  notebook: Notebook | null;
}

export function buildProposalPrompt({ context, readOnlyFiles, notebook }: PromptInput): string {
  const sections = [
    `# Research program (program.md, from the human)\n\n${context.program.trim() || "(empty)"}`,
    `# Goal\n\n${goal(context)}`,
    `# Mutable files (the current best versions; you may change only these)\n\n${fileBlocks(context.files, PROMPT_BOUNDS.mutableFileChars, Infinity)}`,
  ];
  if (Object.keys(readOnlyFiles).length > 0) {
    sections.push(`# Read-only context files (do not edit)\n\n${fileBlocks(readOnlyFiles, PROMPT_BOUNDS.contextFileChars, PROMPT_BOUNDS.contextTotalChars)}`);
  }
  const rows = tableEntries(context);
  const insights = collectInsights(context.history);
  if (notebook) sections.push(`# Research notebook (your distilled notes from earlier experiments)\n\n${notebookBlock(notebook)}`);
  const shared = studyNotesBlock(context);
  if (shared) sections.push(`# Notes shared by the study (other machines researching the same problem, and people)\n\n${shared}`);
  sections.push(`# Experiments (recent and best; Δ is the metric minus the best at the time)\n\n${experimentsTable(context, rows)}`);
  // With a notebook, the hypotheses it already digested are left out; newer ones still show.
  const fresh = notebook ? rows.filter((entry) => entry.id > notebook.throughId || entry.id < 0) : rows;
  const hypotheses = hypothesesList(fresh, insights);
  if (hypotheses) sections.push(`# Hypotheses${notebook ? " since the notebook was written" : ""}\n\n${hypotheses}`);
  const ideas = ideasTried(context, rows);
  if (ideas) sections.push(`# Earlier ideas already tried (do not repeat them)\n\n${ideas}`);
  const failures = failureReports(context.history);
  if (failures) sections.push(`# Recent failures\n\n${failures}`);
  sections.push(`# Your task\n\nPropose the next experiment: one change to the mutable files, in the answer format.`);
  return sections.join("\n\n");
}

/** The message that sends a rejected answer's problem back, for another try. */
export function feedbackMessage(problem: string, attempt: number, attemptsLeft: number): string {
  return [
    `Your answer (attempt ${attempt}) could not be used: ${problem}`,
    `Answer again with the whole proposal (DESCRIPTION, HYPOTHESIS and every edit block) in the answer format, fixing that problem. ` +
      `The files are unchanged: still exactly as shown in the first message. ${attemptsLeft === 1 ? "This is the last try for this proposal." : ""}`.trim(),
  ].join("\n\n");
}

function goal(context: ProposalContext): string {
  const direction = context.metric.direction === "min" ? "lower is better" : "higher is better";
  const lines = [`Metric: ${context.metric.name} (${direction}).`];
  lines.push(context.best.metric === null ? "No measurement yet." : `Current best: ${formatNumber(context.best.metric)} (commit ${context.best.commit.slice(0, 7)}).`);
  if (context.noiseSigma !== null) {
    lines.push(`Run-to-run noise: σ ≈ ${formatNumber(context.noiseSigma)}; a change must beat the best by clearly more than that to be kept.`);
  }
  return lines.join(" ");
}

function fileBlocks(files: Record<string, string>, perFileChars: number, totalChars: number): string {
  let used = 0;
  const blocks: string[] = [];
  for (const path of Object.keys(files).sort()) {
    const content = files[path]!;
    if (used >= totalChars) {
      blocks.push(`## ${path}\n\n(left out: the context budget is spent)`);
      continue;
    }
    const limit = Math.min(perFileChars, totalChars - used);
    const shown = content.length > limit ? `${content.slice(0, limit)}\n[... ${content.length - limit} more characters not shown; edit only text shown above ...]` : content;
    used += shown.length;
    const fence = "`".repeat(Math.max(3, longestBacktickRun(shown) + 1));
    blocks.push(`## ${path}\n\n${fence}\n${shown.replace(/\n$/, "")}\n${fence}`);
  }
  return blocks.join("\n\n");
}

function longestBacktickRun(text: string): number {
  let longest = 0;
  for (const match of text.matchAll(/`+/g)) longest = Math.max(longest, match[0].length);
  return longest;
}
