// The description and hypothesis of an agent's proposal: from the DESCRIPTION:/HYPOTHESIS: lines
// it was asked to end with, or, when it forgot, a summary of its diff.
import { safeText } from "../../text/safe-text.ts";

const DESCRIPTION_CHARS = 160;
const HYPOTHESIS_CHARS = 600;
// Markdown decoration agents like to add: "**DESCRIPTION:** ...", "- Hypothesis: ...".
const LABELLED = /^[\s>*_#`-]*(description|hypothesis)[\s*_`]*:[\s*_`]*(.*)$/i;

export interface Described {
  description: string;
  hypothesis: string;
}

export function describeProposal(message: string, diff: string): Described {
  let description = "";
  let hypothesis = "";
  // The last occurrence wins: agents sometimes quote the instructions before answering.
  for (const line of safeText(message.replace(/\r\n?/g, "\n")).split("\n")) {
    const match = LABELLED.exec(line);
    if (!match) continue;
    const text = match[2]!.replace(/[*_`]+$/, "").trim();
    if (!text) continue;
    if (match[1]!.toLowerCase() === "description") description = text;
    else hypothesis = text;
  }
  return {
    description: bound(description || summarizeDiff(diff), DESCRIPTION_CHARS),
    hypothesis: bound(hypothesis || firstSentence(message) || "(the agent stated no hypothesis)", HYPOTHESIS_CHARS),
  };
}

/** "edit model.ts (+3 -1), train.ts (+1 -1)" from a unified diff. */
export function summarizeDiff(diff: string): string {
  const counts = new Map<string, { added: number; removed: number }>();
  let current: { added: number; removed: number } | null = null;
  for (const line of diff.split("\n")) {
    const file = /^diff --git a\/.* b\/(.*)$/.exec(line);
    if (file) {
      current = { added: 0, removed: 0 };
      counts.set(file[1]!, current);
    } else if (current && line.startsWith("+") && !line.startsWith("+++")) current.added += 1;
    else if (current && line.startsWith("-") && !line.startsWith("---")) current.removed += 1;
  }
  if (counts.size === 0) return "agent edit";
  return `edit ${[...counts].map(([path, { added, removed }]) => `${path} (+${added} -${removed})`).join(", ")}`;
}

function firstSentence(message: string): string {
  const line = safeText(message.replace(/\r\n?/g, "\n")).split("\n").map((text) => text.trim()).find((text) => text.length > 0 && !LABELLED.test(text));
  return line ?? "";
}

function bound(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}
