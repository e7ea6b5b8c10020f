// A research project in a temporary git repository, with a small JavaScript workload whose
// behaviour the mutable params.json selects: train well, crash, hang, spawn orphans, tamper.
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { TestContext } from "node:test";
import { EventBus, type EngineEvent } from "../../src/events/types.ts";
import { Ledger } from "../../src/ledger/sqlite.ts";

const TRAIN = `
const fs = require("fs");
const { spawn } = require("child_process");
const params = JSON.parse(fs.readFileSync("params.json", "utf8"));
const out = process.env.AUTORESEARCH_OUTPUT_DIR;
fs.writeFileSync(out + "/env.json", JSON.stringify(process.env));
for (let step = 1; step <= 3; step++) process.stdout.write("step " + step + "/3\\r");
process.stdout.write("\\n");
switch (params.mode) {
  case "crash": console.error("boom: simulated crash"); process.exit(3);
  case "hang": setInterval(() => {}, 1000); break;
  case "orphans": {
    const child = spawn("sh", ["-c", "sleep 1; echo late > late-child; sleep 1000"], { cwd: out, detached: false, stdio: "ignore" });
    const escapee = spawn("setsid", ["sh", "-c", "sleep 1; echo late > late-escapee; sleep 1001"], { cwd: out, stdio: "ignore" });
    console.log("pids " + child.pid + " " + escapee.pid);
    fs.writeFileSync(out + "/x.json", JSON.stringify({ x: params.x }));
    setTimeout(() => process.exit(0), 300);
    break;
  }
  case "tamper-protected": fs.appendFileSync("evaluate.js", "\\n// changed by train\\n"); break;
  case "rewrite-self": fs.writeFileSync("params.json", JSON.stringify({ x: 1, mode: "ok" })); break;
  case "tamper-data": fs.chmodSync(process.env.AUTORESEARCH_DATA_DIR + "/d.txt", 0o644); fs.appendFileSync(process.env.AUTORESEARCH_DATA_DIR + "/d.txt", "x"); break;
  case "print-score": console.log("score: 0.5"); break;
  case "peek": {
    let seen;
    try { seen = fs.readFileSync(process.env.AUTORESEARCH_DATA_DIR + "/d.txt", "utf8"); } catch (error) { seen = error.code; }
    fs.writeFileSync(out + "/peek.json", JSON.stringify({ seen }));
    break;
  }
  case "sleep": setTimeout(() => fs.writeFileSync(out + "/x.json", JSON.stringify({ x: params.x })), (params.seconds || 30) * 1000); break;
  default: fs.writeFileSync(out + "/x.json", JSON.stringify({ x: params.x }));
}
if (!["hang", "orphans", "sleep"].includes(params.mode)) fs.writeFileSync(out + "/x.json", JSON.stringify({ x: params.x }));
`;

const EVALUATE = `
const fs = require("fs");
const { x } = JSON.parse(fs.readFileSync(process.env.AUTORESEARCH_OUTPUT_DIR + "/x.json", "utf8"));
fs.writeFileSync(require("path").dirname(process.env.AUTORESEARCH_METRICS_FILE) + "/eval-env.json", JSON.stringify(process.env));
const data = fs.readFileSync(process.env.AUTORESEARCH_DATA_DIR + "/d.txt", "utf8");
fs.writeFileSync(process.env.AUTORESEARCH_METRICS_FILE, JSON.stringify({ score: (x - 7) ** 2, heldout: (x - 7) ** 2 + 0.5, data_bytes: data.length }));
`;

const PREPARE = `
const fs = require("fs");
fs.writeFileSync(process.env.AUTORESEARCH_DATA_DIR + "/d.txt", "prepared data\\n");
`;

export interface Proposal {
  description: string;
  params?: Record<string, unknown>;
  edits?: Array<Record<string, string>>;
}

export function baseConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    mutable: ["params.json", "train.js"],
    protected: ["evaluate.js", "prepare.js"],
    prepare: { command: "node prepare.js" },
    train: { command: "node train.js" },
    evaluate: { command: "node evaluate.js", timeoutSeconds: 30 },
    metric: { name: "score", direction: "min", heldOut: "heldout", secondary: ["data_bytes"] },
    budgetSeconds: 1,
    timeoutSeconds: 4,
    killGraceSeconds: 1,
    devices: ["cpu"],
    proposer: { name: "replay", file: "proposals.json" },
    acceptance: { policy: "greedy" },
    ...overrides,
  };
}

/** Creates and commits the project; removed when the test ends. */
export function makeProject(t: TestContext, options: { config?: Record<string, unknown>; proposals?: Proposal[]; params?: Record<string, unknown>; /** More files, or other contents (path -> text). */ files?: Record<string, string> } = {}): string {
  const root = mkdtempSync(join(tmpdir(), "autoresearch-e2e-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, "project");
  const files: Record<string, string> = {
    "train.js": TRAIN,
    "evaluate.js": EVALUATE,
    "prepare.js": PREPARE,
    "program.md": "# Make score small\n",
    "params.json": `${JSON.stringify(options.params ?? { x: 3, mode: "ok" })}\n`,
    "autoresearch.config.json": `${JSON.stringify(options.config ?? baseConfig(), null, 2)}\n`,
    "proposals.json": `${JSON.stringify({ proposals: (options.proposals ?? []).map(toReplay) }, null, 2)}\n`,
    ".gitignore": "/.autoresearch/\n/results.tsv\n",
    ...options.files,
  };
  return writeCommittedRepo(dir, files);
}

/** Writes the files (path -> text) into dir, makes it a git repository on main and commits them all. */
export function writeCommittedRepo(dir: string, files: Record<string, string>): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  gitIn(dir, "init", "-q", "-b", "main");
  gitIn(dir, "add", "-A");
  gitIn(dir, "-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "-qm", "init");
  return dir;
}

function toReplay(proposal: Proposal) {
  const edits = proposal.edits ?? [{ path: "params.json", content: `${JSON.stringify(proposal.params)}\n` }];
  return { description: proposal.description, hypothesis: `testing ${proposal.description}`, edits };
}

export function gitIn(dir: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd: dir, encoding: "utf8" }).trim();
}

/** Every experiment in the project's ledger, oldest first, read as another process would. */
export function ledgerRows(dir: string) {
  const ledger = Ledger.open(join(dir, ".autoresearch"), { readOnly: true });
  try {
    return ledger.listExperiments({ order: "asc" });
  } finally {
    ledger.close();
  }
}

/** An event bus that records every event. */
export function recordingBus(): { bus: EventBus; events: EngineEvent[] } {
  const bus = new EventBus();
  const events: EngineEvent[] = [];
  bus.subscribe((event) => events.push(event));
  return { bus, events };
}

/** Running (a zombie waiting for a reaper that this container may not have counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

export const CLI = join(import.meta.dirname, "..", "..", "bin", "autoresearch.js");
