// The task an external coding agent gets: the program, which files it may change (it reads them
// itself in its scratch checkout), a compact history, the notebook, and the rules. Rebuilt from
// the context for every proposal; experiment output appears only as labelled untrusted data.
import { notebookBlock, readNotebook, studyNotesBlock } from "../llm/notebook.ts";
import { experimentsTable, failureReports, formatNumber, ideasTried, tableEntries } from "../llm/history.ts";
import { UNTRUSTED_NOTICE } from "../../text/untrusted.ts";
import type { ProposalContext } from "../types.ts";

export const FINAL_LINES = `DESCRIPTION: <one line, under 100 characters: what you changed>
HYPOTHESIS: <one or two sentences: why it should improve the metric>`;

export interface AgentPromptInput {
  context: ProposalContext;
  /** Why the previous attempt of this proposal was rejected, to be fixed this time. */
  feedback: string | null;
}

export function buildAgentPrompt({ context, feedback }: AgentPromptInput): string {
  const sections = [
    `You are the research engineer of an automated research loop. The current directory is a scratch
checkout of the project at its best version so far. Make ONE focused change to the mutable files that
you expect to improve the metric, then stop. ${context.measureOnly
      ? "The harness takes your change, has a protected measure command\nrun the code and measure it"
      : "The harness takes your change, trains it under a fixed\ntime budget, has a protected evaluator measure it"}, and keeps it only if it beats the best by more
than the run-to-run noise.`,
    UNTRUSTED_NOTICE,
    `# Research program (program.md, from the human)\n\n${context.program.trim() || "(empty)"}`,
    `# Goal\n\n${goal(context)}`,
    `# Files you may change\n\n${mutableList(context)}`,
    `# Rules\n\n${rules(context)}`,
  ];
  const notebook = context.sessionDir ? readNotebook(context.sessionDir) : null;
  if (notebook) sections.push(`# Research notebook (notes on what was learned so far)\n\n${notebookBlock(notebook)}`);
  const shared = studyNotesBlock(context);
  if (shared) sections.push(`# Notes shared by the study (other machines researching the same problem, and people)\n\n${shared}`);
  const rows = tableEntries(context);
  sections.push(`# Experiments (recent and best; Δ is the metric minus the best at the time)\n\n${experimentsTable(context, rows)}`);
  const ideas = ideasTried(context, rows);
  if (ideas) sections.push(`# Earlier ideas already tried (do not repeat them)\n\n${ideas}`);
  const failures = failureReports(context.history);
  if (failures) sections.push(`# Recent failures\n\n${failures}`);
  if (feedback) sections.push(`# Your previous attempt was rejected\n\n${feedback}\n\nThe checkout has been reset to the best version; make a change that avoids this problem.`);
  sections.push(`# When you are done\n\nEnd your final message with exactly these two lines:\n\n${FINAL_LINES}`);
  return `${sections.join("\n\n")}\n`;
}

function goal(context: ProposalContext): string {
  const direction = context.metric.direction === "min" ? "lower is better" : "higher is better";
  const lines = [`Metric: ${context.metric.name} (${direction}).`];
  lines.push(context.best.metric === null ? "No measurement yet." : `Current best: ${formatNumber(context.best.metric)}.`);
  if (context.noiseSigma !== null) lines.push(`Run-to-run noise: σ ≈ ${formatNumber(context.noiseSigma)}; a change must beat the best by clearly more than that.`);
  return lines.join(" ");
}

function mutableList(context: ProposalContext): string {
  const files = Object.keys(context.files).sort().map((path) => `- ${path} (${context.files[path]!.length} characters)`);
  const globs = context.mutableGlobs ? `\n\nNew files are allowed only if they match: ${context.mutableGlobs.map((glob) => `\`${glob}\``).join(", ")}.` : "";
  const readOnly = context.contextGlobs?.length ? `\n\nRead-only files worth reading for context: ${context.contextGlobs.map((glob) => `\`${glob}\``).join(", ")}.` : "";
  return `${files.join("\n") || "(none yet)"}${globs}${readOnly}`;
}

function rules(context: ProposalContext): string {
  const guarded = context.protectedGlobs?.length ? ` (${context.protectedGlobs.map((glob) => `\`${glob}\``).join(", ")})` : "";
  return [
    `- Edit only the files listed above. Every other file is read-only${guarded}: a change to any other file, a new file elsewhere, or a deleted file gets the whole proposal rejected.`,
    context.measureOnly
      ? `- Do NOT run the measure command or the experiment, and do not try to measure the metric yourself: the harness does that after you finish.`
      : `- Do NOT run the training, the evaluation or the experiment, and do not try to measure the metric yourself: the harness does that after you finish, under a fixed budget.`,
    `- Do not run git commands and do not commit; the harness records your change.`,
    `- Do not try to game the metric (e.g. by reading evaluation data or changing how it is measured); such changes are rejected.`,
    `- Make one idea per proposal, grounded in the results so far, and not a repeat of an idea already tried.`,
  ].join("\n");
}
