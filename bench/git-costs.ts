// Where an experiment's setup time goes: the engine's own git verbs, in the order an experiment uses
// them (the candidate commit without a worktree, the guard's diff, the candidate ref, the slot's
// persistent checkout reset to the commit), timed one experiment at a time and eight at once.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import * as git from "../src/git/index.ts";
import { KNOB_FILE, makeBenchProject } from "./project.ts";
import { stats } from "./analysis.ts";

const execFileAsync = promisify(execFile);

export const STEPS = ["commit", "guard reads", "candidate ref", "slot checkout"] as const;
export type Step = (typeof STEPS)[number];

export interface GitCosts {
  /** Mean ms of each step, as its caller waits for it. */
  alone: Record<Step, number>;
  concurrent: Record<Step, number>;
  concurrency: number;
  /** Mean ms to start and finish one trivial process: the floor under every git verb. */
  spawnMs: { git: number; shell: number };
}

async function timed<T>(into: number[], task: () => Promise<T>): Promise<T> {
  const startedAt = performance.now();
  try {
    return await task();
  } finally {
    into.push(performance.now() - startedAt);
  }
}

type Samples = Record<Step, number[]>;

async function oneExperiment(projectDir: string, base: string, slotDir: string, name: string, value: number, samples: Samples): Promise<void> {
  const files = { [KNOB_FILE]: `${JSON.stringify({ score: 100 + value })}\n` };
  const { commit } = await timed(samples.commit, () => git.commitFiles(projectDir, base, files, `bench ${name}`));
  await timed(samples["guard reads"], () => git.diffWithChanges(projectDir, base, commit));
  await timed(samples["candidate ref"], () => git.updateRef(projectDir, `refs/autoresearch/bench/${name}`, commit));
  await timed(samples["slot checkout"], () => git.resetWorktree(slotDir, commit));
}

const emptySamples = (): Samples => Object.fromEntries(STEPS.map((step) => [step, []])) as unknown as Samples;
const means = (samples: Samples) => Object.fromEntries(STEPS.map((step) => [step, stats(samples[step]).mean])) as Record<Step, number>;

async function spawnCost(file: string, args: string[], times: number): Promise<number> {
  const samples: number[] = [];
  for (let index = 0; index < times; index += 1) await timed(samples, () => execFileAsync(file, args));
  return stats(samples).mean;
}

export async function measureGitCosts(options: { repeats: number; concurrency: number }): Promise<GitCosts> {
  const project = makeBenchProject({ budgetSeconds: 1, evaluateSeconds: 0 });
  try {
    const base = (await git.revParse(project.dir, "HEAD"))!;
    // The slots' checkouts are made once per session, not per experiment: made here before timing.
    const slots = Array.from({ length: options.concurrency }, (_, index) => join(project.dir, ".autoresearch", "worktrees", `slot-${index}`));
    for (const slot of slots) await git.addWorktree(project.dir, slot, base);
    let counter = 0;
    const alone = emptySamples();
    for (let index = 0; index < options.repeats; index += 1) {
      counter += 1;
      await oneExperiment(project.dir, base, slots[0]!, `alone-${counter}`, counter, alone);
    }
    const concurrent = emptySamples();
    for (let round = 0; round < Math.max(1, Math.round(options.repeats / options.concurrency)); round += 1) {
      await Promise.all(slots.map((slot) => {
        counter += 1;
        return oneExperiment(project.dir, base, slot, `together-${counter}`, counter, concurrent);
      }));
    }
    return {
      alone: means(alone),
      concurrent: means(concurrent),
      concurrency: options.concurrency,
      spawnMs: { git: await spawnCost("git", ["--version"], 20), shell: await spawnCost("/bin/sh", ["-c", "true"], 20) },
    };
  } finally {
    project.cleanup();
  }
}
