// Child process for the ledger tests: a viewer (like the dashboard) that opens the
// ledger read-only and, for each "read" line on stdin, prints what it sees as JSON.
// Usage: node ledger-reader.ts <stateDir> <tag>
import { createInterface } from "node:readline";
import { writeSync } from "node:fs";
import { Ledger } from "../../src/ledger/sqlite.ts";

const [stateDir, tag] = process.argv.slice(2);
const ledger = Ledger.open(stateDir, { readOnly: true });
writeSync(1, "ready\n");
createInterface({ input: process.stdin })
  .on("line", () => {
    const experiments = ledger.listExperiments({ tag }).map(({ id, status, metric, decision }) => ({ id, status, metric, decision }));
    const session = ledger.getSession(tag);
    writeSync(1, JSON.stringify({ experiments, bestExperimentId: session?.bestExperimentId ?? null }) + "\n");
  })
  .on("close", () => ledger.close());
