// The `llm` proposer: the harness calls the model. Each call builds a fresh, bounded prompt, asks
// for one change in the edit protocol, checks it (scope, applies, not a no-op, not a duplicate),
// sends any problem back for a bounded number of retries, and returns a checked proposal or a skip.
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import picomatch from "picomatch";
import type { ModelMessage } from "ai";
import type { ProposalContext, ProposalResult, Proposer, ProposerConfig } from "../types.ts";
import { callWithRetries, type ModelAnswer, type RetryHooks } from "./call.ts";
import { checkProposal } from "./check.ts";
import { ContextFileReader } from "./context-files.ts";
import { latestFinished } from "./history.ts";
import { createLanguageModel } from "./model.ts";
import { NOTEBOOK_SYSTEM, notebookDue, notebookPrompt, readNotebook, writeNotebook, type Notebook } from "./notebook.ts";
import { estimateCost, priceOf, type TokenCount } from "./pricing.ts";
import { buildProposalPrompt, feedbackMessage, systemPrompt } from "./prompt.ts";
import { parseAnswer, type ParsedAnswer } from "./protocol.ts";
import { resolveLlmSettings, type LlmSettings } from "./settings.ts";

export interface LlmProposerHooks extends RetryHooks {
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

/** Every call, proposal or not, is appended here (in the session directory): skips leave a trace. */
export const JOURNAL_FILE = "llm-proposer.jsonl";

export function createLlmProposer(config: ProposerConfig, projectDir: string, hooks: LlmProposerHooks = {}): Proposer {
  const settings = resolveLlmSettings(config, hooks.env);
  const model = createLanguageModel(settings);
  const price = priceOf(settings.model, settings.pricing);
  const contextFiles = new ContextFileReader(projectDir);
  const now = hooks.now ?? Date.now;
  // Tokens spent on calls that ended in a skip or an error: the loop records usage only with a
  // proposal, so they are added to the next one and the session's total stays right.
  let carried: TokenCount = { inputTokens: 0, outputTokens: 0 };

  const call = async (system: string, messages: ModelMessage[], signal: AbortSignal, spent: TokenCount) => {
    const outcome = await callWithRetries(model, settings, { system, messages }, signal, hooks);
    spent.inputTokens += outcome.answer.usage.inputTokens;
    spent.outputTokens += outcome.answer.usage.outputTokens;
    return outcome;
  };

  const updateNotebook = async (context: ProposalContext, signal: AbortSignal, spent: TokenCount) => {
    if (!context.sessionDir) return { notebook: null, note: {} };
    const notebook = readNotebook(context.sessionDir);
    const fresh = notebookDue(context.history, notebook, settings.notebookEvery);
    if (!fresh) return { notebook, note: {} };
    try {
      const outcome = await call(NOTEBOOK_SYSTEM, [{ role: "user", content: notebookPrompt(context, notebook, fresh) }], signal, spent);
      if (!outcome.answer.text.trim()) throw new Error("the model answered with empty notes");
      const throughId = fresh.at(-1)!.id;
      return { notebook: writeNotebook(context.sessionDir, outcome.answer.text, throughId, new Date(now()).toISOString()), note: { notebookUpdated: throughId } };
    } catch (error) {
      if (signal.aborted) throw error;
      // The notes are a help, not a requirement: the proposal goes ahead with the old ones.
      return { notebook, note: { notebookError: (error as Error).message } };
    }
  };

  return {
    name: "llm",
    async propose(context: ProposalContext, signal: AbortSignal): Promise<ProposalResult> {
      signal.throwIfAborted();
      const startedMs = now();
      const spent: TokenCount = { inputTokens: 0, outputTokens: 0 };
      const problems: string[] = [];
      let requests = 0;
      let answers = 0;
      const journal = (entry: Record<string, unknown>) =>
        appendJournal(context.sessionDir, {
          at: new Date(now()).toISOString(), model: settings.model, ...entry, attempts: answers, editFailures: problems.length, problems, requests,
          inputTokens: spent.inputTokens, outputTokens: spent.outputTokens, latencyMs: now() - startedMs,
        });
      try {
        const { notebook, note } = await updateNotebook(context, signal, spent);
        const readOnlyFiles = await contextFiles.read(context.best.commit, context.contextGlobs, context.files);
        const messages: ModelMessage[] = [{ role: "user", content: buildProposalPrompt({ context, readOnlyFiles, notebook }) }];
        const answersAllowed = settings.editRetries + 1;
        for (let attempt = 1; attempt <= answersAllowed; attempt++) {
          const outcome = await call(systemPrompt(context.measureOnly), messages, signal, spent);
          requests += outcome.requests;
          answers += 1;
          const verdict = judge(outcome.answer, context, readOnlyFiles, settings);
          if (verdict.ok) {
            const { answer, checked } = verdict;
            const total = addUsage(spent, carried);
            const carriedTokens = carried.inputTokens + carried.outputTokens;
            carried = { inputTokens: 0, outputTokens: 0 };
            journal({ outcome: "proposal", description: answer.description, ...note });
            return {
              kind: "proposal",
              description: answer.description,
              hypothesis: answer.hypothesis,
              edits: checked.edits,
              meta: {
                model: settings.model, attempts: attempt, editFailures: problems.length, problems, requests,
                filesHash: checked.filesHash, whitespaceRepairs: checked.whitespaceRepairs, ...insightOf(answer, context), ...note,
                ...(carriedTokens > 0 ? { carriedTokens } : {}),
              },
              usage: { ...total, costUsd: estimateCost(total, price) },
            };
          }
          problems.push(verdict.problem);
          if (attempt < answersAllowed) {
            messages.push({ role: "assistant", content: outcome.answer.text }, { role: "user", content: feedbackMessage(verdict.problem, attempt, answersAllowed - attempt) });
          }
        }
        carried = addUsage(carried, spent);
        journal({ outcome: "skip", ...note });
        return { kind: "skip", reason: `the model's answer was rejected ${problems.length} time${problems.length === 1 ? "" : "s"} in a row (proposer.editRetries: ${settings.editRetries}); last problem: ${problems.at(-1)}` };
      } catch (error) {
        carried = addUsage(carried, spent);
        if (!signal.aborted) journal({ outcome: "error", error: (error as Error).message });
        throw error;
      }
    },
  };
}

type Verdict = { ok: true; answer: ParsedAnswer; checked: Extract<ReturnType<typeof checkProposal>, { ok: true }> } | { ok: false; problem: string };

function judge(answer: ModelAnswer, context: ProposalContext, readOnlyFiles: Record<string, string>, settings: LlmSettings): Verdict {
  const parsed = parseAnswer(answer.text);
  if (!parsed.ok) {
    if (answer.finishReason === "length") {
      return { ok: false, problem: `the answer was cut off at the output limit (${settings.maxOutputTokens} tokens) before it was complete; answer more briefly, with SEARCH/REPLACE blocks for just the lines that change instead of whole files` };
    }
    return { ok: false, problem: parsed.problem };
  }
  const isMutable = context.mutableGlobs ? picomatch(context.mutableGlobs, { dot: true }) : () => false;
  const isProtected = context.protectedGlobs ? picomatch(context.protectedGlobs, { dot: true }) : () => false;
  const checked = checkProposal({
    files: context.files, edits: parsed.answer.edits, mayCreate: (path) => isMutable(path) && !isProtected(path), readOnly: Object.keys(readOnlyFiles), history: context.history,
  });
  return checked.ok ? { ok: true, answer: parsed.answer, checked } : { ok: false, problem: checked.problem };
}

/** The answer's one-line insight, attributed to the experiment it names or the latest finished one. */
function insightOf(answer: ParsedAnswer, context: ProposalContext): { insight?: { experiment: number; text: string } } {
  if (!answer.insight) return {};
  const experiment = answer.insight.experiment ?? latestFinished(context.history)?.id;
  return experiment === undefined ? {} : { insight: { experiment, text: answer.insight.text } };
}

function addUsage(a: TokenCount, b: TokenCount): TokenCount {
  return { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens };
}

function appendJournal(sessionDir: string | undefined, entry: Record<string, unknown>): void {
  if (!sessionDir) return;
  try {
    mkdirSync(sessionDir, { recursive: true });
    appendFileSync(join(sessionDir, JOURNAL_FILE), `${JSON.stringify(entry)}\n`);
  } catch {
    // A diagnostic trace only; a full disk shows up where it matters (the ledger, the logs).
  }
}
