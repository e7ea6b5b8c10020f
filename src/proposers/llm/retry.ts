// Which request failures are worth retrying, and how long to wait before the next try.
import { APICallError } from "ai";

export interface Failure {
  retryable: boolean;
  /** One line for the user: what happened. */
  message: string;
  /** What the server asked us to wait (retry-after), if it said. */
  retryAfterMs: number | null;
}

/** Raised when a request outlived proposer.requestTimeoutSeconds. */
export class RequestTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no complete answer within ${timeoutMs / 1000} s (proposer.requestTimeoutSeconds)`);
    this.name = "RequestTimeoutError";
  }
}

/** Raised when a streamed answer ended without the provider's finish event. */
export class TruncatedAnswerError extends Error {
  constructor() {
    super("the answer stream ended before the model finished (connection cut)");
    this.name = "TruncatedAnswerError";
  }
}

/** Raised when a call produced no text at all (a malformed or empty response). */
export class EmptyAnswerError extends Error {
  constructor(finishReason: string) {
    super(`the response held no answer text (finish reason: ${finishReason})`);
    this.name = "EmptyAnswerError";
  }
}

/** Longer waits than this are not waited out: the loop pauses with the message instead. */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

export function describeFailure(error: unknown, where: { provider: string; model: string; apiKeyEnv: string | null }): Failure {
  if (error instanceof RequestTimeoutError || error instanceof TruncatedAnswerError || error instanceof EmptyAnswerError) {
    return { retryable: true, message: error.message, retryAfterMs: null };
  }
  if (APICallError.isInstance(error)) {
    const status = error.statusCode;
    const detail = oneLine(error.message);
    if (status === undefined) return { retryable: true, message: `cannot reach ${error.url}: ${detail}`, retryAfterMs: null };
    const retryAfterMs = parseRetryAfter(error.responseHeaders);
    if (status === 401 || status === 403) {
      const key = where.apiKeyEnv ? `check the key in ${where.apiKeyEnv}` : "set proposer.apiKeyEnv to the variable holding the key";
      return { retryable: false, message: `the ${where.provider} API refused the credentials (${status}: ${detail}); ${key}`, retryAfterMs };
    }
    if (status === 404) {
      return { retryable: false, message: `the ${where.provider} API does not know model "${where.model}" or the URL ${error.url} (404: ${detail}); check proposer.model and proposer.baseURL`, retryAfterMs };
    }
    if (status === 429 || status === 408 || status === 409 || status >= 500) {
      return { retryable: true, message: `${status === 429 ? "rate limited" : "server error"} (${status}: ${detail})`, retryAfterMs };
    }
    if (status === 200) return { retryable: true, message: `malformed response: ${detail}`, retryAfterMs: null };
    return { retryable: false, message: `the ${where.provider} API refused the request (${status}: ${detail})`, retryAfterMs };
  }
  // Anything else the SDK raises here (invalid JSON, a response failing its schema, an empty
  // stream) is a bad answer from the server: worth another try.
  const message = error instanceof Error ? `${error.name}: ${oneLine(error.message)}` : String(error);
  return { retryable: true, message: `malformed response: ${message}`, retryAfterMs: null };
}

/** retry-after-ms (milliseconds) or retry-after (seconds, or an HTTP date), as the providers send them. */
export function parseRetryAfter(headers: Record<string, string> | undefined, nowMs = Date.now()): number | null {
  if (!headers) return null;
  const lower = Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]));
  const ms = Number.parseFloat(lower["retry-after-ms"] ?? "");
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = lower["retry-after"];
  if (value === undefined) return null;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - nowMs) : null;
}

/** Exponential backoff with jitter (attempt 0 is the first retry), capped at a minute. */
export function backoffMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(60_000, baseMs * 2 ** attempt);
  return Math.round(exponential * (0.75 + 0.5 * random()));
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}
