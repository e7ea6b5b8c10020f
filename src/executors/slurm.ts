// Runs each job as one Slurm batch job that runs `autoresearch job` on a node, so the integrity checks
// run where the code runs. The project's directory is assumed shared with the nodes (the default on HPC):
// the job checks its commit out of the project's repository and writes its log and result.json in the
// experiment's run directory, and the harness trusts only that file — Slurm's state only explains a job
// that ended without one (preempted, node failure, out of memory, cancelled from outside, vanished).
// A job's handle resolves once Slurm says the job has ended, so a finished session leaves nothing running.
// Each run directory records its Slurm job ids (slurm-jobs), so a harness restarted after a kill -9 finds
// its jobs again and adopts them (adopt) rather than running anything twice.
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { z } from "zod";
import type { slurmExecutorSchema } from "../config/schema.ts";
import { pushCommit } from "../git/remote.ts";
import type { JobResult, JobSpec } from "../job/spec.ts";
import { SESSION_MARKER_ENV } from "../runner/markers.ts";
import type { SlotDevice } from "./devices.ts";
import { waitForFile, type FileWait } from "./file-wait.ts";
import { isTerminal, sacctJob, sbatch, scancel, squeueByName, squeueJobs, type SlurmJobState } from "./slurm-cli.ts";
import type { Executor, JobHandle } from "./types.ts";

export type SlurmExecutorConfig = z.output<typeof slurmExecutorSchema>;

/** Files the executor keeps in each experiment's run directory, beside job.json and result.json. */
export const SLURM_FILES = {
  /** The spec as the node runs it (a scratch checkout, the node's own GPUs). */
  spec: "slurm-job.json",
  script: "slurm-job.sh",
  /** One line per submission: "<job id>\t<submitted at, ISO>". */
  jobs: "slurm-jobs",
} as const;

const CLI = resolve(import.meta.dirname, "..", "..", "bin", "autoresearch.js");

/** Slots on a cluster are jobs in flight, each on the device the node gives it (seen there as cuda:0), not this machine's. */
export function clusterSlots(slots: number, gpusPerJob: number): SlotDevice[] {
  return Array.from({ length: slots }, (_, slot) => ({ slot, device: gpusPerJob > 0 ? "cuda:0" : "cpu", env: {} }));
}

export interface SlurmExecutorOptions {
  config: SlurmExecutorConfig;
  slots: number;
  /** Names every job `<prefix>-<experiment id>`: one session's jobs are found by name even without their ids. */
  jobNamePrefix: string;
  /** The session's tag: with executor.gitRemote, each candidate is pushed there as refs/autoresearch/<tag>/<id>. */
  tag: string;
  /** How the node starts Node (default: the harness's own, on the shared filesystem). */
  nodeBinary?: string;
}

export function createSlurmExecutor(options: SlurmExecutorOptions): Executor {
  const { config } = options;
  const poller = new SlurmPoller(config.pollSeconds * 1000);
  const devices = clusterSlots(options.slots, config.gpusPerJob).map((slot) => slot.device);
  return {
    name: "slurm",
    capacity: () => ({ jobs: options.slots, devices }),
    submit(job): JobHandle {
      const tracked = new TrackedJob(job, options, poller);
      const done = tracked.start().then(() => tracked.result());
      return { wait: () => done, cancel: () => tracked.cancel() };
    },
    async adopt(job): Promise<JobHandle | null> {
      const tracked = new TrackedJob(job, options, poller);
      if (!(await tracked.find())) return null;
      const done = tracked.result();
      return { wait: () => done, cancel: () => tracked.cancel() };
    },
  };
}

/** The Slurm batch script for one job: #SBATCH lines from the config and the spec's limits, the preamble, then `autoresearch job`. */
export function batchScript(job: JobSpec, options: SlurmExecutorOptions): string {
  const { config } = options;
  const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  const gres = config.gpusPerJob > 0 ? [`--gres=gpu:${config.gpuType ? `${config.gpuType}:` : ""}${config.gpusPerJob}`] : [];
  const options_ = [
    `--job-name=${options.jobNamePrefix}-${job.experimentId}`,
    `--output=${join(job.runDir, "slurm-%j.out")}`,
    `--chdir=${job.runDir}`,
    // A preempted or failed job is re-queued by the harness (once, as a new job), never by Slurm behind its back.
    "--no-requeue",
    `--time=${timeLimitMinutes(job)}`,
    `--cpus-per-task=${config.cpusPerJob}`,
    ...(config.memoryMb ? [`--mem=${config.memoryMb}M`] : []),
    ...gres,
    ...(config.partition ? [`--partition=${config.partition}`] : []),
    ...(config.account ? [`--account=${config.account}`] : []),
    ...(config.qos ? [`--qos=${config.qos}`] : []),
    ...config.extraSbatch,
  ];
  const node = options.nodeBinary ?? process.execPath;
  return [
    "#!/bin/bash",
    ...options_.map((option) => `#SBATCH ${option}`),
    "set -e",
    ...config.preamble,
    `exec ${quote(node)} ${quote(CLI)} job ${quote(join(job.runDir, SLURM_FILES.spec))} --devices-from-env`,
    "",
  ].join("\n");
}

/** Slurm's --time in minutes: every phase's hard limit, the kill graces, and five minutes for the checkout and start-up. */
export function timeLimitMinutes(job: JobSpec): number {
  const seconds = (job.train?.timeoutSeconds ?? 0) + (job.evaluate?.timeoutSeconds ?? 0) + (job.measure?.timeoutSeconds ?? 0) + 3 * job.killGraceSeconds + 300;
  return Math.ceil(seconds / 60);
}

/** The spec as the node runs it: a scratch checkout, the GPUs Slurm gives the job, and none of the harness's session marker (Slurm owns the job's processes). */
function nodeSpec(job: JobSpec, options: SlurmExecutorOptions): JobSpec {
  const { [SESSION_MARKER_ENV]: _session, CUDA_VISIBLE_DEVICES: _visible, ...env } = job.env;
  const { gitRemote } = options.config;
  return { ...job, workdir: null, env, ...(gitRemote ? { gitRemote: { url: gitRemote, ref: remoteRefOf(job, options) } } : {}) };
}

/** Where the candidate is pushed with executor.gitRemote (the same name as the project's own ref for it). */
function remoteRefOf(job: JobSpec, options: SlurmExecutorOptions): string {
  return `refs/autoresearch/${options.tag}/${job.experimentId}`;
}

/** One squeue call per poll for every job in flight, however many there are. */
export class SlurmPoller {
  readonly intervalMs: number;
  readonly #query: (ids: readonly string[]) => Promise<Map<string, SlurmJobState>>;
  #ids = new Set<string>();
  /** The ids the latest poll asked about: absent from its answer means unknown to Slurm only for these. */
  #asked = new Set<string>();
  #latest = new Map<string, SlurmJobState>();
  #polled: Promise<void> | null = null;
  #lastMs = 0;

  constructor(intervalMs: number, query: (ids: readonly string[]) => Promise<Map<string, SlurmJobState>> = squeueJobs) {
    this.intervalMs = intervalMs;
    this.#query = query;
  }

  watch(id: string): void {
    this.#ids.add(id);
  }

  forget(id: string): void {
    this.#ids.delete(id);
    this.#latest.delete(id);
  }

  /**
   * Slurm's latest word on the job, at most one poll interval old; undefined when Slurm no longer knows it.
   * A job watched since the latest poll is asked about at once: that poll's silence on it says nothing.
   */
  async state(id: string, fresh = false): Promise<SlurmJobState | undefined> {
    while (fresh || Date.now() - this.#lastMs >= this.intervalMs || (this.#ids.has(id) && !this.#asked.has(id))) {
      fresh = false;
      await this.#poll();
    }
    return this.#latest.get(id);
  }

  #poll(): Promise<void> {
    this.#polled ??= (async () => {
      const ids = [...this.#ids];
      const states = await this.#query(ids);
      this.#latest = states;
      this.#asked = new Set(ids);
      this.#lastMs = Date.now();
    })().finally(() => {
      this.#polled = null;
    });
    return this.#polled;
  }
}

/**
 * Whether to stop waiting for a job's result file, from Slurm's word on the job read just before the file was
 * looked for. A job writes its result before it ends, so the wait only covers a shared filesystem that shows
 * the file late: `graceMs` from the first time Slurm said the job had ended. A job seen queued or running
 * (again) has not ended, and a later end starts the grace afresh.
 */
export function resultWait(state: SlurmJobState | undefined, endedMs: number | null, nowMs: number, graceMs: number): { endedMs: number | null; giveUp: boolean } {
  if (state !== undefined && !isTerminal(state.state)) return { endedMs: null, giveUp: false };
  const since = endedMs ?? nowMs;
  return { endedMs: since, giveUp: nowMs - since >= graceMs };
}

/** How long a job may take to end after writing its result before the harness cancels what is left of it. */
const ENDING_GRACE_MS = 10_000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type FollowOutcome = { kind: "result"; result: JobResult } | { kind: "requeue"; why: string };

/** One experiment's Slurm job(s): the first submission and at most one re-queue. */
class TrackedJob {
  readonly #job: JobSpec;
  readonly #options: SlurmExecutorOptions;
  readonly #poller: SlurmPoller;
  #ids: string[] = [];
  #cancelled = false;
  #submitted: Promise<void> = Promise.resolve();

  constructor(job: JobSpec, options: SlurmExecutorOptions, poller: SlurmPoller) {
    this.#job = job;
    this.#options = options;
    this.#poller = poller;
  }

  get #current(): string | undefined {
    return this.#ids.at(-1);
  }

  /** Writes the node's spec and batch script, and submits the first attempt. */
  start(): Promise<void> {
    const { runDir } = this.#job;
    writeFileSync(join(runDir, SLURM_FILES.spec), `${JSON.stringify(nodeSpec(this.#job, this.#options), null, 2)}\n`);
    writeFileSync(join(runDir, SLURM_FILES.script), batchScript(this.#job, this.#options), { mode: 0o755 });
    this.#submitted = this.#submit();
    return this.#submitted;
  }

  async #submit(): Promise<void> {
    rmSync(this.#job.resultPath, { force: true });
    const { gitRemote } = this.#options.config;
    if (gitRemote && this.#ids.length === 0) {
      // The node fetches the candidate from there (job/fetch.ts); forced: the ref is this experiment's alone.
      await pushCommit(this.#job.repository, gitRemote, this.#job.commit, remoteRefOf(this.#job, this.#options)).catch((error: unknown) => {
        throw new Error(`could not push the candidate to the git remote ${gitRemote}: ${(error as Error).message.trim()}`);
      });
    }
    const id = await sbatch(join(this.#job.runDir, SLURM_FILES.script), this.#job.runDir).catch((error: unknown) => {
      throw new Error(`sbatch failed: ${(error as Error).message.trim()}`);
    });
    this.#ids.push(id);
    appendFileSync(join(this.#job.runDir, SLURM_FILES.jobs), `${id}\t${new Date().toISOString()}\n`);
    this.#log(`--- Slurm job ${id} submitted${this.#options.config.partition ? ` to partition ${this.#options.config.partition}` : ""}; Slurm's own output: ${join(this.#job.runDir, `slurm-${id}.out`)}`);
    this.#poller.watch(id);
    if (this.#cancelled) await this.#stop(id);
  }

  /** After a restart: the job ids this run directory recorded, or the job found by its name; false when it was never submitted. */
  async find(): Promise<boolean> {
    const file = join(this.#job.runDir, SLURM_FILES.jobs);
    if (existsSync(file)) this.#ids = readFileSync(file, "utf8").split("\n").map((line) => line.split("\t")[0]!).filter((id) => /^\d+$/.test(id));
    if (this.#ids.length === 0) {
      // Submitted, but the harness died before it wrote the id down.
      const named = await squeueByName(`${this.#options.jobNamePrefix}-${this.#job.experimentId}`).catch(() => []);
      if (named.length === 0) return false;
      this.#ids = named.map((job) => job.id);
      for (const id of this.#ids) appendFileSync(file, `${id}\tadopted\n`);
    }
    this.#poller.watch(this.#current!);
    return true;
  }

  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    void this.#submitted.then(() => (this.#current ? this.#stop(this.#current) : undefined)).catch(() => undefined);
  }

  /** TERM to every process of the job, the spec's grace, then KILL; a job still pending is just removed. */
  async #stop(id: string): Promise<void> {
    const state = await this.#poller.state(id, true).catch(() => undefined);
    if (!state || state.state === "PENDING" || state.state === "CONFIGURING") {
      await scancel(id).catch(() => undefined);
      return;
    }
    if (isTerminal(state.state)) return;
    await scancel(id, "TERM").catch(() => undefined);
    const deadline = Date.now() + (this.#job.killGraceSeconds + 2) * 1000;
    while (Date.now() < deadline) {
      await delay(250);
      const now = await this.#poller.state(id, true).catch(() => undefined);
      if (!now || isTerminal(now.state)) return;
    }
    await scancel(id, "KILL").catch(() => undefined);
    await scancel(id).catch(() => undefined);
  }

  /** Waits for the job's result file; when the job ended without one, its status from Slurm's last word. */
  async result(): Promise<JobResult> {
    try {
      await this.#submitted;
    } catch (error) {
      return this.#synthetic("crash", (error as Error).message, { harnessError: true });
    }
    for (;;) {
      const outcome = await this.#follow(this.#current!);
      if (outcome.kind === "result") return outcome.result;
      // Preempted, node failure, or cancelled from outside: not the code's doing, so it runs once more.
      if (!this.#cancelled && this.#ids.length < 2) {
        this.#log(`--- Slurm job ${this.#current} ${outcome.why}: re-queued once`);
        try {
          await this.#submit();
          continue;
        } catch (error) {
          return this.#synthetic("interrupted", `${outcome.why}; re-queueing failed: ${(error as Error).message.trim()}`);
        }
      }
      const why = this.#cancelled ? "cancelled by the harness" : `${outcome.why}${this.#ids.length > 1 ? ` (after a re-queue: Slurm jobs ${this.#ids.join(", ")})` : ""}`;
      return this.#synthetic("interrupted", why);
    }
  }

  /** Follows one Slurm job to its end: its result, or why it ended without a usable one (to re-queue). */
  async #follow(id: string): Promise<FollowOutcome> {
    const appeared = waitForFile(this.#job.resultPath); // the result is seen at once where the filesystem says so
    try {
      return await this.#followWith(id, appeared);
    } finally {
      appeared.close();
    }
  }

  async #followWith(id: string, appeared: FileWait): Promise<FollowOutcome> {
    const { resultPath } = this.#job;
    const resultGraceMs = Math.max(5_000, 3 * this.#poller.intervalMs);
    let endedMs: number | null = null;
    let last: SlurmJobState | undefined;
    for (;;) {
      // Slurm's word before the file: once Slurm says the job ended, a missing file is late or lost, not unwritten yet.
      const state = await this.#poller.state(id).catch(() => last);
      if (state) last = state;
      if (existsSync(resultPath)) {
        const result = this.#read(id, last);
        if (result) {
          // The job writes its result just before it ends: the handle resolves only once Slurm says it has ended.
          last = await this.#ended(id, last);
          this.#poller.forget(id);
          const visible = result.host?.visibleDevices ? ` with CUDA_VISIBLE_DEVICES=${result.host.visibleDevices}` : "";
          this.#log(`--- Slurm job ${id} ran on ${result.host?.name ?? "an unknown node"}${visible}${result.device.name ? ` (${result.device.name})` : ""}: ${result.status}`);
          // A job stopped by a signal the harness did not send (scancel from outside, preemption with a grace period) ran for nothing.
          if (result.status === "interrupted" && !this.#cancelled) return { kind: "requeue", why: `was stopped from outside the harness (${last?.state ?? "signalled"})` };
          return { kind: "result", result };
        }
      }
      const wait = resultWait(state, endedMs, Date.now(), resultGraceMs);
      endedMs = wait.endedMs;
      if (wait.giveUp) {
        this.#poller.forget(id);
        return this.#withoutResult(id, state ?? (await sacctJob(id)) ?? undefined);
      }
      await appeared.next(Math.max(100, Math.round(this.#poller.intervalMs / 4)));
    }
  }

  /**
   * Slurm's word once the job has ended (its batch script exits just after the result is written; one stopped
   * from outside shows COMPLETING for a moment). Asked again at growing intervals; a job still not ended after
   * `ENDING_GRACE_MS` has left something behind after its result, and is cancelled so nothing of it outlives the handle.
   */
  async #ended(id: string, last: SlurmJobState | undefined): Promise<SlurmJobState | undefined> {
    const deadline = Date.now() + ENDING_GRACE_MS;
    let state = last;
    for (let pause = 100; state !== undefined && !isTerminal(state.state); pause = Math.min(pause * 2, 1_000)) {
      if (Date.now() >= deadline) {
        this.#log(`--- Slurm job ${id} was still ${state.state} ${ENDING_GRACE_MS / 1000} s after writing its result: cancelled`);
        await scancel(id).catch(() => undefined);
        return state;
      }
      await delay(pause);
      state = await this.#poller.state(id, true).catch(() => state);
    }
    return state ?? last;
  }

  /** The job's own result, with where it ran; null while it is not complete JSON yet. */
  #read(id: string, state: SlurmJobState | undefined): JobResult | null {
    let result: JobResult;
    try {
      result = JSON.parse(readFileSync(this.#job.resultPath, "utf8")) as JobResult;
    } catch {
      return null;
    }
    if (result.experimentId !== this.#job.experimentId) return null;
    if (state?.state === "OUT_OF_MEMORY" && result.status === "crash") result = { ...result, reason: `${result.reason} — out of memory (Slurm job ${id}: OUT_OF_MEMORY)` };
    return { ...result, host: { ...result.host, name: result.host?.name ?? state?.node ?? null, slurmJobId: id } as JobResult["host"] };
  }

  #withoutResult(id: string, state: SlurmJobState | undefined): { kind: "requeue"; why: string } | { kind: "result"; result: JobResult } {
    const log = join(this.#job.runDir, `slurm-${id}.out`);
    const ended = (status: JobResult["status"], reason: string) => ({ kind: "result" as const, result: this.#synthetic(status, reason, {}, id, state) });
    if (!state) return ended("interrupted", `Slurm job ${id} vanished without a result (Slurm no longer knows it and there is no accounting to ask)`);
    switch (state.state) {
      case "PREEMPTED":
      case "NODE_FAIL":
      case "BOOT_FAIL":
        return { kind: "requeue", why: `ended ${state.state}${state.node ? ` on ${state.node}` : ""}` };
      case "CANCELLED":
        return this.#cancelled ? ended("interrupted", "cancelled by the harness") : { kind: "requeue", why: "was cancelled outside the harness (scancel)" };
      case "OUT_OF_MEMORY":
        return ended("crash", `ran out of memory: Slurm job ${id} ended OUT_OF_MEMORY${this.#options.config.memoryMb ? ` (--mem ${this.#options.config.memoryMb} MiB)` : ""}; see ${log}`);
      case "TIMEOUT":
      case "DEADLINE":
        return ended("timeout", `Slurm job ${id} reached its time limit (${state.state}) before writing a result; see ${log}`);
      default:
        return ended("crash", `Slurm job ${id} ended ${state.state} without writing a result; see ${log}`);
    }
  }

  /** A line in the experiment's log (the harness's side of the story; the node appends its phases to the same file). */
  #log(line: string): void {
    try {
      appendFileSync(this.#job.logPath, `${line}\n`);
    } catch {
      // the log is for people; the result is what counts
    }
  }

  #synthetic(status: JobResult["status"], reason: string, extra: Partial<JobResult> = {}, id = this.#current, state?: SlurmJobState): JobResult {
    this.#log(`--- ${status}: ${reason}`);
    return {
      version: 1, experimentId: this.#job.experimentId, status, reason, metric: null, heldOut: null, secondary: {}, memoryGb: null,
      selfReported: false, dataTampered: false, harnessError: false, timings: { checkoutMs: 0, totalMs: 0 },
      device: { requested: this.#job.device, name: null }, logPath: this.#job.logPath,
      host: { name: state?.node ?? null, visibleDevices: null, startedAt: null, finishedAt: null, slurmJobId: id ?? null },
      ...extra,
    };
  }
}
