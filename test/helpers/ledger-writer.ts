// Child process for the ledger crash test: starts and finishes experiments in a tight
// loop, each finish also moving the session's best (as a keep does), and prints each
// id only after its finish committed. The test SIGKILLs it at an arbitrary moment.
// Usage: node ledger-writer.ts <stateDir> <tag>
import { writeSync } from "node:fs";
import { Ledger } from "../../src/ledger/sqlite.ts";

const [stateDir, tag] = process.argv.slice(2);
const ledger = Ledger.open(stateDir);
for (let round = 0; ; round++) {
  const id = ledger.startExperiment({
    tag, kind: "candidate", parentCommit: "p".repeat(40), candidateCommit: `${round}`.padStart(40, "c"),
    candidateTree: `${round}`.padStart(40, "t"), proposer: "writer", description: `round ${round}`,
    diff: "x".repeat(2000 + (round % 7) * 500), device: "cpu", slot: 0,
  });
  const metric = 1 / (id + 1);
  ledger.finishExperiment(id, {
    status: "ok", decision: "keep", metric, heldOutMetric: metric * 1.01, secondary: { round },
    rationale: "better", bestBefore: 1 / id, delta: metric - 1 / id, memoryGb: 1.5,
    timings: { totalMs: 10 }, usage: { inputTokens: 1, outputTokens: 2, costUsd: null },
  }, { bestExperimentId: id, bestMetric: metric, bestCommit: `${round}`.padStart(40, "c") });
  writeSync(1, `${id}\n`);
}
