// Fake LLM provider servers on 127.0.0.1:0 that speak the real wire protocols — Anthropic Messages
// (POST /v1/messages) and OpenAI Chat Completions (POST /v1/chat/completions), streaming (SSE) and
// not — so the real AI SDK client runs end to end. Answers are scripted; every request is captured.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type FakeProtocol = "anthropic" | "openai";

export interface FakeReply {
  /** The assistant's answer. */
  text?: string;
  /** Answer with this HTTP error status (and the protocol's error body) instead. */
  status?: number;
  headers?: Record<string, string>;
  errorMessage?: string;
  /** A raw 200 body instead of a well-formed answer (malformed output). */
  rawBody?: string;
  /** Accept the request and never answer (until the client gives up or the server closes). */
  hang?: boolean;
  /** Send this much of the answer, then cut the connection without finishing. */
  truncateAfterChars?: number;
  usage?: { inputTokens: number; outputTokens: number };
  /** "length" reports the answer as cut off by the output-token limit. */
  finishReason?: "stop" | "length";
}

export interface CapturedRequest {
  index: number;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
  stream: boolean;
  system: string;
  messages: Array<{ role: string; content: string }>;
  /** The last user message: the prompt of this call (or the feedback of a retry). */
  lastUser: string;
  /** The token usage the answer reported (absent for errors). */
  usage?: { inputTokens: number; outputTokens: number };
}

export type FakeScript = FakeReply[] | ((request: CapturedRequest) => FakeReply);

export interface FakeLlm {
  /** What the provider's `baseURL` option takes (ends in /v1). */
  baseURL: string;
  requests: CapturedRequest[];
  close(): Promise<void>;
}

const PATHS: Record<FakeProtocol, string> = { anthropic: "/v1/messages", openai: "/v1/chat/completions" };

export async function startFakeLlm(protocol: FakeProtocol, script: FakeScript): Promise<FakeLlm> {
  const requests: CapturedRequest[] = [];
  const server = createServer((request, response) => {
    void readBody(request).then((raw) => {
      if (request.method !== "POST" || request.url !== PATHS[protocol]) {
        return sendError(protocol, response, 404, `fake ${protocol} server: no route ${request.method} ${request.url}`);
      }
      const captured = capture(protocol, requests.length, request, raw);
      requests.push(captured);
      const reply = Array.isArray(script)
        ? (script[captured.index] ?? { status: 500, errorMessage: `fake ${protocol} server: no scripted reply for request ${captured.index + 1}` })
        : script(captured);
      answer(protocol, captured, reply, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((part) => (part as { text?: string }).text ?? "").join("");
  return "";
}

function capture(protocol: FakeProtocol, index: number, request: IncomingMessage, raw: string): CapturedRequest {
  const body = JSON.parse(raw) as Record<string, unknown>;
  const all = ((body.messages as Array<{ role: string; content: unknown }>) ?? []).map((message) => ({ role: message.role, content: textOf(message.content) }));
  const system = protocol === "anthropic" ? textOf(body.system) : all.filter((message) => message.role === "system").map((message) => message.content).join("\n");
  const messages = all.filter((message) => message.role !== "system");
  const lastUser = messages.filter((message) => message.role === "user").at(-1)?.content ?? "";
  return { index, path: request.url ?? "", headers: request.headers, body, stream: body.stream === true, system, messages, lastUser };
}

function answer(protocol: FakeProtocol, request: CapturedRequest, reply: FakeReply, response: ServerResponse): void {
  if (reply.hang) return;
  if (reply.status !== undefined && reply.status !== 200) {
    return sendError(protocol, response, reply.status, reply.errorMessage ?? `scripted error ${reply.status}`, reply.headers);
  }
  if (reply.rawBody !== undefined) {
    response.writeHead(200, { "content-type": "application/json", ...reply.headers });
    response.end(reply.rawBody);
    return;
  }
  const text = reply.text ?? "";
  const promptChars = request.system.length + request.messages.reduce((sum, message) => sum + message.content.length, 0);
  // Roughly four characters a token, so cost figures from the fake look like real ones.
  const usage = reply.usage ?? { inputTokens: Math.ceil(promptChars / 4), outputTokens: Math.ceil(text.length / 4) };
  request.usage = usage;
  const finish = reply.finishReason ?? "stop";
  const cutAt = reply.truncateAfterChars;
  if (!request.stream) {
    const json = JSON.stringify(protocol === "anthropic" ? anthropicMessage(request, text, usage, finish) : openaiCompletion(request, text, usage, finish));
    response.writeHead(200, { "content-type": "application/json", ...reply.headers });
    if (cutAt !== undefined) return cutOff(response, json.slice(0, cutAt));
    response.end(json);
    return;
  }
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...reply.headers });
  const shown = cutAt === undefined ? text : text.slice(0, cutAt);
  const chunks = shown.match(/[\s\S]{1,40}/g) ?? [];
  const events = protocol === "anthropic" ? anthropicEvents(request, chunks, usage, finish) : openaiEvents(request, chunks, usage, finish);
  const opening = protocol === "anthropic" ? 3 : 1;
  const sent = cutAt === undefined ? events : events.slice(0, opening + chunks.length);
  if (cutAt !== undefined) return cutOff(response, sent.join(""));
  response.end(sent.join(""));
}

/** Sends `data`, then drops the connection once it is on the wire (a truncated answer). */
function cutOff(response: ServerResponse, data: string): void {
  response.write(data, () => response.socket?.destroy());
}

function sendError(protocol: FakeProtocol, response: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const type = status === 429 ? "rate_limit_error" : status === 401 ? "authentication_error" : status >= 500 ? "api_error" : "invalid_request_error";
  const body = protocol === "anthropic"
    ? { type: "error", error: { type, message } }
    : { error: { message, type, param: null, code: status === 429 ? "rate_limit_exceeded" : null } };
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}

type TokenUsage = { inputTokens: number; outputTokens: number };

function anthropicMessage(request: CapturedRequest, text: string, usage: TokenUsage, finish: string) {
  return {
    id: `msg_fake_${request.index}`, type: "message", role: "assistant", model: String(request.body.model),
    content: [{ type: "text", text }], stop_reason: finish === "length" ? "max_tokens" : "end_turn", stop_sequence: null,
    usage: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens },
  };
}

function sse(event: string | null, data: unknown): string {
  return `${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
}

function anthropicEvents(request: CapturedRequest, chunks: string[], usage: TokenUsage, finish: string): string[] {
  return [
    sse("message_start", {
      type: "message_start",
      message: { id: `msg_fake_${request.index}`, type: "message", role: "assistant", model: String(request.body.model), content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: usage.inputTokens, output_tokens: 1 } },
    }),
    sse("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
    sse("ping", { type: "ping" }),
    ...chunks.map((chunk) => sse("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: chunk } })),
    sse("content_block_stop", { type: "content_block_stop", index: 0 }),
    sse("message_delta", { type: "message_delta", delta: { stop_reason: finish === "length" ? "max_tokens" : "end_turn", stop_sequence: null }, usage: { output_tokens: usage.outputTokens } }),
    sse("message_stop", { type: "message_stop" }),
  ];
}

function openaiCompletion(request: CapturedRequest, text: string, usage: TokenUsage, finish: string) {
  return {
    id: `chatcmpl-fake-${request.index}`, object: "chat.completion", created: 1_700_000_000, model: String(request.body.model),
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: finish, logprobs: null }],
    usage: { prompt_tokens: usage.inputTokens, completion_tokens: usage.outputTokens, total_tokens: usage.inputTokens + usage.outputTokens },
  };
}

function openaiEvents(request: CapturedRequest, chunks: string[], usage: TokenUsage, finish: string): string[] {
  const base = { id: `chatcmpl-fake-${request.index}`, object: "chat.completion.chunk", created: 1_700_000_000, model: String(request.body.model) };
  const wantsUsage = (request.body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  return [
    sse(null, { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] }),
    ...chunks.map((chunk) => sse(null, { ...base, choices: [{ index: 0, delta: { content: chunk }, finish_reason: null }] })),
    sse(null, { ...base, choices: [{ index: 0, delta: {}, finish_reason: finish }] }),
    ...(wantsUsage ? [sse(null, { ...base, choices: [], usage: { prompt_tokens: usage.inputTokens, completion_tokens: usage.outputTokens, total_tokens: usage.inputTokens + usage.outputTokens } })] : []),
    sse(null, "[DONE]"),
  ];
}

export interface ScriptedProposal {
  description: string;
  hypothesis?: string;
  insight?: string;
  edits: Array<{ path: string; search: string; replace: string } | { path: string; content: string }>;
}

/** An answer in the llm proposer's edit protocol, as a well-behaved model would write it. */
export function protocolAnswer(proposal: ScriptedProposal): string {
  const lines = [`DESCRIPTION: ${proposal.description}`, `HYPOTHESIS: ${proposal.hypothesis ?? `testing ${proposal.description}`}`];
  if (proposal.insight) lines.push(`INSIGHT: ${proposal.insight}`);
  lines.push("");
  for (const edit of proposal.edits) {
    if ("content" in edit) lines.push(`<<<<<<< FILE ${edit.path}`, edit.content.replace(/\n$/, ""), ">>>>>>> END", "");
    else lines.push(`<<<<<<< SEARCH ${edit.path}`, edit.search, "=======", edit.replace, ">>>>>>> REPLACE", "");
  }
  return lines.join("\n");
}

/** A whole-file params.json edit for the test project (test/helpers/project.ts). */
export function paramsAnswer(description: string, params: Record<string, unknown>, insight?: string): string {
  return protocolAnswer({ description, insight, edits: [{ path: "params.json", content: `${JSON.stringify(params)}\n` }] });
}

/** The proposer config pointing at a fake server; the key is read from `apiKeyEnv`. */
export function fakeProposerConfig(protocol: FakeProtocol, fake: FakeLlm, extra: Record<string, unknown> = {}): Record<string, unknown> & { name: string } {
  return {
    name: "llm",
    provider: protocol === "anthropic" ? "anthropic" : "openai",
    model: protocol === "anthropic" ? "claude-sonnet-4-5" : "gpt-4o",
    baseURL: fake.baseURL,
    apiKeyEnv: "AUTORESEARCH_FAKE_LLM_KEY",
    ...extra,
  };
}

export const FAKE_KEY_ENV = { AUTORESEARCH_FAKE_LLM_KEY: "sk-fake-test-key" };

/** The prompt with every untrusted-data block removed: what the model is told outside the data. */
export function outsideUntrusted(prompt: string): string {
  return prompt.replace(/<untrusted-data source="[^"]*">\n[\s\S]*?\n<\/untrusted-data>/g, "");
}

/** The contents of the untrusted-data blocks of a prompt. */
export function untrustedBlocks(prompt: string): string[] {
  return [...prompt.matchAll(/<untrusted-data source="[^"]*">\n([\s\S]*?)\n<\/untrusted-data>/g)].map((match) => match[1]!);
}

/**
 * A scripted model for whole sessions: proposal requests get `answers` in order (then fresh
 * params.json settings, so a session never runs dry); notebook requests get `notes`.
 */
export function scriptedModel(answers: string[], notes = "## What helped\n- scripted notes\n"): FakeScript {
  let next = 0;
  return (request) => {
    if (request.system.startsWith("You keep the research notebook")) return { text: notes };
    const text = answers[next] ?? paramsAnswer(`x to ${100 + next}`, { x: 100 + next, mode: "ok" });
    next += 1;
    return { text };
  };
}
