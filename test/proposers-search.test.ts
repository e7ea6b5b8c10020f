import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyEdits } from "../src/proposers/edits.ts";
import { parseKnobs } from "../src/proposers/knobs.ts";
import { createRandom } from "../src/stats/random.ts";
import { createSearchProposer } from "../src/proposers/search.ts";
import type { SearchMeta } from "../src/proposers/search-history.ts";
import type { HistoryEntry, ProposalResult } from "../src/proposers/types.ts";
import { makeContext, makeEntry, neverAborted } from "./helpers/proposers.ts";

const START_FILES = {
  "model.ts": [
    "const LEARNING_RATE = 0.001; // @knob min=0.0001 max=1 scale=log",
    "const HIDDEN_SIZE = 16; // @knob min=8 max=512 scale=log int",
    "export function size() { return LEARNING_RATE * HIDDEN_SIZE; }",
  ].join("\n"),
  "train.py": "DROPOUT = 0.4  # @knob min=0 max=0.5\nprint(DROPOUT)\n",
};

function knobValues(files: Record<string, string>): Record<string, number | string> {
  const values: Record<string, number | string> = {};
  for (const [path, content] of Object.entries(files)) {
    const { knobs, errors } = parseKnobs(path, content);
    assert.deepEqual(errors, []);
    for (const knob of knobs) values[knob.name] = knob.value;
  }
  return values;
}

/** Lower is better; the optimum is LEARNING_RATE 0.03, HIDDEN_SIZE 128, DROPOUT 0.1 (value 0). */
function objective(files: Record<string, string>): number {
  const { LEARNING_RATE, HIDDEN_SIZE, DROPOUT } = knobValues(files) as Record<string, number>;
  return (Math.log10(LEARNING_RATE) - Math.log10(0.03)) ** 2 + 0.25 * (Math.log2(HIDDEN_SIZE) - 7) ** 2 + (4 * (DROPOUT - 0.1)) ** 2;
}

function proposal(result: ProposalResult): Extract<ProposalResult, { kind: "proposal" }> {
  assert.equal(result.kind, "proposal", result.kind === "skip" ? `skipped: ${result.reason}` : "");
  return result as Extract<ProposalResult, { kind: "proposal" }>;
}

function applied(files: Record<string, string>, result: ProposalResult): Record<string, string> {
  const outcome = applyEdits(files, proposal(result).edits);
  assert.ok(outcome.ok, outcome.ok ? "" : outcome.error);
  return outcome.files;
}

describe("search proposer", () => {
  it("improves a synthetic objective in 30 greedy iterations without repeating a setting", async () => {
    const proposer = createSearchProposer({ seed: 7 });
    const noise = createRandom(99);
    let files: Record<string, string> = { ...START_FILES };
    const start = objective(files);
    let best = start + 0.01 * noise.normal();
    const history: HistoryEntry[] = [makeEntry({ kind: "baseline", proposer: "baseline", decision: "keep", metric: best, delta: null })];
    const seen = new Set([JSON.stringify(knobValues(files))]);
    for (let iteration = 0; iteration < 30; iteration++) {
      const context = makeContext(files, history.slice(-50));
      context.best.metric = best;
      const result = proposal(await proposer.propose(context, neverAborted));
      const candidate = applied(files, result);
      const setting = JSON.stringify(knobValues(candidate));
      assert.ok(!seen.has(setting), `iteration ${iteration} repeated the setting ${setting}`);
      seen.add(setting);
      const metric = objective(candidate) + 0.01 * noise.normal();
      const keep = metric < best;
      history.push(makeEntry({ meta: result.meta, description: result.description, status: "ok", decision: keep ? "keep" : "discard", metric, delta: metric - best }));
      if (keep) {
        files = candidate;
        best = metric;
      }
    }
    const end = objective(files);
    assert.ok(end < start * 0.25, `objective went from ${start.toFixed(3)} to only ${end.toFixed(3)}`);
  });

  it("proposes a one-line edit with a readable description and the full setting in meta", async () => {
    const result = proposal(await createSearchProposer({ seed: 1 }).propose(makeContext(START_FILES), neverAborted));
    const meta = result.meta as SearchMeta;
    const moved = meta.moves[0];
    assert.ok(["up", "down"].includes(moved.direction));
    assert.equal(meta.knob, moved.knob);
    assert.deepEqual(meta.base, { "model.ts:LEARNING_RATE": 0.001, "model.ts:HIDDEN_SIZE": 16, "train.py:DROPOUT": 0.4 });
    assert.deepEqual(meta.assignment, { ...meta.base, ...Object.fromEntries(meta.moves.map((m) => [m.knob, m.to])) });
    const [path, name] = moved.knob.split(":");
    assert.ok(result.description.startsWith(`${name} ${moved.from} → ${moved.to} (${path})`), result.description);
    assert.match(result.hypothesis, /has not been tried yet/);
    for (const edit of result.edits) assert.ok("search" in edit && !edit.search.includes("\n"), "edits are single-line search/replace");
  });

  it("is deterministic for a seed and context", async () => {
    const context = makeContext(START_FILES);
    const first = await createSearchProposer({ seed: 3 }).propose(context, neverAborted);
    const second = await createSearchProposer({ seed: 3 }).propose(context, neverAborted);
    assert.deepEqual(first, second);
  });

  it("continues in a direction that was just kept, and says so", async () => {
    const files = { "m.ts": "const A = 0.01; // @knob min=0.0001 max=1 scale=log\nconst B = 5; // @knob min=0 max=10\n" };
    const kept = makeEntry({
      decision: "keep",
      delta: -0.2,
      meta: { knob: "m.ts:A", from: 0.005, to: 0.01, direction: "up", base: { "m.ts:A": 0.005, "m.ts:B": 5 }, assignment: { "m.ts:A": 0.01, "m.ts:B": 5 } },
    });
    for (const seed of [1, 2, 3, 4, 5]) {
      const result = proposal(await createSearchProposer({ seed }).propose(makeContext(files, [kept]), neverAborted));
      const meta = result.meta as SearchMeta;
      assert.equal(meta.knob, "m.ts:A");
      assert.equal(meta.direction, "up");
      assert.equal(meta.to, 0.02);
      assert.match(result.hypothesis, /raising A was just kept/);
    }
  });

  it("shrinks the step after a failure in that direction", async () => {
    const files = { "m.ts": "const A = 0.01; // @knob min=0.0001 max=1 scale=log\n" };
    const failedUp = makeEntry({ meta: { knob: "m.ts:A", from: 0.01, to: 0.02, direction: "up", base: { "m.ts:A": 0.01 }, assignment: { "m.ts:A": 0.02 } } });
    const failedDown = makeEntry({ meta: { knob: "m.ts:A", from: 0.01, to: 0.005, direction: "down", base: { "m.ts:A": 0.01 }, assignment: { "m.ts:A": 0.005 } } });
    for (const seed of [1, 2, 3, 4]) {
      const result = proposal(await createSearchProposer({ seed }).propose(makeContext(files, [failedUp, failedDown]), neverAborted));
      const to = (result.meta as SearchMeta).to as number;
      assert.ok(to === 0.015 || to === 0.00667, `expected a ×1.5 step from 0.01, got ${to}`);
      assert.match(result.hypothesis, /helped in 0 of 1 try; smaller step \(×1\.5\) after 1 miss/);
    }
  });

  it("counts a better metric as help according to the metric's direction", async () => {
    const files = { "m.ts": "const A = 0; // @knob min=0 max=8\n" };
    const raised = makeEntry({ decision: "discard", delta: 0.5, meta: { knob: "m.ts:A", from: 0, to: 2, direction: "up", base: { "m.ts:A": 0 }, assignment: { "m.ts:A": 2 } } });
    const forMax = proposal(await createSearchProposer().propose(makeContext(files, [raised], "max"), neverAborted));
    assert.match(forMax.hypothesis, /^raising A helped in 1 of 1 try/);
    const forMin = proposal(await createSearchProposer().propose(makeContext(files, [raised], "min"), neverAborted));
    assert.match(forMin.hypothesis, /^raising A helped in 0 of 1 try/);
    assert.equal(forMin.description, "A 0 → 1 (m.ts)");
  });

  it("never repeats a setting that is still running, nor one it proposed but the loop has not recorded", async () => {
    const files = { "m.ts": "const N = 4; // @knob min=1 max=8 int\n" };
    const running = makeEntry({ status: "running", decision: null, metric: null, delta: null, meta: { knob: "m.ts:N", from: 4, to: 6, direction: "up", base: { "m.ts:N": 4 }, assignment: { "m.ts:N": 6 } } });
    const proposer = createSearchProposer({ seed: 5 });
    const context = makeContext(files, [running]);
    const proposed: number[] = [];
    for (let call = 0; call < 5; call++) {
      const result = await proposer.propose(context, neverAborted);
      if (result.kind === "skip") break;
      proposed.push((result.meta as SearchMeta).to as number);
    }
    assert.ok(!proposed.includes(6), `re-proposed the running setting: ${proposed}`);
    assert.equal(new Set(proposed).size, proposed.length, `repeated itself: ${proposed}`);
    // From 4 in 1..8 the steps reach 2, 3 and 5 (6 is running); then nothing new is left.
    assert.deepEqual([...proposed].sort(), [2, 3, 5]);
  });

  it("picks an untried alternative for a choice knob", async () => {
    const files = { "m.ts": 'const ACT = "tanh"; // @knob choices=tanh,relu,gelu\n' };
    const triedRelu = makeEntry({ meta: { knob: "m.ts:ACT", from: "tanh", to: "relu", direction: "choice", base: { "m.ts:ACT": "tanh" }, assignment: { "m.ts:ACT": "relu" } } });
    const result = proposal(await createSearchProposer({ seed: 1 }).propose(makeContext(files, [triedRelu]), neverAborted));
    assert.equal(result.description, "ACT tanh → gelu (m.ts)");
    assert.equal(applied(files, result)["m.ts"], 'const ACT = "gelu"; // @knob choices=tanh,relu,gelu\n');
  });

  it("skips with the marker syntax when the files have no knobs", async () => {
    const result = await createSearchProposer().propose(makeContext({ "m.ts": "const A = 1;\n" }), neverAborted);
    assert.equal(result.kind, "skip");
    assert.match((result as { reason: string }).reason, /No @knob markers found in the mutable files \(m\.ts\)/);
    assert.match((result as { reason: string }).reason, /\/\/ @knob min=0\.0001 max=0\.3 scale=log/);
  });

  it("skips naming the problem when a marker is malformed", async () => {
    const result = await createSearchProposer().propose(makeContext({ "m.ts": "const A = 1; // @knob min=0\n" }), neverAborted);
    assert.equal(result.kind, "skip");
    assert.match((result as { reason: string }).reason, /m\.ts:1: A: missing max=/);
  });

  it("skips once the neighbourhood is exhausted", async () => {
    const files = { "m.ts": "const N = 1; // @knob min=1 max=2 int\n" };
    const proposer = createSearchProposer({ seed: 2 });
    const first = proposal(await proposer.propose(makeContext(files), neverAborted));
    assert.equal((first.meta as SearchMeta).to, 2);
    const tried = makeEntry({ meta: first.meta });
    const fresh = createSearchProposer({ seed: 2 });
    const afterDiscard = await fresh.propose(makeContext(files, [tried]), neverAborted);
    assert.equal(afterDiscard.kind, "skip");
    assert.match((afterDiscard as { reason: string }).reason, /tried \(or is running\) every nearby setting of its 1 knob\(s\) \(m\.ts:N\)/);
    // Kept: the best is now N=2, and going back down would repeat the baseline.
    const keptFiles = applied(files, first);
    const afterKeep = await fresh.propose(makeContext(keptFiles, [makeEntry({ meta: first.meta, decision: "keep", delta: -1 })]), neverAborted);
    assert.equal(afterKeep.kind, "skip");
  });

  it("rejects when the signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("session stopping"));
    await assert.rejects(createSearchProposer().propose(makeContext(START_FILES), controller.signal), /session stopping/);
  });
});
