// The llm proposer's settings: the config's `proposer` section with defaults filled in and the
// API key read from the environment variable the config names.
import { ConfigError } from "../../errors.ts";
import type { ProposerConfig } from "../types.ts";
import type { Pricing } from "./pricing.ts";

export type LlmProvider = "anthropic" | "openai" | "openai-compatible";

export interface LlmSettings {
  provider: LlmProvider;
  model: string;
  baseURL: string | undefined;
  /** The variable the key came from (named in messages; the key itself never is). */
  apiKeyEnv: string | null;
  apiKey: string | undefined;
  maxOutputTokens: number;
  temperature: number | undefined;
  stream: boolean;
  editRetries: number;
  requestRetries: number;
  requestTimeoutMs: number;
  notebookEvery: number;
  pricing: Pricing | undefined;
}

const DEFAULT_KEY_ENV: Record<LlmProvider, string | null> = {
  anthropic: "ANTHROPIC_API_KEY",
  openai: "OPENAI_API_KEY",
  // Local servers (Ollama, vLLM, llama.cpp) usually need no key.
  "openai-compatible": null,
};

export const LLM_DEFAULTS = {
  maxOutputTokens: 8192,
  stream: true,
  editRetries: 2,
  requestRetries: 4,
  requestTimeoutSeconds: 600,
  notebookEvery: 10,
} as const;

/** Throws a ConfigError naming the field (or the missing environment variable) and what to do. */
export function resolveLlmSettings(config: ProposerConfig, env: NodeJS.ProcessEnv = process.env): LlmSettings {
  const provider = config.provider;
  const problems: string[] = [];
  if (!provider) problems.push(`proposer.provider: missing; the llm proposer needs one of: anthropic, openai, openai-compatible`);
  if (!config.model) problems.push(`proposer.model: missing; expected the model id, e.g. "claude-sonnet-4-5" or "gpt-5"`);
  if (provider === "openai-compatible" && !config.baseURL) {
    problems.push(`proposer.baseURL: missing; an openai-compatible server needs its URL, e.g. "http://localhost:11434/v1" for Ollama`);
  }
  if (problems.length > 0 || !provider || !config.model) throw new ConfigError(problems, `See README.md "Using an LLM proposer" for copy-paste configs.`);
  const apiKeyEnv = config.apiKeyEnv ?? DEFAULT_KEY_ENV[provider];
  const apiKey = apiKeyEnv ? env[apiKeyEnv] : undefined;
  if (apiKeyEnv && !apiKey) {
    throw new ConfigError(
      [`proposer.apiKeyEnv: the environment variable ${apiKeyEnv} is not set; the ${provider} provider needs an API key`],
      `export ${apiKeyEnv}=<your key> before \`autoresearch run\`, or set proposer.apiKeyEnv to the variable that holds it.`,
    );
  }
  return {
    provider,
    model: config.model,
    baseURL: config.baseURL,
    apiKeyEnv,
    apiKey,
    maxOutputTokens: config.maxOutputTokens ?? LLM_DEFAULTS.maxOutputTokens,
    temperature: config.temperature,
    stream: config.stream ?? LLM_DEFAULTS.stream,
    editRetries: config.editRetries ?? LLM_DEFAULTS.editRetries,
    requestRetries: config.requestRetries ?? LLM_DEFAULTS.requestRetries,
    requestTimeoutMs: (config.requestTimeoutSeconds ?? LLM_DEFAULTS.requestTimeoutSeconds) * 1000,
    notebookEvery: config.notebookEvery ?? LLM_DEFAULTS.notebookEvery,
    pricing: config.pricing,
  };
}
