// node bench/llm.ts: the llm proposer against fake provider servers — edit-apply failure rate and
// proposal latency on a scripted mix of answers, and cost accounting on a scripted session.
// Prints markdown for docs/benchmarks.md ("LLM proposer").
import { parseArgs } from "node:util";
import { measureCost } from "./llm-cost.ts";
import { measureEdits, MIX } from "./llm-edits.ts";

const { values: flags } = parseArgs({ options: { rounds: { type: "string", default: "50" }, experiments: { type: "string", default: "12" } } });
const rounds = Number(flags.rounds);
const experiments = Number(flags.experiments);
if (!(Number.isInteger(rounds) && rounds >= MIX.length) || !(Number.isInteger(experiments) && experiments >= 3)) {
  process.stderr.write(`usage: node bench/llm.ts [--rounds N (integer >= ${MIX.length})] [--experiments N (integer >= 3)]\n`);
  process.exit(2);
}

const out = (line = "") => process.stdout.write(`${line}\n`);
const ms = (value: number) => value.toFixed(1);
const percent = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}%`;

out(`### Edit-apply failures and proposal latency (${rounds} proposals per row)`);
out();
out(`Scripted mix per 10 proposals: ${MIX.join(", ")}. Prompt: the ts-demo template's program.md, model.ts and train.ts, 30 experiments of history.`);
out();
out("| provider | answers | failed answers (rate) | whitespace repairs | proposals skipped | prompt chars | latency p50 / p95 / mean (ms) |");
out("|---|---|---|---|---|---|---|");
for (const protocol of ["anthropic", "openai"] as const) {
  for (const stream of [true, false]) {
    const figures = await measureEdits(protocol, stream, rounds);
    out(`| ${figures.label} | ${figures.answers} | ${figures.failedAnswers} (${percent(figures.failedAnswers, figures.answers)}) | ${figures.whitespaceRepairs} | ${figures.skipped} of ${figures.proposals} | ${figures.promptChars} | ${ms(figures.latencyMs.p50)} / ${ms(figures.latencyMs.p95)} / ${ms(figures.latencyMs.mean)} |`);
  }
}
out();

const cost = await measureCost(experiments);
out(`### Cost accounting on a scripted session (${cost.experiments} experiments, ${cost.model})`);
out();
out("| experiment | description | input tokens | output tokens | $ |");
out("|---|---|---|---|---|");
for (const row of cost.perCandidate) out(`| ${row.id} | ${row.description} | ${row.inputTokens} | ${row.outputTokens} | ${row.costUsd.toFixed(4)} |`);
out();
const perCandidate = cost.ledgerCostUsd / Math.max(1, cost.candidates);
const unrun = cost.servedTokens - cost.ledgerTokens;
out(`Ledger total (what \`autoresearch status\` shows): ${cost.ledgerTokens} tokens, $${cost.ledgerCostUsd.toFixed(4)} — $${perCandidate.toFixed(4)} per candidate. ` +
  `The server answered ${cost.requests} requests reporting ${cost.servedTokens} tokens` +
  (unrun === 0 ? "; the ledger accounts for every one of them, failed answers and notebook updates included." : `; ${unrun} of them went to a proposal prepared ahead and never run when the session stopped.`));
