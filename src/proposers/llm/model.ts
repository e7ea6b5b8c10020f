// The language model behind the proposer, built with the AI SDK's provider packages.
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { LanguageModel } from "ai";
import type { LlmSettings } from "./settings.ts";

export function createLanguageModel(settings: LlmSettings): LanguageModel {
  // The SDK's own warnings go to the console, where they would tear the terminal view.
  (globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;
  const { baseURL, apiKey, model } = settings;
  switch (settings.provider) {
    case "anthropic":
      return createAnthropic({ baseURL, apiKey })(model);
    case "openai":
      // Chat Completions rather than the Responses API: it is what every compatible server speaks too.
      return createOpenAI({ baseURL, apiKey }).chat(model);
    case "openai-compatible":
      return createOpenAICompatible({ name: "openai-compatible", baseURL: baseURL!, apiKey, includeUsage: true }).chatModel(model);
  }
}
