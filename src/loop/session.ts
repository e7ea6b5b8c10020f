// Opening a session (new or resumed), making git, worktrees and ledger consistent, and running the loop.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import picomatch from "picomatch";
import * as git from "../git/index.ts";
import { programWarning } from "../project/program.ts";
import { CONFIG_FILE, DEFAULT_MEASURE_TIMEOUT_SECONDS, loadConfig, parseConfig, scopeProblems, trainLimitsByKind, type ResearchConfig } from "../config/load.ts";
import { ConfigError, EXIT, UsageError, UserError } from "../errors.ts";
import { EventBus, type SessionSoFar, type SessionSummary } from "../events/types.ts";
import { summarise } from "../core/summary.ts";
import { assignDevices } from "../executors/devices.ts";
import { createLocalExecutor } from "../executors/local.ts";
import { clusterSlots, createSlurmExecutor } from "../executors/slurm.ts";
import { createKubernetesExecutor } from "../executors/kubernetes.ts";
import type { Executor } from "../executors/types.ts";
import { scrubEnvironment } from "../guard/env.ts";
import { Ledger } from "../ledger/sqlite.ts";
import type { SessionRecord } from "../core/session.ts";
import { branchName, projectPaths, STATE_DIR_NAME, type ProjectPaths } from "../project/paths.ts";
import { createProposer } from "../proposers/registry.ts";
import type { Proposer } from "../proposers/types.ts";
import { killMarkedProcesses } from "../runner/process.ts";
import { isoAt, systemClock, type Clock, type SessionContext } from "./context.ts";
import { createAcceptancePolicy } from "./decide.ts";
import { SESSION_MARKER_ENV, sessionKey } from "./environment.ts";
import { onEmergencyExit } from "./emergency.ts";
import { acquireRunLock, recordLockTag } from "./lock.ts";
import { PrepareInterruptedError, readyData } from "./prepare.ts";
import { refreshResultsTsv } from "./apply.ts";
import { pruneOutputs } from "./outputs.ts";
import { releaseSlots } from "./experiment.ts";
import { cancelLeftoverJobs, findLeftoverJobs, type AdoptedJob } from "./adopt.ts";
import { slurmExecutorSchema } from "../config/schema.ts";
import { chooseIsolation, isolationLabel } from "./sandboxes.ts";
import { protectedChecksumsAt } from "../guard/checksums.ts";
import { runLoop } from "./scheduler.ts";
import { summarize } from "./summary.ts";
import { followStudyBest, openShare, workerProposerConfig } from "./share.ts";
import type { ShareSession } from "../share/worker.ts";

export interface OpenOptions {
  projectDir: string;
  tag?: string;
  maxExperiments?: number;
  maxHours?: number;
  target?: number;
  slots?: number;
  proposer?: string;
  bus: EventBus;
  clock?: Clock;
  executor?: Executor;
  /** Where experiments run, instead of the config's executor.kind (`run --executor`). */
  executorKind?: "local" | "slurm" | "kubernetes";
  /**
   * Jobs an earlier, killed harness left on a cluster are adopted (the loop decides their results) rather than
   * cancelled. Only a caller that runs the loop (runSession) can adopt them.
   */
  adoptLeftovers?: boolean;
  /** GPU indices instead of asking nvidia-smi (tests). */
  gpus?: number[];
  /** Run the mutable code without the sandbox (the user's explicit choice; every view says so). */
  unsandboxed?: boolean;
  /** The candidates are arbitrary code (an agent over MCP), whatever the configured proposer. */
  writesCode?: boolean;
}

export interface RunOptions extends OpenOptions {
  signal: AbortSignal;
  /** Replaces the configured proposer (tests, benchmarks). */
  proposerInstance?: Proposer;
}

/** A session opened for running: the run lock is held and the ledger is open until `close`. */
export interface OpenedSession {
  ctx: SessionContext;
  session: SessionRecord;
  resumed: boolean;
  /** Jobs of an earlier run found still queued or running (or ended with a result) on resume, for the loop to finish. */
  adopted: AdoptedJob[];
  /** Records nothing: releases the slots' checkouts, the ledger and the run lock. */
  close(): Promise<void>;
}

export interface RunResult extends SessionStop {
  tag: string;
  summary: SessionSummary;
}

/** How a run of a session ended: by a rule or the work running out, paused for the user, or interrupted by them. */
export interface SessionStop {
  reason: string;
  paused: boolean;
  /** Ctrl-C or SIGTERM (the exit code says so), not a stop rule. */
  interrupted: boolean;
}

const TAG_CHARACTERS = /^[A-Za-z0-9._-]*$/;

/**
 * Why `tag` cannot name a session, or null. A tag becomes the branch autoresearch/<tag> and the refs
 * refs/autoresearch/<tag>/<id>, so besides our own character set it must follow git's ref-name rules
 * (git check-ref-format): no "..", no trailing "." or ".lock".
 */
export function tagProblem(tag: string): string | null {
  if (tag === "") return "it is empty";
  if (tag.length > 64) return `it is ${tag.length} characters long; the limit is 64`;
  if (!TAG_CHARACTERS.test(tag)) return `it contains ${JSON.stringify([...tag.replace(/[A-Za-z0-9._-]/g, "")][0])}; only letters, digits, '.', '_' and '-' are allowed`;
  if (!/^[A-Za-z0-9]/.test(tag)) return "it must start with a letter or a digit";
  if (tag.includes("..")) return "it contains \"..\", which git does not allow in a branch name";
  if (tag.endsWith(".")) return "it ends with \".\", which git does not allow in a branch name";
  if (tag.endsWith(".lock")) return "it ends with \".lock\", which git reserves for its lock files";
  return null;
}

/**
 * Opens (or creates) a session for running experiments: takes the run lock, recovers what an
 * earlier harness left behind, marks the session running and announces it. The caller must `close`.
 * Used by the loop (runSession) and by single experiments (loop/single.ts).
 */
export async function openSession(options: OpenOptions): Promise<OpenedSession> {
  const clock = options.clock ?? systemClock;
  const projectDir = await git.repoRoot(options.projectDir).catch(() => {
    throw new UserError(`${options.projectDir} is not inside a git repository`, {
      exitCode: EXIT.config,
      hint: "autoresearch keeps every candidate as a commit: run `git init && git add -A && git commit -m init` first, or create a project with `autoresearch init`.",
    });
  });
  const workingConfig = loadConfig(projectDir); // validate the working copy early, with clear messages
  const paths = projectPaths(projectDir);
  mkdirSync(paths.stateDir, { recursive: true });
  ignoreStateFiles(projectDir);
  const releaseLock = acquireRunLock(paths.lockFile);
  const ledger = Ledger.open(paths.stateDir);
  let removeEmergencyHook = () => {};
  let slots: SessionContext["slots"] = [];
  let share: ShareSession | null = null;
  const close = async () => {
    try {
      await releaseSlots({ paths, slots });
      await share?.close();
    } finally {
      removeEmergencyHook();
      ledger.close();
      releaseLock();
    }
  };
  try {
    // A shared study's worker keeps one session, named after the study.
    const tag = pickTag(ledger, options.tag ?? (workingConfig.ledger.kind === "postgres" ? workingConfig.ledger.study : undefined), clock);
    recordLockTag(paths.lockFile, tag);
    // A second Ctrl-C exits at once: the session and its running experiments are recorded as stopped first.
    removeEmergencyHook = onEmergencyExit(() => {
      ledger.markInterrupted(tag, "the harness was stopped at once (Ctrl-C twice)");
      if (ledger.getSession(tag)) ledger.updateSession(tag, { state: "stopped", stopReason: "interrupted (Ctrl-C twice): stopped at once" });
    });
    const existing = ledger.getSession(tag);
    const session = existing ?? (await createSession(ledger, projectDir, tag, clock));
    const config = applyOverrides(await sessionConfig(projectDir, session.baseCommit), options);
    const executorConfig = config.executor;
    slots = executorConfig.kind === "local" ? await assignDevices(config.slots, config.devices, options.gpus) : clusterSlots(config.slots, executorConfig.gpusPerJob);
    const key = sessionKey(projectDir, tag);
    const executor = options.executor ?? (executorConfig.kind === "slurm"
      ? createSlurmExecutor({ config: executorConfig, slots: slots.length, jobNamePrefix: `autoresearch-${key.slice(0, 8)}`, tag })
      : executorConfig.kind === "kubernetes"
        ? createKubernetesExecutor({ config: executorConfig, slots: slots.length, sessionKey: key, tag })
        : createLocalExecutor(slots.map((slot) => slot.device)));
    const ctx: SessionContext = {
      config, paths, tag, branch: session.branch, sessionKey: key, ledger,
      executor, bus: options.bus, clock,
      baseEnv: scrubEnvironment(process.env, { pass: config.env.pass }).env,
      protectedGlobs: [...config.protected, CONFIG_FILE, config.program],
      dataSnapshot: null,
      slots,
      hiddenFromTrain: [],
      isolation: { sandboxed: false, reason: "not decided yet" },
      protectedChecksums: {},
    };
    const chosen = await chooseIsolation(config, { unsandboxed: options.unsandboxed ?? false, writesCode: options.writesCode ?? false, env: process.env });
    ctx.isolation = chosen.isolation;
    ledger.setIsolation(tag, isolationLabel(ctx.isolation));
    const adopted = existing ? await recover(ctx, session, options.adoptLeftovers ?? false) : [];
    share = await openShare(ctx);
    if (share) ctx.share = share;
    ctx.protectedChecksums = await protectedChecksumsAt(projectDir, session.baseCommit, ctx.protectedGlobs);
    ledger.updateSession(tag, { state: "running", stopReason: null });
    options.bus.emit({
      type: "session_started", at: isoAt(clock), tag, branch: session.branch, baseCommit: session.baseCommit, resumed: existing !== null,
      slots: ctx.slots.length, devices: ctx.slots.map((slot) => slot.device), metric: config.metric.name, direction: config.metric.direction,
      policy: config.acceptance.policy, projectDir, isolation: isolationLabel(ctx.isolation),
      trainLimits: config.train ? trainLimitsByKind(config, ctx.slots.map((slot) => slot.device)) : [],
      ...(config.measure ? { measure: { command: config.measure.command, timeoutSeconds: config.measure.timeoutSeconds ?? DEFAULT_MEASURE_TIMEOUT_SECONDS } } : {}),
      ...(existing ? { soFar: sessionSoFar(ledger, tag) } : {}),
    });
    if (chosen.warning) options.bus.emit({ type: "warning", at: isoAt(clock), message: chosen.warning });
    // Proposers read the program at the commits they build on; it is protected, so the base's is the session's.
    const program = programWarning(config.program, await git.readFileAt(projectDir, session.baseCommit, config.program));
    if (program) options.bus.emit({ type: "warning", at: isoAt(clock), message: program });
    return { ctx, session, resumed: existing !== null, adopted, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export async function runSession(options: RunOptions): Promise<RunResult> {
  const opened = await openSession({ ...options, adoptLeftovers: true });
  const { ctx, session } = opened;
  if (ctx.share) ctx.share.stopSignal = options.signal;
  const { ledger, tag, clock, config } = ctx;
  try {
    await warnAboutUncommittedEdits(ctx);
    const startedMs = clock.now();
    let result: SessionStop;
    try {
      const prepared = await readyData(ctx, session.baseCommit, options.signal).then(() => true, (error: unknown) => {
        if (error instanceof PrepareInterruptedError) return false; // Ctrl-C: an interrupted session, not a broken prepare
        throw error;
      });
      const loop = !prepared ? { paused: false, interrupted: true, reason: new PrepareInterruptedError().message } : await runLoop(ctx, {
        proposer: options.proposerInstance ?? createProposer(workerProposerConfig(ctx, config.proposer), ctx.paths.projectDir),
        policy: createAcceptancePolicy(config.acceptance),
        signal: options.signal,
        queueDepth: config.proposer.queueDepth ?? ctx.slots.length,
        adopted: opened.adopted,
        proposerConcurrency: config.proposer.concurrency ?? config.proposer.queueDepth ?? ctx.slots.length,
      });
      result = { ...loop, interrupted: loop.interrupted ?? false };
    } catch (error) {
      // Best effort: with a full disk or a read-only ledger these writes fail too, and the next run's recovery does them.
      const reason = (error as Error).message;
      try {
        ledger.markInterrupted(tag, `the harness stopped: ${reason}`);
        ledger.updateSession(tag, { state: "paused", stopReason: reason });
      } catch {
        // the original error says more
      }
      throw error;
    }
    await followStudyBest(ctx); // a shared study's worker ends on the study's best
    return { tag, ...result, summary: recordStop(ctx, startedMs, result) };
  } finally {
    await opened.close();
  }
}

/**
 * The end of one run of a session, for the loop and for a single experiment alike: the session's
 * state and reason in the ledger, results.tsv, the stop events, and the summary they carry.
 */
export function recordStop(ctx: SessionContext, startedMs: number, stop: SessionStop): SessionSummary {
  const { ledger, tag, clock, bus } = ctx;
  ledger.updateSession(tag, { state: stop.paused ? "paused" : "stopped", stopReason: stop.reason });
  refreshResultsTsv(ctx);
  const summary = summarize(ledger, tag, clock.now() - startedMs, startedMs);
  if (stop.paused) bus.emit({ type: "session_paused", at: isoAt(clock), reason: stop.reason });
  bus.emit({ type: "session_stopped", at: isoAt(clock), reason: stop.reason, summary });
  return summary;
}

/** A resumed session's counts and best, read after recover (so an interrupted run's rows count as finished). */
function sessionSoFar(ledger: Ledger, tag: string): SessionSoFar {
  const counts = summarise(ledger.listExperiments({ tag }));
  const session = ledger.getSession(tag);
  return { experiments: counts.experiments, kept: counts.kept, best: session?.bestMetric ?? null, bestExperimentId: session?.bestExperimentId ?? null };
}

/** The session a command means: the one asked for, else the latest, else a new one named after today. */
export function pickTag(ledger: Ledger, requested: string | undefined, clock: Clock = systemClock): string {
  const tag = requested ?? ledger.listSessions().at(-1)?.tag ?? defaultTag(clock);
  const problem = tagProblem(tag);
  if (problem) throw new UsageError(`--tag "${tag}" is not a valid tag: ${problem}`, "Use letters, digits and single '.', '_' or '-' between them, e.g. mar5-lr (it becomes the branch autoresearch/<tag>).");
  return tag;
}

async function createSession(ledger: Ledger, projectDir: string, tag: string, clock: Clock): Promise<SessionRecord> {
  const head = await git.revParse(projectDir, "HEAD");
  if (!head) throw new UserError("the repository has no commit yet", { exitCode: EXIT.config, hint: "Commit the project first: git add -A && git commit -m init" });
  const committed = await git.readFileAt(projectDir, head, CONFIG_FILE);
  if (committed === null) throw new UserError(`${CONFIG_FILE} is not committed`, { exitCode: EXIT.config, hint: `The session runs from commit ${head.slice(0, 7)}: git add ${CONFIG_FILE} && git commit` });
  if (committed !== readFileSync(join(projectDir, CONFIG_FILE), "utf8")) {
    throw new UserError(`${CONFIG_FILE} has uncommitted changes`, { exitCode: EXIT.config, hint: `The session runs from commit ${head.slice(0, 7)}; commit the config first.` });
  }
  // The session's scope is frozen with its base: what only the files can tell is checked before it starts.
  const scope = scopeProblems(parseConfig(committed, join(projectDir, CONFIG_FILE), projectDir), await git.listFilesAt(projectDir, head));
  if (scope.length > 0) {
    throw new ConfigError(scope.map((problem) => `${CONFIG_FILE} at ${head.slice(0, 7)}: ${problem}`), "Fix the globs, commit, and run again (the session keeps the config of the commit it starts from).");
  }
  const branch = branchName(tag);
  if (await git.branchExists(projectDir, branch)) {
    throw new UserError(`branch ${branch} already exists but the ledger has no session "${tag}"`, { exitCode: EXIT.config, hint: "Pick another --tag, or delete that branch if it is left over." });
  }
  await git.createBranch(projectDir, branch, head);
  const session: SessionRecord = {
    tag, branch, baseCommit: head, createdAt: isoAt(clock), config: JSON.parse(committed), bestCommit: head, bestMetric: null,
    bestExperimentId: null, noiseSigma: null, state: "running", stopReason: null, isolation: null,
  };
  ledger.createSession(session);
  return session;
}

/** The config the session runs with: the one committed at its base (protected, like the evaluator). */
async function sessionConfig(projectDir: string, baseCommit: string): Promise<ResearchConfig> {
  const text = await git.readFileAt(projectDir, baseCommit, CONFIG_FILE);
  if (text === null) throw new UserError(`${CONFIG_FILE} is missing at the session's base commit ${baseCommit.slice(0, 7)}`, { exitCode: EXIT.config });
  return parseConfig(text, join(projectDir, CONFIG_FILE), projectDir);
}

function applyOverrides(config: ResearchConfig, options: OpenOptions): ResearchConfig {
  const stop = { ...config.stop };
  if (options.maxExperiments !== undefined) stop.maxExperiments = options.maxExperiments;
  if (options.maxHours !== undefined) stop.maxHours = options.maxHours;
  if (options.target !== undefined) stop.target = options.target;
  return {
    ...config,
    stop,
    slots: options.slots ?? config.slots,
    executor: options.executorKind === undefined || options.executorKind === config.executor.kind
      ? config.executor
      : options.executorKind === "slurm" ? slurmExecutorSchema.parse({ kind: "slurm" })
      : options.executorKind === "kubernetes" ? kubernetesWithoutConfig()
      : { kind: "local" },
    proposer: options.proposer ? { ...config.proposer, name: options.proposer } : config.proposer,
  };
}

/** Kubernetes has no defaults for the image and the git remote: --executor kubernetes needs the config's section. */
function kubernetesWithoutConfig(): never {
  throw new UsageError(
    `run: --executor kubernetes needs an "executor" section of kind "kubernetes" in ${CONFIG_FILE} (at the session's base commit)`,
    'Add e.g. "executor": {"kind": "kubernetes", "image": "registry.example.com/autoresearch-gpt:cuda", "gitRemote": "git@example.com:you/study.git"} and commit it; README.md "Kubernetes" lists the fields.',
  );
}

/**
 * After a crash or kill -9 of an earlier harness: no process, worktree or half-recorded experiment survives —
 * except jobs on a cluster, which the loop adopts (up to one per slot; the rest are cancelled) when `adopt`.
 */
async function recover(ctx: SessionContext, session: SessionRecord, adopt: boolean): Promise<AdoptedJob[]> {
  const leftovers = await findLeftoverJobs(ctx);
  const adopted = adopt ? leftovers.slice(0, ctx.slots.length) : [];
  await cancelLeftoverJobs(ctx, leftovers.slice(adopted.length));
  if (adopted.length > 0) {
    ctx.bus.emit({ type: "warning", at: isoAt(ctx.clock), message: `experiment(s) ${adopted.map((job) => job.row.id).join(", ")} still have their ${ctx.executor.name} job(s) from an earlier run: adopted, their results are decided as they come` });
  }
  const killed = await killMarkedProcesses({ name: SESSION_MARKER_ENV, value: ctx.sessionKey });
  if (killed > 0) ctx.bus.emit({ type: "warning", at: isoAt(ctx.clock), message: `killed ${killed} process(es) left over from an earlier run of this session` });
  const interrupted = ctx.ledger.markInterrupted(ctx.tag, "the harness stopped while it ran", adopted.map((job) => job.row.id));
  if (interrupted.length > 0) ctx.bus.emit({ type: "warning", at: isoAt(ctx.clock), message: `experiment(s) ${interrupted.join(", ")} were running when the harness stopped: marked interrupted` });
  await removeWorktrees(ctx.paths);
  pruneOutputs(ctx);
  const branchRef = `refs/heads/${ctx.branch}`;
  const pointsAt = await git.revParse(ctx.paths.projectDir, branchRef);
  if (pointsAt !== session.bestCommit) {
    await git.updateRef(ctx.paths.projectDir, branchRef, session.bestCommit);
    ctx.bus.emit({ type: "warning", at: isoAt(ctx.clock), message: `${ctx.branch} re-pointed at the ledger's best ${session.bestCommit.slice(0, 7)}` });
  }
  return adopted;
}

/** Edits to mutable files that are not committed never reach an experiment: say so once, at the start. */
async function warnAboutUncommittedEdits(ctx: SessionContext): Promise<void> {
  const mutable = picomatch(ctx.config.mutable, { dot: true });
  const edited = (await git.uncommittedPaths(ctx.paths.projectDir).catch(() => [])).filter((path) => mutable(path));
  if (edited.length === 0) return;
  const best = ctx.ledger.getSession(ctx.tag)?.bestCommit ?? "";
  ctx.bus.emit({
    type: "warning", at: isoAt(ctx.clock),
    message: `uncommitted changes to ${edited.length} mutable file(s) (${edited.slice(0, 3).join(", ")}${edited.length > 3 ? ", ..." : ""}) are not used: ` +
      `experiments start from committed code (the session's best, ${ctx.branch} at ${best.slice(0, 7)}). To try them, commit them and start a new session with --tag.`,
  });
}

async function removeWorktrees(paths: ProjectPaths): Promise<void> {
  for (const worktree of await git.listWorktrees(paths.projectDir)) {
    if (worktree.path.startsWith(paths.worktreesDir)) await git.removeWorktree(paths.projectDir, worktree.path).catch(() => undefined);
  }
  rmSync(paths.worktreesDir, { recursive: true, force: true });
  await git.pruneWorktrees(paths.projectDir);
}

function ignoreStateFiles(projectDir: string): void {
  const exclude = join(projectDir, ".git", "info", "exclude");
  if (!existsSync(join(projectDir, ".git", "info"))) return; // a worktree or unusual layout: .gitignore must do
  const current = existsSync(exclude) ? readFileSync(exclude, "utf8") : "";
  const missing = [`/${STATE_DIR_NAME}/`, "/results.tsv"].filter((line) => !current.split("\n").includes(line));
  if (missing.length > 0) appendFileSync(exclude, `${current.endsWith("\n") || current === "" ? "" : "\n"}${missing.join("\n")}\n`);
}

export { sessionKey } from "./environment.ts";

function defaultTag(clock: Clock): string {
  const date = new Date(clock.now());
  return `${date.toLocaleString("en-US", { month: "short", timeZone: "UTC" }).toLowerCase()}${date.getUTCDate()}`;
}
