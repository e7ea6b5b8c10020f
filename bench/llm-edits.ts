// Edit-apply failures and proposal latency of the llm proposer against the fake provider servers,
// with a realistic prompt (the ts-demo template's program and files, a 30-experiment history)
// and a scripted mix of good and bad answers.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createLlmProposer } from "../src/proposers/llm/proposer.ts";
import type { HistoryEntry, ProposalContext } from "../src/proposers/types.ts";
import { FAKE_KEY_ENV, fakeProposerConfig, protocolAnswer, startFakeLlm, type FakeProtocol } from "../test/helpers/fake-llm.ts";

const TEMPLATE = join(import.meta.dirname, "..", "templates", "ts-demo");

/** What the scripted model does for one proposal: its answers, in order. */
type Kind = "good" | "whitespace drift" | "stale search" | "wrong file" | "no edit blocks" | "three bad answers";
// Ten proposals a round: half answered right at once, the rest with the mistakes models make.
export const MIX: Kind[] = ["good", "good", "good", "good", "good", "whitespace drift", "stale search", "wrong file", "no edit blocks", "three bad answers"];

export interface EditFigures {
  label: string;
  proposals: number;
  skipped: number;
  answers: number;
  failedAnswers: number;
  whitespaceRepairs: number;
  promptChars: number;
  latencyMs: { p50: number; p95: number; mean: number };
}

export function templateContext(): ProposalContext {
  const files = { "model.ts": read("model.ts"), "train.ts": read("train.ts") };
  const history: HistoryEntry[] = Array.from({ length: 30 }, (_, index) => ({
    id: index + 1, kind: index < 2 ? "baseline" : "candidate", parentCommit: "0".repeat(40), candidateCommit: "1".repeat(40), proposer: "llm",
    description: index < 2 ? "baseline (unchanged code)" : `experiment ${index + 1}: adjust HIDDEN_SIZE to ${16 + index}`,
    hypothesis: "a wider hidden layer should fit the byte distribution better", status: index % 7 === 3 ? "crash" : "ok",
    decision: index < 2 ? null : index % 4 === 0 ? "keep" : "discard", metric: index % 7 === 3 ? null : 2.3 - index * 0.005, delta: index < 2 ? null : 0.004,
    meta: null, reason: index % 7 === 3 ? "train exited with code 1" : null, logTail: index % 7 === 3 ? "Error: shapes do not match\n    at forward (model.ts:88)" : undefined,
  }));
  return {
    program: read("program.md"), files, best: { commit: "1".repeat(40), metric: 2.2 }, metric: { name: "val_bpb", direction: "min" },
    history, noiseSigma: 0.004, contextGlobs: [], mutableGlobs: ["model.ts", "train.ts"],
  };
}

function read(name: string): string {
  return readFileSync(join(TEMPLATE, name), "utf8");
}

/** The answers the scripted model gives for proposal `round`, of kind `kind`. */
function answersFor(kind: Kind, round: number): string[] {
  const value = 100 + round; // a fresh HIDDEN_SIZE each time (never the current 32), so no answer repeats another
  const good = protocolAnswer({
    description: `HIDDEN_SIZE to ${value}`, hypothesis: "more capacity",
    edits: [{ path: "model.ts", search: "export const HIDDEN_SIZE = 32; // @knob min=8 max=512 scale=log int", replace: `export const HIDDEN_SIZE = ${value}; // @knob min=8 max=512 scale=log int` }],
  });
  const stale = protocolAnswer({ description: "stale", edits: [{ path: "model.ts", search: "export const HIDDEN_SIZE = 64;", replace: "export const HIDDEN_SIZE = 65;" }] });
  switch (kind) {
    case "good": return [good];
    case "whitespace drift": return [good.replace("scale=log int\n=======", "scale=log int   \n=======")];
    case "stale search": return [stale, good];
    case "wrong file": return [protocolAnswer({ description: "edit the evaluator", edits: [{ path: "evaluate.ts", content: "// gone\n" }] }), good];
    case "no edit blocks": return ["DESCRIPTION: wider\nHYPOTHESIS: more capacity\nI would raise HIDDEN_SIZE to 48.", good];
    case "three bad answers": return [stale, stale, stale];
  }
}

export async function measureEdits(protocol: FakeProtocol, stream: boolean, rounds: number): Promise<EditFigures> {
  const queue: string[] = [];
  const fake = await startFakeLlm(protocol, () => ({ text: queue.shift() ?? "DESCRIPTION: nothing scripted" }));
  try {
    const proposer = createLlmProposer(fakeProposerConfig(protocol, fake, { stream }), "/nonexistent", { env: FAKE_KEY_ENV });
    const context = templateContext();
    const latencies: number[] = [];
    let skipped = 0;
    let answers = 0;
    let failedAnswers = 0;
    let whitespaceRepairs = 0;
    // One unmeasured call first: module loading and the first connection are not per-proposal costs.
    queue.push(...answersFor("good", -1));
    await proposer.propose(context, new AbortController().signal);
    for (let round = 0; round < rounds; round++) {
      const kind = MIX[round % MIX.length]!;
      queue.push(...answersFor(kind, round));
      const started = performance.now();
      const result = await proposer.propose(context, new AbortController().signal);
      latencies.push(performance.now() - started);
      if (result.kind === "skip") {
        skipped += 1;
        answers += 3;
        failedAnswers += 3;
        continue;
      }
      const meta = result.meta as { attempts: number; editFailures: number; whitespaceRepairs: number };
      answers += meta.attempts;
      failedAnswers += meta.editFailures;
      whitespaceRepairs += meta.whitespaceRepairs;
    }
    latencies.sort((a, b) => a - b);
    return {
      label: `${protocol}, ${stream ? "streaming" : "not streaming"}`, proposals: rounds, skipped, answers, failedAnswers, whitespaceRepairs,
      promptChars: fake.requests[1]!.system.length + fake.requests[1]!.messages[0]!.content.length,
      latencyMs: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), mean: latencies.reduce((sum, value) => sum + value, 0) / latencies.length },
    };
  } finally {
    await fake.close();
  }
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
