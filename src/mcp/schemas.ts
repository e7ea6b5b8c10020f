// The tools' output schemas: each answer's structuredContent follows one (the text block stays for
// clients that read only text). Loose objects: the fields named here are promised, more may come.
import { z } from "zod";

const metric = z.number().nullable();
const flag = z.object({ kind: z.string(), detail: z.string() });

export const statusOutput = z.looseObject({
  session: z.string().nullable().describe("the session's tag; null before the first run_experiment"),
  message: z.string().optional().describe("what to do when there is no session yet"),
  state: z.enum(["running", "stopped", "paused"]).optional(),
  stopReason: z.string().nullable().optional(),
  metric: z.string().optional().describe("the metric that decides"),
  direction: z.enum(["min", "max"]).optional(),
  experiments: z.number().int().optional(),
  kept: z.number().int().optional(),
  discarded: z.number().int().optional(),
  failed: z.number().int().optional(),
  baseline: metric.optional(),
  best: metric.optional(),
  noiseSigma: metric.optional(),
  branch: z.string().optional().describe("the branch that holds the best code"),
  bestExperimentId: z.number().int().nullable().optional(),
  running: z.array(z.looseObject({ id: z.number().int(), description: z.string() })).optional(),
});

const experimentRow = z.looseObject({
  id: z.number().int(),
  kind: z.string(),
  result: z.string().describe("keep / discard, or the status of a run that decided nothing or failed"),
  metric,
  delta: metric.describe("metric minus the best at the time"),
  selfReported: z.boolean(),
  description: z.string(),
  reason: z.string().nullable(),
  flags: z.array(flag),
});

export const resultsOutput = z.looseObject({
  session: z.string().nullable(),
  metric: z.string().nullable(),
  experiments: z.array(experimentRow),
  best: z.looseObject({ metric, experimentId: z.number().int().nullable(), branch: z.string() }).nullable(),
});

export const experimentOutput = z.looseObject({
  id: z.number().int(),
  session: z.string(),
  kind: z.string(),
  proposer: z.string(),
  status: z.string(),
  decision: z.string().nullable(),
  reason: z.string().nullable(),
  description: z.string(),
  hypothesis: z.string(),
  metric,
  selfReported: z.boolean(),
  bestBefore: metric,
  delta: metric,
  secondary: z.record(z.string(), z.number()),
  rationale: z.string().nullable(),
  flags: z.array(flag),
  parentCommit: z.string(),
  candidateCommit: z.string().nullable(),
  diff: z.string().describe("the change against its parent (cut at 20,000 characters)"),
});

const baselineRun = z.looseObject({ experiment: z.number().int(), status: z.string(), metric, reason: z.string().nullable() });

export const runExperimentOutput = z.looseObject({
  ran: z.boolean().describe("false when nothing was judged: refused, the baseline failed, or interrupted"),
  session: z.string(),
  reason: z.string().nullable().optional(),
  experiment: z.number().int().optional(),
  status: z.string().optional(),
  decision: z.enum(["keep", "discard"]).nullable().optional(),
  metric: metric.optional().describe("what the decision was judged on: with confirmation runs, their mean"),
  bestBefore: metric.optional(),
  delta: metric.optional().describe("metric minus bestBefore, as judged"),
  runs: z.array(z.looseObject({ experiment: z.number().int(), metric })).optional().describe("each run of the candidate's code in this call"),
  noiseSigma: metric.optional().describe("the σ the decision was judged with (the one its rationale names)"),
  sessionNoiseSigma: metric.optional().describe("the session's σ after this call"),
  rationale: z.string().nullable().optional(),
  selfReported: z.boolean().optional(),
  baselines: z.array(baselineRun),
  best: z.looseObject({ commit: z.string(), metric, experimentId: z.number().int().nullable(), branch: z.string() }),
  next: z.string().optional(),
});

export const notebookOutput = z.object({ path: z.string().describe("the notebook file the note was appended to") });
