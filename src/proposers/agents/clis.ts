// How each agent is invoked non-interactively, and how its final message and token usage are
// read back. The prompt always arrives on stdin (no argument-length limit); stdout is captured
// to a file because Claude Code's JSON result is one long line.
import type { Usage } from "../types.ts";

export interface AgentFiles {
  promptFile: string;
  stdoutFile: string;
  /** Where an agent may write its final message (codex --output-last-message; generic commands). */
  messageFile: string;
}

export interface AgentReply {
  message: string;
  usage: Usage | null;
}

export interface AgentSpec {
  name: string;
  /** A human name for messages ("Claude Code"), and what to install when the command is missing. */
  label: string;
  installHint: string;
  /** The /bin/sh command line, run in the scratch worktree. */
  commandLine(files: AgentFiles): string;
  /** Throws when the agent reports that it failed although it exited 0. */
  readReply(stdout: string, messageFile: string | null): AgentReply;
}

export interface ClaudeOptions {
  command?: string;
  model?: string;
  permissionMode?: string;
  allowedTools?: string[];
  args?: string[];
}

/** Claude Code in print mode: `claude -p --output-format json`, prompt on stdin. */
export function claudeSpec(options: ClaudeOptions): AgentSpec {
  // No shell tool by default: the agent edits files, the harness runs the experiment.
  const allowed = options.allowedTools ?? ["Read", "Edit", "Write", "Glob", "Grep"];
  const args = [
    "-p", "--output-format", "json",
    "--permission-mode", options.permissionMode ?? "acceptEdits",
    "--allowedTools", allowed.join(","),
    ...(allowed.some((tool) => tool.startsWith("Bash")) ? [] : ["--disallowedTools", "Bash"]),
    ...(options.model ? ["--model", options.model] : []),
    ...(options.args ?? []),
  ];
  return {
    name: "claude",
    label: "Claude Code",
    installHint: "Install Claude Code (npm install -g @anthropic-ai/claude-code) or set proposer.command to its path.",
    commandLine: (files) => `exec ${[options.command ?? "claude", ...args].map(shellQuote).join(" ")} < ${shellQuote(files.promptFile)} > ${shellQuote(files.stdoutFile)}`,
    readReply(stdout) {
      const result = lastJsonObject(stdout, (value) => value.type === "result");
      if (!result) return { message: stdout, usage: null };
      if (result.is_error === true) throw new Error(`Claude Code reported an error (${String(result.subtype ?? "error")}): ${String(result.result ?? "").slice(0, 500)}`);
      const usage = (result.usage ?? {}) as Record<string, unknown>;
      const input = count(usage.input_tokens) + count(usage.cache_creation_input_tokens) + count(usage.cache_read_input_tokens);
      const cost = typeof result.total_cost_usd === "number" ? result.total_cost_usd : null;
      return { message: typeof result.result === "string" ? result.result : "", usage: { inputTokens: input, outputTokens: count(usage.output_tokens), costUsd: cost } };
    },
  };
}

export interface CodexOptions {
  command?: string;
  model?: string;
  sandbox?: string;
  args?: string[];
}

/** Codex non-interactively: `codex exec --json --output-last-message FILE -`, prompt on stdin. */
export function codexSpec(options: CodexOptions): AgentSpec {
  return {
    name: "codex",
    label: "Codex",
    installHint: "Install the Codex CLI (npm install -g @openai/codex) or set proposer.command to its path.",
    commandLine: (files) => {
      const args = [
        "exec", "--sandbox", options.sandbox ?? "workspace-write", "--json", "--output-last-message", files.messageFile,
        ...(options.model ? ["--model", options.model] : []), ...(options.args ?? []), "-",
      ];
      return `exec ${[options.command ?? "codex", ...args].map(shellQuote).join(" ")} < ${shellQuote(files.promptFile)} > ${shellQuote(files.stdoutFile)}`;
    },
    readReply(stdout, messageFile) {
      let inputTokens = 0;
      let outputTokens = 0;
      let lastMessage = "";
      for (const event of jsonLines(stdout)) {
        const usage = event.usage as Record<string, unknown> | undefined;
        if (event.type === "turn.completed" && usage) {
          inputTokens += count(usage.input_tokens);
          outputTokens += count(usage.output_tokens);
        }
        const item = event.item as Record<string, unknown> | undefined;
        if (event.type === "item.completed" && item?.type === "agent_message" && typeof item.text === "string") lastMessage = item.text;
        if (event.type === "turn.failed" || event.type === "error") {
          const error = (event.error as { message?: unknown } | undefined)?.message ?? event.message;
          throw new Error(`Codex reported an error: ${String(error ?? "unknown").slice(0, 500)}`);
        }
      }
      const used = inputTokens + outputTokens > 0 ? { inputTokens, outputTokens, costUsd: null } : null;
      return { message: messageFile ?? lastMessage, usage: used };
    },
  };
}

/** Any other agent: a shell command line with the prompt on stdin and in $AUTORESEARCH_PROMPT_FILE. */
export function commandSpec(command: string): AgentSpec {
  return {
    name: "command",
    label: `the agent command (${command})`,
    installHint: "Check proposer.command in the config: it runs with /bin/sh in the scratch checkout.",
    commandLine: (files) => `{ ${command}\n} < ${shellQuote(files.promptFile)} > ${shellQuote(files.stdoutFile)}`,
    readReply: (stdout, messageFile) => ({ message: messageFile ?? stdout, usage: null }),
  };
}

export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function* jsonLines(text: string): Generator<Record<string, unknown>> {
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed.startsWith("{")) continue;
    try {
      const value: unknown = JSON.parse(trimmed);
      if (value && typeof value === "object" && !Array.isArray(value)) yield value as Record<string, unknown>;
    } catch {
      // a progress line that merely starts with "{"
    }
  }
}

/** The last JSON object in the output that `accept`s, whether printed as one document or as JSON lines. */
function lastJsonObject(text: string, accept: (value: Record<string, unknown>) => boolean): Record<string, unknown> | null {
  try {
    const whole: unknown = JSON.parse(text);
    if (whole && typeof whole === "object" && !Array.isArray(whole) && accept(whole as Record<string, unknown>)) return whole as Record<string, unknown>;
  } catch {
    // not one document: try line by line (stream-json, or noise around the result)
  }
  let found: Record<string, unknown> | null = null;
  for (const value of jsonLines(text)) if (accept(value)) found = value;
  return found;
}
