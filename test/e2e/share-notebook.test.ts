// The shared notebook of a study (#11): a worker's notes.md and a person's notes reach the proposers on the
// other machines, and proposers are told which ideas run or ran elsewhere. Real PostgreSQL, a real bare remote,
// workers as real processes; the proposer is an agent command whose prompts the harness keeps.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { cli, finished, makeStudy, openGate, query, startWorker, workerId } from "../helpers/shared-study.ts";

const server = startPostgres();
const skip = typeof server === "string" ? server : false;

// An agent that sets both knobs at random and says what it did.
const AGENT = `const { writeFileSync } = require("node:fs");
const x = Math.floor(Math.random() * 21);
const y = (0.05 + Math.random() * 0.9).toFixed(3);
writeFileSync("knobs.js", "const X = " + x + "; // @knob min=0 max=20 int\\nconst Y = " + y + "; // @knob min=0.01 max=1 scale=log\\nmodule.exports = { X, Y };\\n");
console.log("DESCRIPTION: set X to " + x + " and Y to " + y + "\\nHYPOTHESIS: a random point of the space");
`;

/** Every prompt the worker's agent was given (the harness keeps them under .autoresearch/agents/). */
function prompts(dir: string): string[] {
  const agents = join(dir, ".autoresearch", "agents");
  if (!existsSync(agents)) return [];
  return readdirSync(agents).map((run) => join(agents, run, "prompt.md")).filter(existsSync).map((path) => readFileSync(path, "utf8"));
}

async function until(what: string, check: () => Promise<boolean>, steps = 1200): Promise<void> {
  for (let step = 0; step < steps; step++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`${what}: not within ${steps} checks`);
}

describe("the shared notebook", { skip }, () => {
  const postgres = server as TestPostgres;
  after(() => postgres.close());

  test("a worker's notes.md and a person's note reach the other machines' proposers, told which ideas run or ran elsewhere", async (t) => {
    const tools = mkdtempSync(join(tmpdir(), "autoresearch-agent-"));
    t.after(() => rmSync(tools, { recursive: true, force: true }));
    writeFileSync(join(tools, "agent.js"), AGENT);
    const db = await postgres.database("notebook");
    const study = await makeStudy(t, db, 2, { proposer: { name: "command", command: `node ${join(tools, "agent.js")}` } });
    const [first, second] = study.workers as [string, string];
    const firstId = workerId(first);

    // The first worker's notes (as its LLM proposer would write them, or its person by hand).
    const sessionDir = join(first, ".autoresearch", "sessions", "s");
    mkdirSync(sessionDir, { recursive: true });
    writeFileSync(join(sessionDir, "notes.md"), "X far above 7 made the score worse every time (#3, #5).\n");
    const held = startWorker(first, ["--max-experiments", "5"], { AUTORESEARCH_TEST_GATE: study.gate });
    t.after(() => held.kill("SIGKILL"));
    const heldRun = finished(held);
    // Held mid-experiment: its notes went to the study with its first proposal, its candidate is claimed.
    let heldDescription = "";
    await until("the first worker's notes are shared and its candidate is claimed", async () => {
      const notes = await query<{ text: string }>(db, "SELECT text FROM notebook WHERE source = 'proposer' AND worker = $1", [firstId]);
      const claims = await query<{ description: string }>(db, "SELECT description FROM claims WHERE worker = $1 AND state = 'claimed'", [firstId]);
      heldDescription = claims[0]?.description ?? "";
      return notes.some((note) => note.text.includes("X far above 7")) && claims.length === 1;
    });

    const noted = await cli(["share", "note", "Y near 0.3 looked best on the GPU box"], second);
    assert.equal(noted.code, 0, noted.stderr);
    assert.match(noted.stdout, /noted in the study "s"/);

    const run = await finished(startWorker(second, ["--max-experiments", "3"]));
    assert.equal(run.code, 0, run.stderr);
    const seen = prompts(second).filter((prompt) => prompt.includes("# Notes shared by the study"));
    assert.ok(seen.length > 0, "the second worker's agent was shown the study's notebook");
    const prompt = seen[0]!;
    assert.match(prompt, new RegExp(`## From worker ${firstId}'s notes\\.md\\s+X far above 7 made the score worse every time`));
    assert.match(prompt, /## From a person \(at worker [^)]+\), [0-9-]+ [0-9:]+\s+Y near 0\.3 looked best on the GPU box/);
    assert.ok(prompt.includes(`[running now on worker ${firstId}] ${heldDescription}`), "told which idea runs on the other worker now");

    openGate(study);
    const done = await heldRun;
    assert.equal(done.code, 0, done.stderr);
    // The first worker's later prompts name the second's finished candidates as done elsewhere, and never its own notes as another's.
    const secondId = workerId(second);
    const later = prompts(first);
    assert.ok(later.some((each) => each.includes(`[done by worker ${secondId}]`)), "told which ideas another worker ran");
    assert.ok(!later.some((each) => each.includes(`## From worker ${firstId}'s notes.md`)), "its own notes come from its own file, not as another's");

    const notes = await cli(["share", "notes"], second);
    assert.equal(notes.code, 0, notes.stderr);
    assert.match(notes.stdout, new RegExp(`--- worker ${firstId}'s notes\\.md, .*\\nX far above 7`));
    assert.match(notes.stdout, /--- a person at worker .*\nY near 0\.3 looked best on the GPU box/);
  });
});
