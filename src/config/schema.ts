// The project config (autoresearch.config.json), as a zod schema. Unknown keys are errors.
import { z } from "zod";
import { kubernetesExecutorSchema } from "./kubernetes.ts";
import { ledgerSchema } from "./ledger.ts";

const command = z.strictObject({
  command: z.string().min(1, "must be a non-empty shell command"),
  timeoutSeconds: z.number().positive().optional(),
});

/** The evaluate phase: a protected scorer, and optionally the model server it scores (see "Sandbox" in README.md). */
const evaluateSchema = command.extend({
  /**
   * The untrusted side of evaluation: a command that loads the trained model through the mutable code and
   * answers the scorer's requests on stdin/stdout, inside the sandbox. The scorer (`command`) then never
   * runs mutable code; it reaches the servers through the file descriptors in AUTORESEARCH_MODEL_SERVERS.
   */
  serve: z.string().min(1, "must be a non-empty shell command").optional(),
  /** How many isolated model servers the scorer gets (default 2: it can send a check to one and the row it checks to the other). */
  replicas: z.number().int().min(1).max(3, "at most 3 (descriptors 3 to 8)").optional(),
});

/** The sandbox every phase that runs mutable code runs in (Linux, bubblewrap). */
export const sandboxSchema = z.strictObject({
  /** Let the sandboxed phases reach the network (off by default; every view says when it is on). */
  network: z.boolean().default(false),
  /** More host paths the sandbox may read (absolute), e.g. an interpreter installed outside the usual places. */
  readOnly: z.array(z.string().regex(/^\//, "must be an absolute path")).default([]),
  /** Memory limit for one phase's processes, in MiB (default none). */
  memoryMb: z.number().int().positive().optional(),
  /** Most processes (and threads) one phase may have at once. */
  maxProcesses: z.number().int().positive().default(4096),
  /** Size of the private /tmp and HOME, in MiB. */
  tmpMb: z.number().int().positive().default(2048),
  /** Largest file a phase may write, in MiB (checkpoints included). */
  maxFileMb: z.number().int().positive().default(16384),
});

export const proposerSchema = z.strictObject({
  /** search (offline, default) | replay (scripted patches from `file`). */
  name: z.string().min(1).default("search"),
  /** search: the random seed. */
  seed: z.number().int().optional(),
  /** replay: a JSON file of proposals, relative to the project root. */
  file: z.string().optional(),
  /** How many proposals to prepare ahead of free slots. Defaults to the number of slots. */
  queueDepth: z.number().int().positive().optional(),
  /** Proposer calls in flight at once. Defaults to queueDepth, so many slots never wait on one slow call. */
  concurrency: z.number().int().positive().optional(),
  /** llm: which API the model speaks. */
  provider: z.enum(["anthropic", "openai", "openai-compatible"]).optional(),
  /** llm: the model id, e.g. "claude-sonnet-4-5", "gpt-5", "qwen2.5-coder:32b". */
  model: z.string().min(1).optional(),
  /** llm: the API's base URL (required for openai-compatible, e.g. "http://localhost:11434/v1"). */
  baseURL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL like "http://localhost:11434/v1"' }).optional(),
  /** llm: the environment variable holding the API key (default ANTHROPIC_API_KEY / OPENAI_API_KEY). */
  apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name like MY_API_KEY").optional(),
  /** llm: the most tokens one answer may have (default 8192). */
  maxOutputTokens: z.number().int().positive().optional(),
  temperature: z.number().min(0).max(2).optional(),
  /** llm: stream answers (default true); false sends plain requests. */
  stream: z.boolean().optional(),
  /** llm: how often an answer whose edits do not apply is sent back with the error (default 2). */
  editRetries: z.number().int().min(0).max(10).optional(),
  /** llm: how often a failed request (429, 5xx, timeout, cut-off stream) is retried (default 4). */
  requestRetries: z.number().int().min(0).max(20).optional(),
  /** llm: give up on one request after this long (default 600). */
  requestTimeoutSeconds: z.number().positive().optional(),
  /** llm: distil notes.md every this many finished experiments (default 10; 0 turns the notebook off). */
  notebookEvery: z.number().int().min(0).optional(),
  /** llm: US dollars per million tokens, for models missing from the built-in price table. */
  pricing: z.strictObject({ inputPerMillion: z.number().min(0), outputPerMillion: z.number().min(0) }).optional(),
  /** claude/codex: the executable (default "claude" / "codex"); command: the shell command line that runs the agent. */
  command: z.string().min(1, "must be a non-empty command").optional(),
  /** claude/codex: extra arguments appended to the agent's command line. */
  args: z.array(z.string()).optional(),
  /** claude/codex/command: the agent's time limit for one proposal, in seconds (default 1200). */
  timeoutSeconds: z.number().positive().optional(),
  /** claude/codex/command: environment variables the agent sees besides the harmless defaults (e.g. ANTHROPIC_API_KEY, HTTPS_PROXY). */
  passEnv: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name like ANTHROPIC_API_KEY")).optional(),
  /** claude: --permission-mode (default "acceptEdits"). */
  permissionMode: z.enum(["acceptEdits", "bypassPermissions", "default", "plan"]).optional(),
  /** claude: --allowedTools (default Read, Edit, Write, Glob, Grep: no shell, so the agent cannot run the experiment). */
  allowedTools: z.array(z.string().min(1)).optional(),
  /** codex: --sandbox (default "workspace-write"). */
  sandbox: z.enum(["read-only", "workspace-write", "danger-full-access"]).optional(),
});

export const acceptanceSchema = z.strictObject({
  /** sequential (default): runs a candidate until the evidence decides (loop/decide.ts); noise-aware: one bar of z·σ; greedy: the original's rule. */
  policy: z.enum(["sequential", "noise-aware", "greedy"]).default("sequential"),
  /** How many times the baseline runs to estimate run-to-run noise (default: sequential 4, noise-aware 2, greedy 1). */
  baselineRuns: z.number().int().min(1).max(20).optional(),
  /** noise-aware: a keep must beat the best by more than max(minDelta, z * sigma). */
  z: z.number().min(0).default(2),
  /** Every policy but greedy: the smallest improvement worth keeping, in the metric's units. */
  minDelta: z.number().min(0).default(0),
  /** noise-aware: re-run a would-be keep once and judge the mean of both runs. */
  confirm: z.boolean().default(false),
  /** sequential: the one-sided error allowed at each run's look; the overall false-keep rate it gives is measured by bench/acceptance.ts (about 4.5% at the defaults). */
  lookAlpha: z.number().gt(0).lt(0.5).default(0.025),
  /** sequential: the most runs one candidate gets. */
  maxRuns: z.number().int().min(1).max(10).default(4),
  /** sequential: discard after a run whose improvement is below this many standard errors. */
  futility: z.number().min(-5).max(5).default(0.55),
  /** sequential: fresh runs of a new best after its keep; its value is their mean, not the run that passed the bar. */
  remeasureRuns: z.number().int().min(0).max(10).default(4),
  /** sequential: one more run of the best after every this many decided candidates (0 = never), ... */
  remeasureEvery: z.number().int().min(0).default(1),
  /** ... until the best's value rests on this many fresh runs. */
  remeasureUpTo: z.number().int().min(1).max(50).default(10),
});

/** One Slurm batch job per experiment (README.md "Slurm"); the nodes share the project's filesystem. */
export const slurmExecutorSchema = z.strictObject({
  kind: z.literal("slurm"),
  /** sbatch --partition (default: the cluster's default partition). */
  partition: z.string().min(1).optional(),
  /** sbatch --account. */
  account: z.string().min(1).optional(),
  /** sbatch --qos. */
  qos: z.string().min(1).optional(),
  /** GPUs per job, asked for as --gres=gpu:N (or gpu:<gpuType>:N); 0 runs the jobs on CPUs. */
  gpusPerJob: z.number().int().min(0).default(1),
  /** A GPU type for --gres, e.g. "a100". */
  gpuType: z.string().regex(/^[A-Za-z0-9_.-]+$/, "must be a gres type name like a100").optional(),
  /** sbatch --cpus-per-task. */
  cpusPerJob: z.number().int().positive().default(1),
  /** sbatch --mem, in MiB (default: the partition's default). */
  memoryMb: z.number().int().positive().optional(),
  /** More sbatch options, one per line as after "#SBATCH ", e.g. "--constraint=a100". */
  extraSbatch: z.array(z.string().regex(/^-/, 'must be an sbatch option such as "--constraint=a100"')).default([]),
  /** Shell lines the batch script runs on the node before the job (module load, conda or venv activation). */
  preamble: z.array(z.string()).default([]),
  /** How often squeue is asked about the jobs in flight (the result files are looked for 4 times as often). */
  pollSeconds: z.number().positive().default(2),
  /**
   * A git remote URL the nodes fetch each candidate from, instead of the project's repository on the shared
   * filesystem: the harness pushes it there as refs/autoresearch/<tag>/<id> before it submits the job.
   */
  gitRemote: z.string().min(1).optional(),
});

export const executorSchema = z.discriminatedUnion("kind", [z.strictObject({ kind: z.literal("local") }), slurmExecutorSchema, kubernetesExecutorSchema]);

/**
 * An optional short first stage for each candidate (README.md "Cascade"): a smoke run at a few seconds, or a
 * fraction of the budget, that catches crashes, NaNs and clearly bad candidates before they take a full budget.
 */
export const cascadeSchema = z.strictObject({
  /** The smoke stage's train budget in seconds (give this or budgetFraction). */
  budgetSeconds: z.number().positive().optional(),
  /** The smoke stage's train budget as a fraction of the full one (give this or budgetSeconds). */
  budgetFraction: z.number().gt(0).lt(1, "must be below 1 (a smoke stage shorter than the full budget)").optional(),
  /** Smoke runs of the unchanged code: the yardstick for "clearly bad" (their spread is the smoke stage's noise). */
  baselineRuns: z.number().int().min(2, "at least 2 (the smoke stage's noise needs two runs)").max(20).default(3),
  /** A candidate's smoke metric is clearly bad when a smoke run of the unchanged code would be this far off with probability alpha (one-sided t prediction bound). */
  alpha: z.number().gt(0).lt(0.5).default(0.01),
  /** And worse than the unchanged code's smoke mean by at least this much, in the metric's units (a floor when the smoke runs hardly vary). */
  minMargin: z.number().min(0).default(0),
});

/** `autoresearch promote`: re-run the top k kept candidates and the baseline at a longer budget, to see whether their gains hold. */
export const promoteSchema = z.strictObject({
  /** The longer train budget in seconds. */
  budgetSeconds: z.number().positive(),
  /** How many kept candidates, best first. */
  k: z.number().int().min(1).max(20).default(3),
  /** Runs of each code (the baseline included) at that budget. */
  runs: z.number().int().min(2).max(50).default(3),
});

export const stopSchema = z.strictObject({
  maxExperiments: z.number().int().positive().optional(),
  maxHours: z.number().positive().optional(),
  /** Stop once the best reaches this value (<= for min, >= for max). */
  target: z.number().optional(),
  /** Pause after this many failures in a row (crash, timeout, rejected, no_metric, invalid). */
  maxConsecutiveFailures: z.number().int().positive().default(5),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  /** A name for the study, shown in views. */
  name: z.string().min(1).optional(),
  /** The human's instructions to the agent. */
  program: z.string().default("program.md"),
  /** Globs (relative to the project root) of files proposers may change. */
  mutable: z.array(z.string().min(1)).min(1, "needs at least one glob of files proposers may change"),
  /** Globs of files that must never change: evaluator, data preparation, constants. */
  protected: z.array(z.string().min(1)).default([]),
  /** Read-only files a proposer may read for context (not changeable). */
  context: z.array(z.string().min(1)).default([]),
  /** Run once per project before the first experiment; writes into AUTORESEARCH_DATA_DIR, which is then checksummed. */
  prepare: command.optional(),
  /** Runs the mutable code under the budget. Optional in a measure-only study (with `measure`). */
  train: command.optional(),
  /**
   * A measure-only study's scoring phase: a protected command that runs (and times, or sizes) the mutable code and
   * writes the metric to AUTORESEARCH_METRICS_FILE or prints a `name: value` line. Sandboxed like train; its
   * hard limit is timeoutSeconds (default 600, tightened to 10x the slowest baseline measurement, at least 60).
   */
  measure: command.optional(),
  /** Globs, relative to the prepared data directory, of files the train phase cannot read (the held-out splits); Linux mount namespaces. */
  hideFromTrain: z.array(z.string().min(1)).default([]),
  /** Protected; writes the metrics JSON to AUTORESEARCH_METRICS_FILE. Without it, metrics are read from train output and marked self-reported. */
  evaluate: evaluateSchema.optional(),
  metric: z.strictObject({
    name: z.string().min(1),
    direction: z.enum(["min", "max"]),
    /** A held-out metric the evaluator also writes (e.g. test_bpb); recorded, never shown to proposers. */
    heldOut: z.string().min(1).optional(),
    /** Other numbers to record from the metrics file. */
    secondary: z.array(z.string().min(1)).default([]),
  }),
  /** Training wall clock handed to the workload as AUTORESEARCH_BUDGET_SECONDS (required with `train`). */
  budgetSeconds: z.number().positive().optional(),
  /** Per device kind, replaces budgetSeconds for slots on that kind (the gpt template: 300 s on a GPU, 60 s on a CPU). */
  budgetByDevice: z
    .strictObject({ cpu: z.number().positive().optional(), cuda: z.number().positive().optional() })
    .optional(),
  /** Seconds a train phase may run past its budget, for start-up and the final save; beyond it the run is "timeout". Default 10 + 5% of the budget. */
  startupSeconds: z.number().min(0).optional(),
  /** Per device kind, replaces startupSeconds for slots on that kind. */
  startupByDevice: z
    .strictObject({ cpu: z.number().min(0).optional(), cuda: z.number().min(0).optional() })
    .optional(),
  /** Hard limit for the train command on every device kind: at least each budget, at most each budget + its start-up allowance. */
  timeoutSeconds: z.number().positive().optional(),
  /** Between SIGTERM and SIGKILL of a process group. */
  killGraceSeconds: z.number().min(0).default(5),
  /** The harness's environment variables that prepare, train and evaluate see besides the harmless defaults (guard/env.ts). */
  env: z.strictObject({
    pass: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name like HF_HOME")).default([]),
  }).default({ pass: [] }),
  /** How the phases that run mutable code are isolated; see README.md "Sandbox". */
  sandbox: sandboxSchema.default({ network: false, readOnly: [], maxProcesses: 4096, tmpMb: 2048, maxFileMb: 16384 }),
  /** Experiments run at once. */
  slots: z.number().int().positive().default(1),
  /** "auto" (one GPU per slot when nvidia-smi lists GPUs, else cpu) or explicit devices ("cpu", "cuda:0", ...). */
  devices: z.union([z.literal("auto"), z.array(z.string().regex(/^(cpu|cuda:\d+)$/, 'must be "cpu" or "cuda:N"')).min(1)]).default("auto"),
  /** Where experiments run: this machine (default), or one Slurm batch job or Kubernetes Job each ("slots" is then the jobs in flight). */
  executor: executorSchema.default({ kind: "local" }),
  /** Where experiments are recorded: the local SQLite ledger, or a study shared through PostgreSQL and a git remote (README "Research together"). */
  ledger: ledgerSchema.default({ kind: "sqlite" }),
  proposer: proposerSchema.default({ name: "search" }),
  acceptance: acceptanceSchema.default(acceptanceSchema.parse({})),
  /** A smoke stage before each candidate's full run (needs a train phase). */
  cascade: cascadeSchema.optional(),
  /** `autoresearch promote`'s defaults (its flags override them). */
  promote: promoteSchema.optional(),
  stop: stopSchema.default({ maxConsecutiveFailures: 5 }),
  /** Which experiments' output directories (.autoresearch/runs/<id>: checkpoints) stay once decided: the current best's, every kept one's, or all. */
  outputs: z.enum(["best", "kept", "all"]).default("best"),
  /** How many recent experiments a proposer sees. */
  historyLimit: z.number().int().positive().default(50),
});

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
