// A stand-in for the `claude` and `codex` CLIs (and a generic agent command), run as a real
// process: `node fake-agent.ts <claude|codex|command> <script.json> [the CLI's own arguments]`.
// Each invocation plays the next step of the script (edit files, print, exit, hang) in its
// working directory, speaks the CLI's output format, and records what it was given.
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface FakeStep {
  /** Files to write, relative to the working directory (read-only ones are made writable first). */
  write?: Record<string, string>;
  /** The agent's final message. */
  message?: string;
  stderr?: string;
  exit?: number;
  /** Never finish (the harness's time limit must kill it). */
  hang?: boolean;
  /** Claude: report an error result although exiting 0. */
  isError?: boolean;
  costUsd?: number;
}

export interface FakeRecord {
  agent: string;
  argv: string[];
  cwd: string;
  stdin: string;
  env: Record<string, string>;
  pid: number;
}

const [agent, scriptPath, ...argv] = process.argv.slice(2) as [string, string, ...string[]];
const script = JSON.parse(readFileSync(scriptPath, "utf8")) as { steps: FakeStep[] };
const counterPath = `${scriptPath}.next`;
const index = existsSync(counterPath) ? Number(readFileSync(counterPath, "utf8")) : 0;
writeFileSync(counterPath, String(index + 1));
const step = script.steps[Math.min(index, script.steps.length - 1)] ?? {};
const stdin = readFileSync(0, "utf8");
const record: FakeRecord = { agent, argv, cwd: process.cwd(), stdin, env: process.env as Record<string, string>, pid: process.pid };
appendFileSync(`${scriptPath}.calls.jsonl`, `${JSON.stringify(record)}\n`);

function usageError(text: string): never {
  process.stderr.write(`${agent}: ${text}\n`);
  process.exit(2);
}

if (agent === "claude" && (!argv.includes("-p") || argv[argv.indexOf("--output-format") + 1] !== "json")) usageError("expected -p --output-format json");
if (agent === "codex" && (argv[0] !== "exec" || argv.at(-1) !== "-" || !argv.includes("--output-last-message"))) usageError("expected exec ... --output-last-message FILE -");
if (stdin.trim() === "") usageError("no prompt on stdin");

for (const [path, content] of Object.entries(step.write ?? {})) {
  const target = join(process.cwd(), path);
  mkdirSync(dirname(target), { recursive: true });
  if (existsSync(target)) chmodSync(target, 0o644); // a determined agent gets past read-only files
  writeFileSync(target, content);
}
if (step.stderr) process.stderr.write(`${step.stderr}\n`);
process.stderr.write(`working in ${process.cwd()}\n`);
if (step.hang) {
  setInterval(() => {}, 1000);
} else {
  const message = step.message ?? "";
  if (agent === "claude") {
    const result = {
      type: "result", subtype: step.isError ? "error_during_execution" : "success", is_error: Boolean(step.isError), duration_ms: 1200, num_turns: 3,
      result: message, session_id: "fake-session", total_cost_usd: step.costUsd ?? 0.0123,
      usage: { input_tokens: 1000, cache_creation_input_tokens: 200, cache_read_input_tokens: 300, output_tokens: 150 },
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else if (agent === "codex") {
    const lastMessageFile = argv[argv.indexOf("--output-last-message") + 1]!;
    const events = [
      { type: "thread.started", thread_id: "fake-thread" },
      { type: "turn.started" },
      { type: "item.completed", item: { id: "item_0", type: "agent_message", text: message } },
      { type: "turn.completed", usage: { input_tokens: 2000, cached_input_tokens: 500, output_tokens: 250 } },
    ];
    for (const event of events) process.stdout.write(`${JSON.stringify(event)}\n`);
    writeFileSync(lastMessageFile, message);
  } else if (process.env.AUTORESEARCH_MESSAGE_FILE) {
    writeFileSync(process.env.AUTORESEARCH_MESSAGE_FILE, message);
  }
  process.exitCode = step.exit ?? 0;
}
