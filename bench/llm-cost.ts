// Cost accounting on a scripted session: a real loop (git, processes, ledger) driven by the llm
// proposer against a fake Anthropic server, whose mutable files are the ts-demo template's (so
// prompts have a realistic size) plus a knob.json the evaluator reports as the metric.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EventBus } from "../src/events/types.ts";
import { Ledger } from "../src/ledger/sqlite.ts";
import { runSession } from "../src/loop/session.ts";
import { projectPaths } from "../src/project/paths.ts";
import { FAKE_KEY_ENV, fakeProposerConfig, protocolAnswer, startFakeLlm } from "../test/helpers/fake-llm.ts";
import { KNOB_FILE, makeBenchProject } from "./project.ts";

export interface CostFigures {
  model: string;
  experiments: number;
  candidates: number;
  requests: number;
  perCandidate: Array<{ id: number; description: string; inputTokens: number; outputTokens: number; costUsd: number }>;
  ledgerTokens: number;
  ledgerCostUsd: number;
  /** Every token the server reported, including proposals prepared ahead but never run. */
  servedTokens: number;
}

const TEMPLATE = join(import.meta.dirname, "..", "templates", "ts-demo");

function knobAnswer(step: number): string {
  return protocolAnswer({ description: `score to ${(2 - step * 0.1).toFixed(1)}`, hypothesis: "a lower knob is a lower score", edits: [{ path: KNOB_FILE, content: `${JSON.stringify({ score: 2 - step * 0.1 })}\n` }] });
}

/** A session of `experiments` runs; every fourth proposal first gets a stale edit, to show that retries are paid for too. */
export async function measureCost(experiments: number): Promise<CostFigures> {
  const project = makeBenchProject({ budgetSeconds: 0.2, evaluateSeconds: 0 });
  let step = 0;
  let proposals = 0;
  const fake = await startFakeLlm("anthropic", (request) => {
    if (request.system.startsWith("You keep the research notebook")) return { text: "## What helped\n- lowering the knob\n" };
    if (request.lastUser === request.messages[0]!.content) proposals += 1;
    const staleFirst = proposals % 4 === 0 && request.lastUser === request.messages[0]!.content;
    if (staleFirst) return { text: protocolAnswer({ description: "stale", edits: [{ path: "model.ts", search: "HIDDEN_SIZE = 999", replace: "HIDDEN_SIZE = 1000" }] }) };
    step += 1;
    return { text: knobAnswer(step) };
  });
  Object.assign(process.env, FAKE_KEY_ENV);
  try {
    // The ts-demo files as (unexecuted) mutable context, so the prompt is as large as a real one.
    for (const name of ["program.md", "model.ts", "train.ts"]) writeFileSync(join(project.dir, name), readFileSync(join(TEMPLATE, name), "utf8"));
    const configPath = join(project.dir, "autoresearch.config.json");
    const config = JSON.parse(readFileSync(configPath, "utf8"));
    config.mutable = [KNOB_FILE, "model.ts", "train.ts"];
    config.proposer = { ...fakeProposerConfig("anthropic", fake), notebookEvery: 5 };
    writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
    execFileSync("git", ["add", "-A"], { cwd: project.dir });
    execFileSync("git", ["-c", "user.name=Bench", "-c", "user.email=bench@localhost", "commit", "-qm", "ts-demo files", "--no-gpg-sign"], { cwd: project.dir });
    await runSession({ projectDir: project.dir, tag: "cost", bus: new EventBus(), signal: new AbortController().signal, maxExperiments: experiments });
    const ledger = Ledger.open(projectPaths(project.dir).stateDir, { readOnly: true });
    const rows = ledger.listExperiments({ tag: "cost", order: "asc" });
    ledger.close();
    const candidates = rows.filter((row) => row.kind === "candidate" && row.usage);
    const perCandidate = candidates.map((row) => ({ id: row.id, description: row.description, inputTokens: row.usage!.inputTokens, outputTokens: row.usage!.outputTokens, costUsd: row.usage!.costUsd ?? 0 }));
    const served = fake.requests.reduce((sum, request) => sum + (request.usage ? request.usage.inputTokens + request.usage.outputTokens : 0), 0);
    return {
      model: "claude-sonnet-4-5 ($3 / $15 per million tokens)", experiments: rows.length, candidates: candidates.length, requests: fake.requests.length, perCandidate,
      ledgerTokens: perCandidate.reduce((sum, row) => sum + row.inputTokens + row.outputTokens, 0),
      ledgerCostUsd: perCandidate.reduce((sum, row) => sum + row.costUsd, 0),
      servedTokens: served,
    };
  } finally {
    for (const key of Object.keys(FAKE_KEY_ENV)) delete process.env[key];
    await fake.close();
    project.cleanup();
  }
}
