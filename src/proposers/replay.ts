// The `replay` proposer: scripted proposals from a JSON file, in order. Resume-safe: each
// proposal carries its index in meta, and replay continues after the highest one in the history.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "../errors.ts";
import type { Edit, ProposalContext, ProposalResult, Proposer } from "./types.ts";

export interface ReplayProposerOptions {
  /** Absolute path (or relative to the working directory) of the replay JSON file. */
  file: string;
}

export interface ReplayProposal {
  description: string;
  hypothesis: string;
  edits: Edit[];
}

const editSchema = z
  .strictObject({
    path: z.string().min(1, "must be a non-empty file path relative to the project root"),
    search: z.string().min(1, "must be the non-empty text to replace").optional(),
    replace: z.string().optional(),
    content: z.string().optional(),
  })
  .superRefine((edit, context) => {
    const whole = edit.content !== undefined;
    const searchReplace = edit.search !== undefined || edit.replace !== undefined;
    if (whole === searchReplace || (!whole && (edit.search === undefined || edit.replace === undefined))) {
      context.addIssue({ code: "custom", message: `expected either "content" (the whole file) or both "search" and "replace"` });
    }
  });

const replaySchema = z.strictObject({
  proposals: z.array(
    z.strictObject({
      description: z.string().min(1, "must say what the proposal changes"),
      hypothesis: z.string().default(""),
      edits: z.array(editSchema, { error: "expected an array of edits" }).min(1, "needs at least one edit"),
    }),
    { error: "expected an array of proposals" },
  ),
});

/** The keys each level accepts, by how deep the path is: file, proposal, edit. */
const KNOWN_KEYS: Record<number, string> = { 0: "proposals", 2: "description, hypothesis, edits", 4: "path, search, replace, content" };

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") {
    return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((key) => `"${key}"`).join(", ")}; expected only: ${KNOWN_KEYS[issue.path.length] ?? "known keys"}`;
  }
  return issue.message;
}

const FORMAT_HINT = `A replay file looks like {"proposals": [{"description": "...", "hypothesis": "...", "edits": [{"path": "model.ts", "search": "...", "replace": "..."}]}]}.`;

/** Reads and validates a replay file; problems are ConfigErrors naming the file and JSON path. */
export function loadReplayFile(file: string): ReplayProposal[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "read error";
    throw new ConfigError([`${file}: cannot read the replay file (${code})`], "Create the file, or point proposer.file in the config at it.");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${file}: not valid JSON: ${(error as Error).message}`], FORMAT_HINT);
  }
  const parsed = replaySchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${file}: ${formatPath(issue.path)}: ${describeIssue(issue)}`);
    throw new ConfigError(problems, FORMAT_HINT);
  }
  return parsed.data.proposals.map((proposal) => ({
    description: proposal.description,
    hypothesis: proposal.hypothesis,
    edits: proposal.edits.map((edit): Edit =>
      edit.content !== undefined ? { path: edit.path, content: edit.content } : { path: edit.path, search: edit.search!, replace: edit.replace! },
    ),
  }));
}

/** The file is read once, at creation, so a broken file stops the session before it starts. */
export function createReplayProposer(options: ReplayProposerOptions): Proposer {
  const proposals = loadReplayFile(options.file);
  // Proposals the loop queued but has not recorded yet are not in the history.
  let nextHere = 0;
  return {
    name: "replay",
    async propose(context: ProposalContext, signal: AbortSignal): Promise<ProposalResult> {
      signal.throwIfAborted();
      const index = Math.max(nextHere, highestReplayedIndex(context) + 1);
      if (index >= proposals.length) {
        return { kind: "skip", reason: `replay file exhausted: all ${proposals.length} proposals in ${options.file} have been proposed` };
      }
      nextHere = index + 1;
      const proposal = proposals[index];
      return { kind: "proposal", description: proposal.description, hypothesis: proposal.hypothesis, edits: proposal.edits, meta: { index } };
    },
  };
}

function highestReplayedIndex(context: ProposalContext): number {
  let highest = -1;
  for (const entry of context.history) {
    if (entry.proposer !== "replay") continue;
    const index = (entry.meta as { index?: unknown } | null)?.index;
    if (typeof index === "number" && Number.isInteger(index) && index > highest) highest = index;
  }
  return highest;
}

function formatPath(path: PropertyKey[]): string {
  if (path.length === 0) return "(top level)";
  return path.map((part, index) => (typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`)).join("");
}
