// A project whose metric has a known true effect and known noise: score = 10 + gain.json's value +
// SIGMA · a standard normal draw keyed by seed.json's seed and the experiment id. Changing the value
// is a real effect; changing the seed is a pure-noise change (same mean, another draw). Draws are keyed
// by experiment id, so a session replays the same numbers: a test can pick the seed that a greedy
// session keeps by luck, with the very function the workload runs.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { writeCommittedRepo, type Proposal } from "./project.ts";

export const SIGMA = 0.1;
export const BASE_SCORE = 10;

// mulberry32 on (seed, id), then Box–Muller: the same source runs in the workload and in the test.
const DRAW_SOURCE = `
function draw(seed, id) {
  let state = (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(id + 1, 0x85ebca6b)) >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next();
  const u = next() || 1e-12;
  const v = next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}`;

/** The workload's standard normal draw for a seed and an experiment id. */
export const draw = new Function(`${DRAW_SOURCE}\nreturn draw;`)() as (seed: number, id: number) => number;

/** The score the workload reports for experiment `id` running `value` and `seed`. */
export function scoreOf(value: number, seed: number, id: number): number {
  return BASE_SCORE + value + SIGMA * draw(seed, id);
}

const TRAIN = `
const fs = require("fs");
${DRAW_SOURCE}
const { value } = JSON.parse(fs.readFileSync("gain.json", "utf8"));
const { seed } = JSON.parse(fs.readFileSync("seed.json", "utf8"));
const id = Number(process.env.AUTORESEARCH_EXPERIMENT_ID);
const score = ${BASE_SCORE} + value + ${SIGMA} * draw(seed, id);
fs.writeFileSync(process.env.AUTORESEARCH_OUTPUT_DIR + "/score.json", JSON.stringify({ score, heldout: score + ${SIGMA} * draw(seed + 1000, id) }));
`;

const EVALUATE = `
const fs = require("fs");
const { score, heldout } = JSON.parse(fs.readFileSync(process.env.AUTORESEARCH_OUTPUT_DIR + "/score.json", "utf8"));
fs.writeFileSync(process.env.AUTORESEARCH_METRICS_FILE, JSON.stringify({ score, heldout }));
`;

export function noisyConfig(): Record<string, unknown> {
  return {
    mutable: ["gain.json", "seed.json"],
    protected: ["evaluate.js", "train.js"],
    train: { command: "node train.js" },
    evaluate: { command: "node evaluate.js", timeoutSeconds: 30 },
    metric: { name: "score", direction: "min", heldOut: "heldout" },
    budgetSeconds: 5,
    killGraceSeconds: 1,
    devices: ["cpu"],
    proposer: { name: "replay", file: "proposals.json" },
    acceptance: { policy: "greedy" },
  };
}

export function valueProposal(description: string, value: number): Proposal {
  return { description, edits: [{ path: "gain.json", content: `${JSON.stringify({ value })}\n` }] };
}

export function seedProposal(description: string, seed: number): Proposal {
  return { description, edits: [{ path: "seed.json", content: `${JSON.stringify({ seed })}\n` }] };
}

/** Creates and commits the project; removed when the test ends. */
export function makeNoisyProject(t: TestContext, proposals: Proposal[]): string {
  const root = mkdtempSync(join(tmpdir(), "autoresearch-finalize-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, "project");
  const files: Record<string, string> = {
    "train.js": TRAIN,
    "evaluate.js": EVALUATE,
    "program.md": "# Make score small\n",
    "gain.json": `${JSON.stringify({ value: 0 })}\n`,
    "seed.json": `${JSON.stringify({ seed: 0 })}\n`,
    "autoresearch.config.json": `${JSON.stringify(noisyConfig(), null, 2)}\n`,
    "proposals.json": `${JSON.stringify({ proposals: proposals.map((proposal) => ({ description: proposal.description, hypothesis: `testing ${proposal.description}`, edits: proposal.edits })) }, null, 2)}\n`,
    ".gitignore": "/.autoresearch/\n/results.tsv\n",
  };
  return writeCommittedRepo(dir, files);
}
