// Running one experiment job, start to finish, on the machine it is called on: check the commit out,
// verify the protected files and the data against the spec before anything runs, train under the
// budget (sandboxed), verify again, evaluate with the protected scorer (and its model servers) or, in a
// measure-only study, run the protected measure command (sandboxed), verify again, read the metrics, write the result. The local executor calls this in-process;
// `autoresearch job <spec.json>` calls it on another machine.
import { execFile } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import * as git from "../git/index.ts";
import { moveSlotCheckout, recordState, worktreeGitDir } from "./slot-checkout.ts";
import { ALWAYS_EXCLUDED_DIRS, dataFingerprints, diffHashes, hashTree, protectedFiles, sameFingerprints, statFingerprints, verifySnapshot } from "../guard/checksums.ts";
import { ENV_BUDGET_SECONDS, ENV_DATA_DIR, ENV_DEVICE, ENV_EXPERIMENT_ID, ENV_METRICS_FILE, ENV_OUTPUT_DIR, ENV_PHASE, ENV_REPLICA } from "../project/contract.ts";
import { runCommand, type RunOutcome, type RunSpec } from "../runner/process.ts";
import { runServed } from "../runner/served.ts";
import { readMetricsJson, SelfReportedScanner, type MetricsReading } from "./metrics.ts";
import { fetchCommit, FetchError, type FetchedRepository } from "./fetch.ts";
import { measureSandbox, scorerSandbox, serveSandbox, trainSandbox } from "./sandboxes.ts";
import type { JobResult, JobSpec } from "./spec.ts";

const execFileAsync = promisify(execFile);

export interface JobHooks {
  signal: AbortSignal;
  /** Called as each phase starts (the harness turns it into an event). */
  onPhase?: (phase: "train" | "evaluate" | "measure") => void;
  /** Each normalised line of the train output, as it is written. */
  onLine?: (line: string) => void;
}

type Status = JobResult["status"];

export async function runJob(job: JobSpec, hooks: JobHooks): Promise<JobResult> {
  const started = performance.now();
  const timings: JobResult["timings"] = { checkoutMs: 0, totalMs: 0 };
  const device = { requested: job.device, name: await deviceName(job.device) };
  const result = (status: Status, reason: string | null, extra: Partial<JobResult> = {}): JobResult => {
    timings.totalMs = Math.round(performance.now() - started);
    return {
      version: 1, experimentId: job.experimentId, status, reason, metric: null, heldOut: null, secondary: {}, memoryGb: null,
      selfReported: false, dataTampered: false, harnessError: false, timings, device, logPath: job.logPath, ...extra,
    };
  };
  mkdirSync(dirname(job.logPath), { recursive: true });
  let checkout: Checkout | null = null;
  let fetched: FetchedRepository | null = null;
  try {
    if (job.gitRemote) {
      try {
        fetched = await fetchCommit(job.gitRemote, job.commit, job.experimentId);
      } catch (error) {
        if (!(error instanceof FetchError)) throw error;
        appendFileSync(job.logPath, `--- could not fetch the candidate: ${error.message}\n`);
        return finishJob(job, result("crash", `could not fetch the candidate: ${error.message}`, { harnessError: true }));
      }
      appendFileSync(job.logPath, `--- fetched ${job.gitRemote.ref} (${job.commit.slice(0, 10)}) from ${job.gitRemote.url}\n`);
      job = { ...job, repository: fetched.dir };
    }
    checkout = await checkOut(job);
    timings.checkoutMs = Math.round(performance.now() - started);
    const tracked = await git.listFilesAt(job.repository, job.commit);
    const codeBefore = await inspect(job, checkout.dir, tracked);
    const refused = await integrityProblem(job, codeBefore);
    if (refused) {
      appendFileSync(job.logPath, `--- refused before running: ${refused.reason}\n`);
      return finishJob(job, result("rejected", refused.reason, { dataTampered: refused.dataTampered }));
    }
    rmSync(job.outputDir, { recursive: true, force: true });
    mkdirSync(job.outputDir, { recursive: true });

    const base: Omit<RunSpec, "command" | "env" | "timeoutMs"> = {
      cwd: checkout.dir, logPath: job.logPath, killGraceMs: job.killGraceSeconds * 1000, signal: hooks.signal, marker: job.marker,
    };
    // The contract's variables that the spec says otherwise come from the spec, so an edited spec stays consistent.
    const contract = {
      [ENV_EXPERIMENT_ID]: String(job.experimentId), [ENV_OUTPUT_DIR]: job.outputDir, [ENV_DATA_DIR]: job.data.dir,
      [ENV_DEVICE]: job.device, ...(job.train ? { [ENV_BUDGET_SECONDS]: String(job.train.budgetSeconds) } : {}),
    };
    const env = (phase: string, extra: Record<string, string> = {}) => ({ ...job.env, ...contract, [ENV_PHASE]: phase, ...extra });
    const selfReportedScan = new SelfReportedScanner();

    const train = job.train;
    if (train) {
      appendFileSync(job.logPath, `--- train: ${train.command}\n`);
      hooks.onPhase?.("train");
      const trainStarted = performance.now();
      const trained = await runCommand({
        ...base, command: train.command, env: env("train"), timeoutMs: train.timeoutSeconds * 1000,
        onLine: (line) => {
          selfReportedScan.push(line); // scanned as written: the capped log may have cut the line out
          hooks.onLine?.(line);
        },
        hide: job.sandbox ? [] : job.data.hidden,
        sandbox: trainSandbox(job, checkout.dir),
      });
      timings.trainMs = Math.round(performance.now() - trainStarted);
      const trainFailure = phaseFailure("train", trained, train.timeoutSeconds);
      if (trainFailure) return finishJob(job, result(trainFailure.status, trainFailure.reason));
      const afterTrain = await changedSince(job, checkout.dir, tracked, codeBefore, "training");
      if (afterTrain) return finishJob(job, result("rejected", afterTrain.reason, { dataTampered: afterTrain.dataTampered }));
    }

    let reading: MetricsReading;
    let selfReported = false;
    if (job.evaluate) {
      const evaluate = job.evaluate;
      const metricsDir = join(job.runDir, `eval-${randomUUID().slice(0, 8)}`);
      mkdirSync(metricsDir, { recursive: true });
      const metricsPath = join(metricsDir, "metrics.json");
      appendFileSync(job.logPath, `--- evaluate: ${evaluate.command}\n`);
      hooks.onPhase?.("evaluate");
      const evaluateStarted = performance.now();
      const scorer: RunSpec = {
        ...base, command: evaluate.command, env: env("evaluate", { [ENV_METRICS_FILE]: metricsPath }), timeoutMs: evaluate.timeoutSeconds * 1000,
        sandbox: scorerSandbox(job, checkout.dir, metricsDir),
      };
      const evaluation = evaluate.serve
        ? await runServed({
            scorer,
            servers: Array.from({ length: evaluate.replicas }, (_, replica) => ({
              ...base, command: evaluate.serve!, timeoutMs: scorer.timeoutMs, sandbox: serveSandbox(job, checkout!.dir),
              env: serverEnvironment(env("serve", { [ENV_REPLICA]: String(replica) })),
            })),
          })
        : await runCommand(scorer);
      timings.evaluateMs = Math.round(performance.now() - evaluateStarted);
      const evaluateFailure = phaseFailure("evaluate", evaluation, evaluate.timeoutSeconds);
      if (evaluateFailure) return finishJob(job, result(evaluateFailure.status, evaluateFailure.reason));
      reading = existsSync(metricsPath)
        ? readMetricsJson(readFileSync(metricsPath, "utf8"), job.metric)
        : { kind: "no_metric", reason: "the evaluator exited 0 but wrote no metrics file" };
      const afterEvaluation = await changedSince(job, checkout.dir, tracked, codeBefore, "evaluation");
      if (afterEvaluation) return finishJob(job, result("rejected", afterEvaluation.reason, { dataTampered: afterEvaluation.dataTampered }));
    } else if (job.measure) {
      const measured = await measurePhase(job, checkout.dir, base, env, hooks, timings);
      if (measured.kind === "failed") return finishJob(job, result(measured.status, measured.reason));
      reading = measured.reading;
      const afterMeasure = await changedSince(job, checkout.dir, tracked, codeBefore, "measuring");
      if (afterMeasure) return finishJob(job, result("rejected", afterMeasure.reason, { dataTampered: afterMeasure.dataTampered }));
    } else {
      selfReported = true;
      reading = selfReportedScan.reading(job.metric);
    }
    if (reading.kind !== "ok") return finishJob(job, result(reading.kind, reading.reason, { selfReported }));
    return finishJob(job, result("ok", null, {
      metric: reading.metric, heldOut: reading.heldOut, secondary: reading.secondary, memoryGb: reading.memoryGb, selfReported,
    }));
  } catch (error) {
    // A failure of the job's own machinery (git, disk): reported as the job's result, never left unanswered.
    const status: Status = hooks.signal.aborted ? "interrupted" : "crash";
    return finishJob(job, result(status, `harness error: ${(error as Error).message}`, { harnessError: true }));
  } finally {
    await checkout?.release();
    fetched?.release();
  }
}

/**
 * A measure-only study's scoring phase: the protected measure command, sandboxed like train (it runs the
 * mutable code), under its hard limit. The metric comes from the metrics file when the command wrote one, and
 * only otherwise from the last `name: value` line of its output: a printed line can come from the mutable code
 * it runs as well, the metrics file only from code that was handed its path (README.md "Measure-only studies").
 */
async function measurePhase(
  job: JobSpec, dir: string, base: Omit<RunSpec, "command" | "env" | "timeoutMs">,
  env: (phase: string, extra?: Record<string, string>) => Record<string, string>, hooks: JobHooks, timings: JobResult["timings"],
): Promise<{ kind: "measured"; reading: MetricsReading } | { kind: "failed"; status: Status; reason: string }> {
  const measure = job.measure!;
  const metricsDir = join(job.runDir, `measure-${randomUUID().slice(0, 8)}`);
  mkdirSync(metricsDir, { recursive: true });
  const metricsPath = join(metricsDir, "metrics.json");
  appendFileSync(job.logPath, `--- measure: ${measure.command}\n`);
  hooks.onPhase?.("measure");
  const printed = new SelfReportedScanner();
  const started = performance.now();
  const outcome = await runCommand({
    ...base, command: measure.command, env: env("measure", { [ENV_METRICS_FILE]: metricsPath }), timeoutMs: measure.timeoutSeconds * 1000,
    onLine: (line) => {
      printed.push(line);
      hooks.onLine?.(line);
    },
    hide: job.sandbox ? [] : job.data.hidden,
    sandbox: measureSandbox(job, dir, metricsDir),
  });
  timings.evaluateMs = Math.round(performance.now() - started);
  const failure = phaseFailure("measure", outcome, measure.timeoutSeconds);
  if (failure) return { kind: "failed", ...failure };
  const reading = existsSync(metricsPath) ? readMetricsJson(readFileSync(metricsPath, "utf8"), job.metric) : printed.reading(job.metric, "the measure output");
  return { kind: "measured", reading };
}

/** Writes the result where the spec says (atomically: a reader never sees half a file), and returns it. */
function finishJob(job: JobSpec, result: JobResult): JobResult {
  try {
    mkdirSync(dirname(job.resultPath), { recursive: true });
    const temporary = `${job.resultPath}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(result, null, 2)}\n`);
    renameSync(temporary, job.resultPath);
  } catch (error) {
    // The in-process caller has the result anyway; a remote caller sees the missing file as a lost job.
    process.emitWarning(`could not write the job result to ${job.resultPath}: ${(error as Error).message}`);
  }
  return result;
}

interface Checkout {
  dir: string;
  release(): Promise<void>;
}

/**
 * The commit's files: the slot's persistent checkout reset to it (made on first use), or, without
 * one, a scratch directory filled from `git archive` (no .git inside, nothing registered in the
 * repository) and removed afterwards.
 */
async function checkOut(job: JobSpec): Promise<Checkout> {
  if (job.workdir) {
    // Sandboxed phases see the checkout read-only, so it can be moved by writing only the files that differ.
    const readOnlyPhases = job.sandbox !== null;
    if (existsSync(join(job.workdir, ".git"))) {
      await moveSlotCheckout(job.repository, job.workdir, job.commit, readOnlyPhases);
    } else {
      await git.addWorktree(job.repository, job.workdir, job.commit);
      const gitDir = worktreeGitDir(job.workdir);
      if (readOnlyPhases && gitDir !== null) await recordState(job.repository, job.workdir, gitDir, job.commit);
    }
    return { dir: job.workdir, release: async () => {} };
  }
  const dir = mkdtempSync(join(tmpdir(), `autoresearch-job-${job.experimentId}-`));
  try {
    await git.extractCommit(job.repository, job.commit, dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, release: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** Why the checkout must not run at all: its protected files or the data differ from what the session has. */
async function integrityProblem(job: JobSpec, inspection: Inspection): Promise<{ reason: string; dataTampered: boolean } | null> {
  const actual = Object.fromEntries(inspection.protectedPaths.filter((path) => path in inspection.hashes).map((path) => [path, inspection.hashes[path]!]));
  const differences = diffHashes(job.protectedChecksums, actual);
  if (differences.length > 0) {
    return { reason: `the checked-out commit's protected files differ from the session's: ${differences.slice(0, 5).join(", ")}`, dataTampered: false };
  }
  const data = await dataProblem(job);
  return data ? { reason: data, dataTampered: true } : null;
}

async function dataProblem(job: JobSpec): Promise<string | null> {
  if (!job.data.snapshot) return null;
  const problems = await verifySnapshot(job.data.dir, job.data.snapshot);
  return problems.length > 0 ? `prepared data does not match its checksums: ${problems.slice(0, 5).join("; ")}` : null;
}

/** The checkout's code and the data as they were before any phase ran, to compare with after each one. */
interface Inspection {
  /** sha256 of the protected files and of every file the commit tracks, as checked out. */
  hashes: Record<string, string>;
  protectedPaths: string[];
  /** Sandboxed jobs only: the same files' and the data's fingerprints (guard/checksums.ts statFingerprints). */
  fingerprints: { code: Record<string, string>; data: Record<string, string> } | null;
}

/**
 * Unsandboxed, a phase could rewrite the evaluator or its own committed code (so that what is scored
 * is not what was committed) or the data: after each phase every file is hashed again. In the sandbox
 * the checkout and the data are bound read-only (job/sandboxes.ts), so no phase can write them at all;
 * there their fingerprints (inode, size, mtime, ctime) confirm it without reading every byte again, and
 * any difference is hashed and reported as before.
 */
async function inspect(job: JobSpec, dir: string, tracked: readonly string[]): Promise<Inspection> {
  const protectedPaths = await protectedFiles(dir, job.protectedGlobs, ALWAYS_EXCLUDED_DIRS);
  const files = [...new Set([...protectedPaths, ...tracked])];
  const hashes = await hashTree(dir, files);
  const fingerprints = job.sandbox
    ? { code: await statFingerprints(dir, files), data: job.data.snapshot ? await dataFingerprints(job.data.dir) : {} }
    : null;
  return { hashes, protectedPaths, fingerprints };
}

async function changedSince(job: JobSpec, dir: string, tracked: readonly string[], before: Inspection, phase: string): Promise<{ reason: string; dataTampered: boolean } | null> {
  const files = [...new Set([...(await protectedFiles(dir, job.protectedGlobs, ALWAYS_EXCLUDED_DIRS)), ...tracked])];
  const fingerprints = before.fingerprints;
  if (!fingerprints || !sameFingerprints(fingerprints.code, await statFingerprints(dir, files))) {
    const changed = diffHashes(before.hashes, await hashTree(dir, files)).join(", ");
    if (changed) return { reason: `files of the candidate changed during ${phase} (the scored code must be the committed code): ${changed}`, dataTampered: false };
  }
  if (fingerprints && job.data.snapshot && sameFingerprints(fingerprints.data, await dataFingerprints(job.data.dir))) return null;
  const data = await dataProblem(job);
  return data ? { reason: `${data} (during ${phase})`, dataTampered: true } : null;
}

/** A model server learns nothing of the data: no data directory, no metrics path. */
function serverEnvironment(env: Record<string, string>): Record<string, string> {
  const { [ENV_DATA_DIR]: _data, [ENV_METRICS_FILE]: _metrics, ...rest } = env;
  return rest;
}

function phaseFailure(phase: string, outcome: RunOutcome, timeoutSeconds: number): { status: Status; reason: string } | null {
  if (outcome.aborted) return { status: "interrupted", reason: `${phase} was interrupted (the harness was stopped)` };
  if (outcome.timedOut) return { status: "timeout", reason: `${phase} ran past its hard limit of ${timeoutSeconds}s and was killed` };
  if (outcome.exitCode !== 0) {
    const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`;
    return { status: "crash", reason: `${phase} ${how}` };
  }
  return null;
}

const deviceNames = new Map<string, Promise<string | null>>();

/** The model of the device a job ran on: the GPU's name from nvidia-smi, or the CPU's. Read once per device. */
function deviceName(device: string): Promise<string | null> {
  let name = deviceNames.get(device);
  if (!name) {
    const gpu = /^cuda:(\d+)$/.exec(device);
    name = gpu
      ? execFileAsync("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader", "-i", gpu[1]!], { timeout: 10_000 }).then(({ stdout }) => stdout.trim() || null, () => null)
      : Promise.resolve(cpus()[0]?.model.trim() ?? null);
    deviceNames.set(device, name);
  }
  return name;
}
