// External coding agents (Claude Code, Codex, any command) as proposers. Each proposal: a scratch
// worktree of the best commit, the agent run there with the prompt and a time limit, then the
// guard on what it changed. Changes outside the mutable files reject the attempt (the worktree is
// discarded, so they are reverted); the reason goes back to the agent for a bounded retry.
import { ConfigError } from "../../errors.ts";
import type { ProposalContext, ProposalResult, Proposer, ProposerConfig, Usage } from "../types.ts";
import { claudeSpec, codexSpec, commandSpec, type AgentSpec } from "./clis.ts";
import { describeProposal } from "./message.ts";
import { buildAgentPrompt } from "./prompt.ts";
import { runAgent, runFailure } from "./run.ts";
import { collectChanges, openScratch, removeScratch, type ScopeGlobs } from "./scratch.ts";

export const AGENT_NAMES = ["claude", "codex", "command"] as const;

const DEFAULT_TIMEOUT_SECONDS = 1200;
const DEFAULT_RETRIES = 2;
// When the loop does not say (direct use in tests or scripts): what is always protected.
const ALWAYS_PROTECTED = ["autoresearch.config.json", "program.md"];

export interface AgentProposerOptions {
  spec: AgentSpec;
  projectDir: string;
  timeoutSeconds?: number;
  passEnv?: string[];
  /** How often a rejected attempt is retried with the rejection as feedback. */
  retries?: number;
}

type Attempt =
  | { kind: "proposal"; description: string; hypothesis: string; edits: Array<{ path: string; content: string }>; logPath: string; usage: Usage | null }
  | { kind: "rejected"; reason: string; logPath: string; usage: Usage | null };

export function createAgentProposerFromConfig(config: ProposerConfig, projectDir: string): Proposer {
  const common = { projectDir, timeoutSeconds: config.timeoutSeconds, passEnv: config.passEnv, retries: config.editRetries };
  switch (config.name) {
    case "claude":
      return createAgentProposer({ ...common, spec: claudeSpec(config) });
    case "codex":
      return createAgentProposer({ ...common, spec: codexSpec(config) });
    default:
      if (!config.command) {
        throw new ConfigError(
          [`proposer.command: missing; the command proposer needs the command line that runs your agent (it gets the prompt on stdin and in $AUTORESEARCH_PROMPT_FILE)`],
          `Set it in the config, e.g. "proposer": {"name": "command", "command": "my-agent --non-interactive"}.`,
        );
      }
      return createAgentProposer({ ...common, spec: commandSpec(config.command) });
  }
}

export function createAgentProposer(options: AgentProposerOptions): Proposer {
  const { spec, projectDir } = options;
  const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const attempts = 1 + (options.retries ?? DEFAULT_RETRIES);
  let rejectedTotal = 0;
  let proposals = 0;

  const attempt = async (context: ProposalContext, globs: ScopeGlobs, feedback: string | null, signal: AbortSignal): Promise<Attempt> => {
    const worktree = await openScratch(projectDir, context.best.commit, globs);
    try {
      const run = await runAgent({
        spec, projectDir, worktree, prompt: buildAgentPrompt({ context, feedback }), timeoutSeconds,
        passEnv: options.passEnv ?? [], tag: context.tag, signal,
      });
      const failure = runFailure(run, spec, timeoutSeconds);
      if (failure) throw new Error(failure);
      const reply = spec.readReply(run.stdout, run.message);
      const changes = await collectChanges(worktree, context.best.commit, globs);
      if (!changes.ok) return { kind: "rejected", reason: changes.reason, logPath: run.logPath, usage: reply.usage };
      return { kind: "proposal", ...describeProposal(reply.message, changes.diff), edits: changes.edits, logPath: run.logPath, usage: reply.usage };
    } finally {
      await removeScratch(projectDir, worktree);
    }
  };

  return {
    name: spec.name,
    async propose(context: ProposalContext, signal: AbortSignal): Promise<ProposalResult> {
      const globs: ScopeGlobs = {
        mutable: context.mutableGlobs ?? Object.keys(context.files),
        protected: context.protectedGlobs ?? ALWAYS_PROTECTED,
      };
      const rejections: string[] = [];
      let usage: Usage | undefined;
      for (let number = 1; number <= attempts; number += 1) {
        const feedback = rejections.length > 0 ? `Attempt ${number - 1} was rejected: ${rejections.at(-1)}` : null;
        const result = await attempt(context, globs, feedback, signal);
        usage = addUsage(usage, result.usage);
        if (result.kind === "proposal") {
          proposals += 1;
          const meta = { agent: spec.name, attempt: number, rejectedAttempts: rejections, rejectedTotal, proposals, log: result.logPath };
          return { kind: "proposal", description: result.description, hypothesis: result.hypothesis, edits: result.edits, meta, usage };
        }
        rejectedTotal += 1;
        rejections.push(result.reason);
      }
      return {
        kind: "skip",
        reason: `${spec.label} made ${attempts} attempt(s) and each was rejected (${rejectedTotal} rejected so far); the last: ${rejections.at(-1)}`,
        usage,
      };
    },
  };
}

function addUsage(total: Usage | undefined, more: Usage | null): Usage | undefined {
  if (!more) return total;
  if (!total) return { ...more };
  const cost = total.costUsd === null && more.costUsd === null ? null : (total.costUsd ?? 0) + (more.costUsd ?? 0);
  return { inputTokens: total.inputTokens + more.inputTokens, outputTokens: total.outputTokens + more.outputTokens, costUsd: cost };
}
