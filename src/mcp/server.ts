// The MCP server: tools for an agent (Claude Code, Codex, Cursor, any MCP client) to drive a
// session while the harness keeps the integrity. The agent edits the mutable files and asks for
// an experiment; running, measuring and the keep/discard decision stay with the harness.
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { UserError } from "../errors.ts";
import { EventBus, type EngineEvent } from "../events/types.ts";
import type { Ledger } from "../ledger/sqlite.ts";
import type { SessionRecord } from "../core/session.ts";
import { notebookPath } from "../proposers/llm/notebook.ts";
import { projectPaths, sessionDir } from "../project/paths.ts";
import { safeText } from "../text/safe-text.ts";
import { runWorkingTreeExperiment, type RunToolOptions } from "./run-tool.ts";
import { experimentOutput, notebookOutput, resultsOutput, runExperimentOutput, statusOutput } from "./schemas.ts";
import { NO_SESSION, experimentData, experimentView, findSession, resultsData, resultsTable, statusView, withLedger } from "./views.ts";

export interface ServerOptions {
  projectDir: string;
  tag?: string;
  /** Aborted when the server shuts down: a running experiment is interrupted and recorded. */
  signal: AbortSignal;
  /** Tests only. */
  gpus?: RunToolOptions["gpus"];
  /** Run the agent's code without the sandbox (`mcp --unsandboxed`; every view says so). */
  unsandboxed?: boolean;
}

const NOTE_CHARS = 20_000;

export interface ResearchServer {
  server: McpServer;
  /** Resolves once no experiment is running (after a shutdown: once it is recorded as interrupted). */
  idle(): Promise<void>;
}

export function createResearchServer(options: ServerOptions): ResearchServer {
  const server = new McpServer({ name: "autoresearch", version: "0.1.0" });
  const { projectDir } = options;
  let running: Promise<unknown> | null = null;
  /** A read-only view of the session as the tool's text and structured content, or NO_SESSION before the first one. */
  const sessionAnswer = (render: (ledger: Ledger, session: SessionRecord) => { text: string; data: Record<string, unknown> }, none: Record<string, unknown>) => {
    const view = withLedger(projectDir, (ledger) => {
      const session = findSession(ledger, options.tag);
      return session ? render(ledger, session) : null;
    });
    return view ? answer(view.text, view.data) : answer(NO_SESSION, none);
  };

  server.registerTool("status", {
    title: "Session status",
    description: "Where the research session stands: experiments, keeps, baseline and best metric, noise, the branch holding the best, what is running.",
    inputSchema: {},
    outputSchema: statusOutput,
    annotations: { readOnlyHint: true },
  }, async () => guarded(() => sessionAnswer((ledger, session) => {
    const view = statusView(projectDir, ledger, session);
    return { text: JSON.stringify(view, null, 2), data: { session: session.tag, ...view } };
  }, { session: null, message: NO_SESSION })));

  server.registerTool("results", {
    title: "Experiment table",
    description: "Every experiment of the session: id, result (keep/discard or the failure), metric, delta against the best at the time, description.",
    inputSchema: {},
    outputSchema: resultsOutput,
    annotations: { readOnlyHint: true },
  }, async () => guarded(() => sessionAnswer(
    (ledger, session) => ({ text: resultsTable(ledger, session), data: resultsData(ledger, session) }),
    { session: null, metric: null, experiments: [], best: null },
  )));

  server.registerTool("show_experiment", {
    title: "Show one experiment",
    description: "One experiment: description, hypothesis, diff, metrics, the decision and its rationale, and a clean tail of its log.",
    inputSchema: { id: z.number().int().positive().describe("the experiment id (see results)") },
    outputSchema: experimentOutput,
    annotations: { readOnlyHint: true },
  }, async ({ id }) => guarded(() => {
    const row = withLedger(projectDir, (ledger) => ledger.getExperiment(id));
    if (!row) return failure(`no experiment ${id}; see the results tool for the ids`);
    return answer(experimentView(row), experimentData(row));
  }));

  server.registerTool("run_experiment", {
    title: "Run the working-tree change as an experiment",
    description:
      "Runs your current change to the project's mutable files as one experiment: the harness takes the difference between your checkout " +
      "and the session's best, commits it in its own worktree, checks that only mutable files changed, trains under the budget, evaluates with the " +
      "protected evaluator, and keeps or discards it by the session's rule. Changes to any other file are refused. Answers with the decision, " +
      "the metric, the delta and a clean log tail. Training takes the configured budget: expect minutes. Do not run the training yourself.",
    inputSchema: {
      description: z.string().min(1).max(200).describe("one line: what this change does"),
      hypothesis: z.string().max(1000).optional().describe("why it should improve the metric"),
    },
    outputSchema: runExperimentOutput,
  }, async ({ description, hypothesis }, extra) => guarded(async () => {
    if (running) return failure("an experiment is already running; wait for its answer before starting another (see status)");
    const bus = new EventBus();
    const progressToken = extra._meta?.progressToken;
    let progress = 0;
    if (progressToken !== undefined) {
      bus.subscribe((event) => {
        const message = progressMessage(event);
        if (message === null) return;
        progress += 1;
        extra.sendNotification({ method: "notifications/progress", params: { progressToken, progress, message } }).catch(() => undefined);
      });
    }
    const task = runWorkingTreeExperiment(
      { projectDir, tag: options.tag, bus, signal: AbortSignal.any([options.signal, extra.signal]), gpus: options.gpus, unsandboxed: options.unsandboxed },
      { description: clean(description), hypothesis: hypothesis === undefined ? undefined : clean(hypothesis) },
    );
    running = task;
    try {
      const { summary, data, ran } = await task;
      // The JSON text block stays for clients that read only text; structuredContent carries the same data.
      return { content: [{ type: "text", text: safeText(summary) }, { type: "text", text: safeText(JSON.stringify(data, null, 2)) }], structuredContent: cleanData(data), isError: !ran };
    } finally {
      running = null;
    }
  }));

  server.registerTool("append_notebook", {
    title: "Append to the research notebook",
    description: "Appends a note (what you learned, what to try next) to the session's notebook, notes.md, which later prompts and you can read back.",
    inputSchema: { note: z.string().min(1).max(NOTE_CHARS).describe("markdown text to append") },
    outputSchema: notebookOutput,
  }, async ({ note }) => guarded(() => {
    const tag = options.tag ?? withLedger(projectDir, (ledger) => ledger.listSessions().at(-1)?.tag ?? null);
    if (!tag) return failure(NO_SESSION);
    const path = notebookPath(sessionDir(projectPaths(projectDir), tag));
    mkdirSync(dirname(path), { recursive: true });
    appendFileSync(path, `\n## Note (${new Date().toISOString()}, via MCP)\n\n${clean(note).trim()}\n`);
    return answer(`appended to ${path}`, { path });
  }));

  return { server, idle: async () => void (await running?.catch(() => undefined)) };
}

/** Turns expected failures (a running `autoresearch run` holds the lock, an uncommitted config) into tool errors. */
async function guarded(body: () => CallToolResult | Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof UserError) return failure(`${error.message}${error.hint ? `\n${error.hint}` : ""}`);
    process.stderr.write(`autoresearch mcp: unexpected error\n${(error as Error)?.stack ?? String(error)}\n`);
    return failure(`unexpected error in the harness: ${(error as Error)?.message ?? String(error)}`);
  }
}

// Every text a tool answers holds what workloads and proposers wrote: control characters made visible,
// in the text block and in every string of the structured content alike.
function answer(value: string, data: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: safeText(value) }], structuredContent: cleanData(data) };
}

function cleanData<T>(value: T): T {
  if (typeof value === "string") return safeText(value) as T;
  if (Array.isArray(value)) return value.map(cleanData) as T;
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, cleanData(item)])) as T;
  return value;
}

function failure(message: string): CallToolResult {
  return { content: [{ type: "text", text: safeText(message) }], isError: true };
}

function clean(value: string): string {
  return safeText(value);
}

function progressMessage(event: EngineEvent): string | null {
  switch (event.type) {
    case "prepare_started":
      return "preparing data";
    case "experiment_started":
      return `experiment ${event.id} started: ${event.description}`;
    case "experiment_phase":
      return `experiment ${event.id}: ${event.phase}`;
    case "experiment_finished":
      return `experiment ${event.id} finished: ${event.status}`;
    default:
      return null;
  }
}
