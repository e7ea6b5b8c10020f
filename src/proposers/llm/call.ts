// One model call (streamed or not) under a timeout, and the bounded retry loop around it.
import { generateText, streamText, type LanguageModel, type ModelMessage } from "ai";
import { abortableSleep, backoffMs, describeFailure, EmptyAnswerError, MAX_RETRY_AFTER_MS, RequestTimeoutError, TruncatedAnswerError } from "./retry.ts";
import type { TokenCount } from "./pricing.ts";
import type { LlmSettings } from "./settings.ts";

export interface ModelRequest {
  system: string;
  messages: ModelMessage[];
}

export interface ModelAnswer {
  text: string;
  /** "stop" normally; "length" when the output-token limit cut the answer off. */
  finishReason: string;
  usage: TokenCount;
}

/** What the retry loop may be given instead of the real clock (tests, benchmarks). */
export interface RetryHooks {
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  backoffBaseMs?: number;
  random?: () => number;
}

export interface CallOutcome {
  answer: ModelAnswer;
  /** Requests sent, the successful one included. */
  requests: number;
  /** One line per failed request, e.g. "rate limited (429: ...); waited 1000 ms". */
  retried: string[];
}

/** Gives up after settings.requestRetries retries with an Error saying what failed and how to fix it. */
export async function callWithRetries(model: LanguageModel, settings: LlmSettings, request: ModelRequest, signal: AbortSignal, hooks: RetryHooks = {}): Promise<CallOutcome> {
  const sleep = hooks.sleep ?? abortableSleep;
  const retried: string[] = [];
  for (let attempt = 0; ; attempt++) {
    signal.throwIfAborted();
    try {
      const answer = await callOnce(model, settings, request, signal);
      if (answer.text.trim() === "") throw new EmptyAnswerError(answer.finishReason);
      return { answer, requests: attempt + 1, retried };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const failure = describeFailure(error, settings);
      const where = `${settings.provider} model ${settings.model}`;
      if (!failure.retryable) throw new Error(`${where}: ${failure.message}`, { cause: error });
      if (failure.retryAfterMs !== null && failure.retryAfterMs > MAX_RETRY_AFTER_MS) {
        throw new Error(`${where}: ${failure.message}; the provider asks to wait ${Math.round(failure.retryAfterMs / 1000)} s, longer than autoresearch waits — try again later`, { cause: error });
      }
      if (attempt >= settings.requestRetries) {
        const tries = attempt + 1;
        throw new Error(`${where}: ${failure.message} — gave up after ${tries} request${tries === 1 ? "" : "s"} (proposer.requestRetries: ${settings.requestRetries})`, { cause: error });
      }
      const waitMs = failure.retryAfterMs ?? backoffMs(attempt, hooks.backoffBaseMs ?? 1000, hooks.random);
      retried.push(`${failure.message}; waited ${waitMs} ms`);
      await sleep(waitMs, signal);
    }
  }
}

async function callOnce(model: LanguageModel, settings: LlmSettings, request: ModelRequest, signal: AbortSignal): Promise<ModelAnswer> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new RequestTimeoutError(settings.requestTimeoutMs)), settings.requestTimeoutMs);
  const abortSignal = AbortSignal.any([signal, timeout.signal]);
  const options = {
    model, system: request.system, messages: request.messages, maxOutputTokens: settings.maxOutputTokens,
    temperature: settings.temperature, maxRetries: 0, abortSignal,
  };
  try {
    if (!settings.stream) {
      const result = await generateText(options);
      return { text: result.text, finishReason: result.finishReason, usage: tokens(result.usage) };
    }
    // onError: the SDK would print stream errors to the console; here they are thrown instead.
    const result = streamText({ ...options, onError: () => {} });
    let text = "";
    for await (const part of result.fullStream) {
      if (part.type === "text-delta") text += part.text;
      else if (part.type === "error") throw part.error;
      else if (part.type === "abort") throw abortSignal.reason ?? new TruncatedAnswerError();
      else if (part.type === "finish") return { text, finishReason: part.finishReason, usage: tokens(part.totalUsage) };
    }
    throw new TruncatedAnswerError();
  } catch (error) {
    if (timeout.signal.aborted && !signal.aborted) throw new RequestTimeoutError(settings.requestTimeoutMs);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function tokens(usage: { inputTokens: number | undefined; outputTokens: number | undefined }): TokenCount {
  return { inputTokens: usage.inputTokens ?? 0, outputTokens: usage.outputTokens ?? 0 };
}
