// npm run bench:acceptance: how well each acceptance policy judges, on workloads whose truth is known.
// The decisions are the engine's own: the real reducer (loop/reducer.ts) and the real policies built from
// the config schema, fed the outcomes of a synthetic workload (metric = true value of the code + noise)
// in the order the scheduler runs them on one slot (follow-ups first). Only the processes are left out,
// so tens of thousands of candidates fit in a minute. See docs/benchmarks.md.
import { parseArgs } from "node:util";
import { acceptanceSchema } from "../src/config/schema.ts";
import { createAcceptancePolicy, baselineRunsFor, remeasurePlanFor } from "../src/loop/decide.ts";
import type { ExperimentOutcome, Job } from "../src/loop/experiment.ts";
import { decide, type BestState, type DecisionPolicy } from "../src/loop/reducer.ts";
import { proportionInterval } from "../src/stats/intervals.ts";
import { createRandom, type Random } from "../src/stats/random.ts";

const { values: flags } = parseArgs({
  options: {
    sessions: { type: "string", default: "400" },
    candidates: { type: "string", default: "50" },
    seed: { type: "string", default: "1" },
    noise: { type: "string", default: "all" },
    /** rich: 30% of ideas are real gains (the default); sparse: 10%, closer to a long night's stream. */
    mix: { type: "string", default: "rich" },
    /** JSON acceptance settings tried as one more policy, e.g. '{"maxRuns": 4}'. */
    try: { type: "string" },
  },
});
const sessions = Number(flags.sessions);
const candidatesPerSession = Number(flags.candidates);
const seed = Number(flags.seed);
const noiseKinds = flags.noise === "all" ? (["normal", "heavy-tailed", "drifting"] as const) : [flags.noise as NoiseKind];
if (!(Number.isInteger(sessions) && sessions >= 1 && Number.isInteger(candidatesPerSession) && candidatesPerSession >= 1) || !(flags.mix === "rich" || flags.mix === "sparse")) {
  process.stderr.write("usage: node bench/acceptance.ts [--sessions N] [--candidates N] [--seed N] [--noise normal|heavy-tailed|drifting|all] [--mix rich|sparse] [--try JSON]\n");
  process.exit(2);
}

type NoiseKind = "normal" | "heavy-tailed" | "drifting";
/** True effects in σ (positive = better), drawn with these weights: most ideas do nothing or harm. */
const MIXES: Record<string, Array<{ effect: number; weight: number }>> = {
  rich: [{ effect: 0, weight: 0.5 }, { effect: -2, weight: 0.2 }, { effect: 1, weight: 0.1 }, { effect: 2, weight: 0.1 }, { effect: 3, weight: 0.1 }],
  sparse: [{ effect: 0, weight: 0.6 }, { effect: -2, weight: 0.3 }, { effect: 1, weight: 0.04 }, { effect: 2, weight: 0.03 }, { effect: 3, weight: 0.03 }],
};
const MIX = MIXES[flags.mix]!;
const POLICIES: Array<{ name: string; config: Record<string, unknown> }> = [
  { name: "greedy (the original)", config: { policy: "greedy" } },
  { name: "noise-aware, 2 baselines", config: { policy: "noise-aware", baselineRuns: 2 } },
  { name: "noise-aware + confirm", config: { policy: "noise-aware", baselineRuns: 2, confirm: true } },
  { name: "sequential (default)", config: {} },
];
if (flags.try !== undefined) POLICIES.push({ name: `tried: ${flags.try}`, config: JSON.parse(flags.try) as Record<string, unknown> });
const SIGMA = 0.1;
const BASE_VALUE = 10;
/** Drifting noise: the whole machine slows by this many σ per run (a throttling host), on top of normal noise. */
const DRIFT_PER_RUN = 0.01;

interface Tally {
  kept: Map<number, number>;
  seen: Map<number, number>;
  candidateRuns: number;
  allRuns: number;
  /** Fresh runs of the best (after a keep, and the periodic ones). */
  remeasureRuns: number;
  keeps: number;
  candidates: number;
  /** (recorded best − true value of the kept code) / σ at each session's end, signed so positive = overclaimed. */
  overclaim: number[];
}

function drawEffect(random: Random): number {
  let pick = random.next();
  for (const each of MIX) {
    pick -= each.weight;
    if (pick < 0) return each.effect;
  }
  return MIX.at(-1)!.effect;
}

function runSession(policy: DecisionPolicy, noise: NoiseKind, random: Random, tally: Tally): void {
  // Minimise: the metric is BASE_VALUE − σ·(sum of the kept code's effects) + noise.
  const trueValue = new Map<string, number>([["base", BASE_VALUE]]);
  let runCount = 0;
  const measure = (commit: string): number => {
    runCount += 1;
    const value = trueValue.get(commit)!;
    const drift = noise === "drifting" ? DRIFT_PER_RUN * SIGMA * runCount : 0;
    const draw = noise === "heavy-tailed" ? random.heavyTailed(5) : random.normal();
    return value + drift + SIGMA * draw;
  };
  let state: BestState = {
    commit: "base", metric: null, experimentId: null, noiseSigma: null, bestRuns: [], keptRuns: 0, noiseGroups: [], awaiting: [], consecutiveFailures: 0, sinceRemeasure: 0,
  };
  let nextId = 1;
  const effects = new Map<number, number>();
  const run = (job: Job): Job[] => {
    const id = nextId++;
    let commit: string;
    if (job.kind === "candidate") {
      commit = `c${id}`;
      const effect = drawEffect(random);
      effects.set(id, effect);
      trueValue.set(commit, trueValue.get(state.commit)! - effect * SIGMA);
    } else {
      commit = job.commit;
    }
    const metric = measure(commit);
    const outcome: ExperimentOutcome = {
      id, job, status: "ok", candidateCommit: commit, metric, heldOutMetric: null, selfReported: false, reason: null, dataTampered: false, timings: {},
    };
    const decided = decide(state, { outcome, flags: [], at: "2026-01-01T00:00:00.000Z" }, policy);
    state = decided.state;
    for (const event of decided.events) {
      if (event.type === "decision" && event.decision !== "confirm") {
        const effect = effects.get(event.id)!;
        tally.seen.set(effect, (tally.seen.get(effect) ?? 0) + 1);
        if (event.decision === "keep") {
          tally.kept.set(effect, (tally.kept.get(effect) ?? 0) + 1);
          tally.keeps += 1;
        }
      }
    }
    if (job.kind === "candidate" || job.kind === "confirmation") tally.candidateRuns += 1;
    if (job.kind === "remeasure") tally.remeasureRuns += 1;
    return decided.followUps;
  };
  const baseline: Job = { kind: "baseline", commit: "base", description: "baseline" };
  const followUps: Job[] = [];
  for (let index = 0; index < policy.baselineRuns; index += 1) followUps.push(...run(baseline));
  for (let candidate = 0; candidate < candidatesPerSession; candidate += 1) {
    while (followUps.length > 0) followUps.push(...run(followUps.shift()!));
    run({ kind: "candidate", parentCommit: state.commit, proposer: "bench", description: "", hypothesis: "", meta: null, files: {}, proposeMs: 0, usage: null })
      .forEach((job) => followUps.push(job));
  }
  while (followUps.length > 0) followUps.push(...run(followUps.shift()!));
  tally.allRuns += runCount;
  tally.candidates += candidatesPerSession;
  const drift = noise === "drifting" ? DRIFT_PER_RUN * SIGMA * runCount : 0;
  tally.overclaim.push((trueValue.get(state.commit)! + drift - state.metric!) / SIGMA);
}

function policyFor(config: Record<string, unknown>): DecisionPolicy {
  const acceptance = acceptanceSchema.parse(config);
  return {
    acceptance: createAcceptancePolicy(acceptance), direction: "min", metricName: "metric",
    baselineRuns: baselineRunsFor(acceptance), remeasure: remeasurePlanFor(acceptance),
  };
}

function percent(value: number): string {
  return `${(100 * value).toFixed(1)}%`;
}

function rate(tally: Tally, effect: number): { text: string; value: number; high: number } {
  const trials = tally.seen.get(effect) ?? 0;
  if (trials === 0) return { text: "—", value: Number.NaN, high: Number.NaN };
  const interval = proportionInterval(tally.kept.get(effect) ?? 0, trials);
  return { text: `${percent(interval.estimate)} [${percent(interval.low)}, ${percent(interval.high)}]`, value: interval.estimate, high: interval.high };
}

const lines: string[] = [];
lines.push(`acceptance bench: ${sessions} sessions × ${candidatesPerSession} candidates per policy and noise, seed ${seed}; σ = ${SIGMA}; candidates: ${MIX.map((each) => `${each.weight * 100}% ${each.effect === 0 ? "null" : `${each.effect > 0 ? "+" : ""}${each.effect}σ`}`).join(", ")} (+ = better)`);
for (const noise of noiseKinds) {
  lines.push("", `noise: ${noise}${noise === "drifting" ? ` (normal, and the machine slows by ${DRIFT_PER_RUN}σ per run)` : noise === "heavy-tailed" ? " (Student t, 5 df, unit variance)" : ""}`, "");
  lines.push("| policy | nulls kept [95% CI] | 1σ gain kept | 2σ gain kept | 3σ gain kept | −2σ harm kept | runs per candidate (decision / all) | keeps per candidate · re-runs of the best per keep | recorded best − truth (σ, mean) | default targets |");
  lines.push("|---|---|---|---|---|---|---|---|---|---|");
  for (const each of POLICIES) {
    const policy = policyFor(each.config);
    const random = createRandom(seed);
    const tally: Tally = { kept: new Map(), seen: new Map(), candidateRuns: 0, allRuns: 0, remeasureRuns: 0, keeps: 0, candidates: 0, overclaim: [] };
    for (let session = 0; session < sessions; session += 1) runSession(policy, noise, random, tally);
    const nulls = rate(tally, 0);
    const two = rate(tally, 2);
    const ownRuns = tally.candidateRuns / tally.candidates;
    const allRuns = tally.allRuns / tally.candidates;
    const overclaim = tally.overclaim.reduce((sum, value) => sum + value, 0) / tally.overclaim.length;
    const targets = each.config.policy === undefined || each.config.policy === "sequential"
      ? [nulls.value <= 0.05 ? "nulls PASS" : "nulls MISS", two.value >= 0.8 ? "power PASS" : "power MISS", ownRuns <= 1.5 ? "runs PASS" : "runs MISS"].join(", ")
      : "";
    lines.push(`| ${each.name} | ${nulls.text} | ${rate(tally, 1).text} | ${two.text} | ${rate(tally, 3).text} | ${rate(tally, -2).text} | ${ownRuns.toFixed(2)} / ${allRuns.toFixed(2)} | ${(tally.keeps / tally.candidates).toFixed(2)} · ${tally.keeps === 0 ? "—" : (tally.remeasureRuns / tally.keeps).toFixed(1)} | ${overclaim >= 0 ? "+" : ""}${overclaim.toFixed(2)} | ${targets} |`);
  }
}
process.stdout.write(`${lines.join("\n")}\n`);
