import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { ConfigError, UserError } from "../src/errors.ts";
import { createProposer } from "../src/proposers/registry.ts";
import { createReplayProposer } from "../src/proposers/replay.ts";
import type { Proposer } from "../src/proposers/types.ts";
import { makeContext, makeEntry, makeTempDir, neverAborted } from "./helpers/proposers.ts";

const SCRIPT = {
  proposals: [
    { description: "double the learning rate", hypothesis: "it is too low", edits: [{ path: "model.ts", search: "0.1", replace: "0.2" }] },
    { description: "rewrite the model", edits: [{ path: "model.ts", content: "export const LR = 1;\n" }] },
    { description: "add a helper", hypothesis: "", edits: [{ path: "src/helper.ts", content: "export {};\n" }] },
  ],
};

let temp: { dir: string; cleanup: () => void };
beforeEach(() => {
  temp = makeTempDir();
});
afterEach(() => temp.cleanup());

function writeScript(content: unknown, name = "replay.json"): string {
  const file = join(temp.dir, name);
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

async function descriptions(proposer: Proposer, history = [] as ReturnType<typeof makeEntry>[], calls = 4): Promise<string[]> {
  const seen: string[] = [];
  for (let call = 0; call < calls; call++) {
    const result = await proposer.propose(makeContext({ "model.ts": "const LR = 0.1;\n" }, history), neverAborted);
    seen.push(result.kind === "proposal" ? result.description : `skip: ${result.reason}`);
  }
  return seen;
}

function configProblems(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems.join("\n");
  }
  assert.fail("expected a ConfigError");
}

describe("replay proposer", () => {
  it("returns the scripted proposals in order with their index, then reports exhaustion", async () => {
    const proposer = createReplayProposer({ file: writeScript(SCRIPT) });
    const first = await proposer.propose(makeContext({ "model.ts": "const LR = 0.1;\n" }), neverAborted);
    assert.deepEqual(first, {
      kind: "proposal",
      description: "double the learning rate",
      hypothesis: "it is too low",
      edits: [{ path: "model.ts", search: "0.1", replace: "0.2" }],
      meta: { index: 0 },
    });
    const rest = await descriptions(proposer);
    assert.deepEqual(rest.slice(0, 2), ["rewrite the model", "add a helper"]);
    assert.match(rest[2], /^skip: replay file exhausted: all 3 proposals/);
    assert.match(rest[3], /^skip: replay file exhausted/);
  });

  it("resumes after the highest index in the history", async () => {
    const history = [makeEntry({ proposer: "replay", meta: { index: 1 } }), makeEntry({ proposer: "replay", meta: { index: 0 }, status: "running" })];
    const proposer = createReplayProposer({ file: writeScript(SCRIPT) });
    const seen = await descriptions(proposer, history, 2);
    assert.equal(seen[0], "add a helper");
    assert.match(seen[1], /exhausted/);
  });

  it("ignores other proposers' meta when resuming", async () => {
    const history = [makeEntry({ proposer: "search", meta: { index: 2 } })];
    const seen = await descriptions(createReplayProposer({ file: writeScript(SCRIPT) }), history, 1);
    assert.deepEqual(seen, ["double the learning rate"]);
  });

  it("names the file and JSON path of a malformed proposal", () => {
    const file = writeScript({
      proposals: [
        { description: "ok", edits: [{ path: "a.ts", content: "x" }] },
        { description: "", edits: [{ path: "a.ts", search: "x" }, { path: "a.ts", search: "x", replace: "y", content: "z" }] },
      ],
    });
    const problems = configProblems(() => createReplayProposer({ file }));
    assert.match(problems, new RegExp(`${file}: proposals\\[1\\]\\.description: must say what the proposal changes`));
    assert.match(problems, /proposals\[1\]\.edits\[0\]: expected either "content" \(the whole file\) or both "search" and "replace"/);
    assert.match(problems, /proposals\[1\]\.edits\[1\]: expected either/);
    assert.doesNotMatch(problems, /proposals\[0\]/);
  });

  it("reports unknown keys, a missing list, bad JSON and a missing file", () => {
    assert.match(configProblems(() => createReplayProposer({ file: writeScript({ proposals: [], extra: 1 }) })), /replay\.json: \(top level\): unknown key "extra"; expected only: proposals/);
    assert.match(configProblems(() => createReplayProposer({ file: writeScript({}) })), /replay\.json: proposals: expected an array of proposals/);
    assert.match(configProblems(() => createReplayProposer({ file: writeScript("{ not json") })), /replay\.json: not valid JSON/);
    assert.match(configProblems(() => createReplayProposer({ file: join(temp.dir, "absent.json") })), /absent\.json: cannot read the replay file \(ENOENT\)/);
  });
});

describe("createProposer", () => {
  it("creates the search proposer, seeded", async () => {
    const proposer = createProposer({ name: "search", seed: 4 }, temp.dir);
    assert.equal(proposer.name, "search");
    const result = await proposer.propose(makeContext({ "m.ts": "const A = 1; // @knob min=0 max=4\n" }), neverAborted);
    assert.equal(result.kind, "proposal");
  });

  it("creates the replay proposer with its file relative to the project", async () => {
    writeScript(SCRIPT, "scripts.json");
    const proposer = createProposer({ name: "replay", file: "scripts.json" }, temp.dir);
    assert.equal(proposer.name, "replay");
    assert.deepEqual(await descriptions(proposer, [], 1), ["double the learning rate"]);
  });

  it("names proposer.file when replay has no file", () => {
    assert.match(configProblems(() => createProposer({ name: "replay" }, temp.dir)), /^proposer\.file: missing/);
  });

  it("lists the available proposers for an unknown name", () => {
    assert.throws(
      () => createProposer({ name: "gpt" }, temp.dir),
      (error: unknown) => error instanceof UserError && /unknown proposer "gpt"; expected one of: search, replay/.test(error.message),
    );
  });
});
