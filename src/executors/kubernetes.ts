// Runs each job as one batch/v1 Job that runs `autoresearch job` in a pod (README.md "Kubernetes"). The
// harness pushes the candidate to the git remote as refs/autoresearch/<tag>/<id>, creates the Job (its
// init container fetches that ref) and a ConfigMap with the spec, and waits on one shared watch of the
// session's Jobs. The result is trusted only from the pod's log — its marked last line, written by
// `autoresearch job --print-result` — never from the Job's status, which only explains a pod that ended
// without one (out of memory, deadline, a failed fetch, a lost node). The log is copied into the
// experiment's log as soon as the Job ends, long before its TTL removes it.
import { randomBytes } from "node:crypto";
import { appendFileSync, writeFileSync } from "node:fs";
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import type { KubernetesExecutorConfig } from "../config/kubernetes.ts";
import { runGit } from "../git/index.ts";
import { readResultLine, RESULT_TOKEN_ENV, withoutResultLine } from "../job/result-line.ts";
import type { JobResult, JobSpec } from "../job/spec.ts";
import { connectKube, KubeApiError, type KubeClient, type RetryPolicy } from "./kubernetes-api.ts";
import { ANNOTATIONS, FETCH_CODE_CONTAINER, FETCH_DATA_CONTAINER, JOB_CONTAINER, jobManifest, jobName, LABELS, sessionLabels, specConfigMap } from "./kubernetes-manifest.ts";
import { isFinished, JobWatcher } from "./kubernetes-watch.ts";
import type { Executor, JobHandle } from "./types.ts";

export interface KubernetesExecutorOptions {
  config: KubernetesExecutorConfig;
  slots: number;
  /** The session's key: names and labels its Jobs, so a restarted harness finds them. */
  sessionKey: string;
  /** The session's tag: candidates go to refs/autoresearch/<tag>/<id> on the remote. */
  tag: string;
  /** How API calls are retried (tests make it quick). */
  retry?: RetryPolicy;
}

/** A Job's executor, with the watcher's record of what it went through (for tests and messages). */
export type KubernetesExecutor = Executor & { readonly watchStats: JobWatcher["stats"] };

export function createKubernetesExecutor(options: KubernetesExecutorOptions): KubernetesExecutor {
  const { config } = options;
  const retry = options.retry ?? { attempts: 5, baseMs: 500 };
  let connecting: Promise<KubeClient> | null = null;
  const client = () => (connecting ??= connectKube({ namespace: config.namespace, kubeconfig: config.kubeconfig, context: config.context, retry }));
  const selector = Object.entries(sessionLabels(options.sessionKey)).map(([key, value]) => `${key}=${value}`).join(",");
  const watcher = new JobWatcher(client, selector, retry);
  const device = config.gpusPerJob > 0 ? "cuda:0" : "cpu";
  const context = { options, client, watcher };
  return {
    name: "kubernetes",
    watchStats: watcher.stats,
    capacity: () => ({ jobs: options.slots, devices: Array.from({ length: options.slots }, () => device) }),
    submit(job): JobHandle {
      const tracked = new TrackedJob(job, context);
      const done = tracked.run();
      return { wait: () => done, cancel: () => tracked.cancel() };
    },
    async adopt(job): Promise<JobHandle | null> {
      const tracked = new TrackedJob(job, context);
      if (!(await tracked.find())) return null;
      const done = tracked.followAll();
      return { wait: () => done, cancel: () => tracked.cancel() };
    },
  };
}

interface Context {
  options: KubernetesExecutorOptions;
  client: () => Promise<KubeClient>;
  watcher: JobWatcher;
}

type Ending = { kind: "result"; result: JobResult } | { kind: "requeue"; why: string };

/** Why a pod's node took it away: the Job's failure is then not the code's. */
const DISRUPTIONS = new Set(["Evicted", "NodeLost", "NodeShutdown", "Shutdown", "Terminated", "UnexpectedAdmissionError", "Preempting"]);

class TrackedJob {
  readonly #job: JobSpec;
  readonly #ctx: Context;
  readonly #ref: string;
  #token = randomBytes(16).toString("hex");
  #attempt = 0;
  #name: string | null = null;
  #cancelled = false;
  #stopped: Promise<void> = Promise.resolve();
  #logCopied = false;

  constructor(job: JobSpec, ctx: Context) {
    this.#job = job;
    this.#ctx = ctx;
    this.#ref = `refs/autoresearch/${ctx.options.tag}/${job.experimentId}`;
  }

  async run(): Promise<JobResult> {
    try {
      // Forced: the ref is this experiment's alone (a re-run after a restart may push it again).
      await runGit(this.#job.repository, ["push", "--quiet", "--force", "--", this.#ctx.options.config.gitRemote, `${this.#job.commit}:${this.#ref}`]);
    } catch (error) {
      return this.#synthetic("crash", `could not push the candidate to ${this.#ctx.options.config.gitRemote}: ${(error as Error).message}`, true);
    }
    return this.followAll(true);
  }

  /** After a harness restart: the newest Job of this experiment, if Kubernetes still has it. */
  async find(): Promise<boolean> {
    const client = await this.#ctx.client();
    for (const attempt of [1, 0]) {
      const name = jobName(this.#ctx.options.sessionKey, this.#job.experimentId, attempt);
      const found = await client.readJob(name);
      if (!found || found.metadata?.annotations?.[ANNOTATIONS.commit] !== this.#job.commit) continue;
      this.#adoptJob(found, attempt);
      // The harness may have died between creating the Job and its ConfigMap.
      await client.createConfigMap(specConfigMap(this.#job, this.#ctx.options.config, { name, uid: found.metadata!.uid! }, this.#ctx.options.sessionKey));
      this.#log(`--- Kubernetes Job ${name} found after a restart of the harness: adopted`);
      return true;
    }
    return false;
  }

  /** Creates (unless adopted) and follows the Job; a pod lost with its node is run once more as a new Job. */
  async followAll(create = false): Promise<JobResult> {
    try {
      for (;;) {
        if (this.#cancelled) return this.#synthetic("interrupted", "cancelled by the harness");
        if (create) await this.#create();
        const ending = await this.#follow(this.#name!);
        if (ending.kind === "result") return ending.result;
        if (this.#cancelled || this.#attempt >= 1) {
          return this.#synthetic("interrupted", this.#cancelled ? "cancelled by the harness" : `${ending.why} (after a re-run as a new Job)`);
        }
        this.#log(`--- Kubernetes Job ${this.#name} ${ending.why}: run once more as a new Job`);
        this.#attempt += 1;
        this.#token = randomBytes(16).toString("hex");
        create = true;
      }
    } catch (error) {
      // The API server failed past its retries: the experiment is the harness's failure, and its Job goes too (if it can).
      const message = error instanceof KubeApiError ? error.message : `Kubernetes: ${(error as Error).message}`;
      if (this.#name && !this.#cancelled) await (await this.#ctx.client()).deleteJob(this.#name).catch(() => undefined);
      return this.#synthetic(this.#cancelled ? "interrupted" : "crash", `harness error: ${message}`, true);
    }
  }

  async #create(): Promise<void> {
    const { config, sessionKey } = this.#ctx.options;
    const client = await this.#ctx.client();
    const name = jobName(sessionKey, this.#job.experimentId, this.#attempt);
    const manifest = jobManifest(this.#job, config, { sessionKey, ref: this.#ref, attempt: this.#attempt, resultToken: this.#token });
    this.#name = name;
    let created: V1Job;
    try {
      created = await client.createJob(manifest);
      this.#log(`--- Kubernetes Job ${name} created in namespace ${config.namespace} at ${client.server}; its log: kubectl logs -n ${config.namespace} job/${name} -c ${JOB_CONTAINER}`);
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 409)) throw error;
      // 409: a create whose answer was lost (a 5xx, a dropped connection) did happen. The same experiment's Job is adopted.
      const existing = await client.readJob(name);
      if (!existing || existing.metadata?.annotations?.[ANNOTATIONS.commit] !== this.#job.commit) {
        throw new KubeApiError(`a Job named ${name} already exists in namespace ${config.namespace} for another commit; delete it (kubectl delete job -n ${config.namespace} ${name}) and run again`, 409);
      }
      this.#adoptJob(existing, this.#attempt);
      created = existing;
      this.#log(`--- Kubernetes Job ${name} already existed (its create was answered with an error, then 409 Conflict): adopted`);
    }
    await client.createConfigMap(specConfigMap(this.#job, config, { name, uid: created.metadata!.uid! }, sessionKey));
    if (this.#cancelled) this.#stopped = this.#stop(name);
  }

  #adoptJob(job: V1Job, attempt: number): void {
    this.#name = job.metadata!.name!;
    this.#attempt = attempt;
    const env = job.spec?.template.spec?.containers.find((container) => container.name === JOB_CONTAINER)?.env ?? [];
    this.#token = env.find((variable) => variable.name === RESULT_TOKEN_ENV)?.value ?? "";
  }

  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    if (this.#name) this.#stopped = this.#stop(this.#name);
  }

  /** Copies what the pod logged so far, deletes the Job with background propagation, and waits until its pods are gone. */
  async #stop(name: string): Promise<void> {
    const client = await this.#ctx.client();
    const pod = newest(await client.listPods(`${LABELS.job}=${name}`).catch(() => []));
    if (pod) await this.#copyLog(client, pod, JOB_CONTAINER).catch(() => undefined);
    await client.deleteJob(name);
    const deadline = Date.now() + (this.#job.killGraceSeconds + 40) * 1000;
    while (Date.now() < deadline && (await client.listPods(`${LABELS.job}=${name}`)).length > 0) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Waits for the Job to end, copies its pod's log, and reads the result from it (or why there is none). */
  async #follow(name: string): Promise<Ending> {
    this.#logCopied = false;
    const job = await this.#ctx.watcher.until(name, (each) => each === null || isFinished(each) || this.#cancelled);
    if (this.#cancelled) {
      await this.#stopped.catch(() => undefined);
      return { kind: "result", result: this.#synthetic("interrupted", "cancelled by the harness") };
    }
    if (!job) return { kind: "requeue", why: "was deleted outside the harness" };
    const client = await this.#ctx.client();
    const pod = newest(await client.listPods(`${LABELS.job}=${name}`));
    const main = pod?.status?.containerStatuses?.find((status) => status.name === JOB_CONTAINER);
    const log = pod && main ? await this.#copyLog(client, pod, JOB_CONTAINER) : "";
    const result = readResultLine(log, this.#token, this.#job.experimentId);
    if (result) {
      const located: JobResult = {
        ...result, logPath: this.#job.logPath,
        host: { name: pod?.spec?.nodeName ?? result.host?.name ?? null, visibleDevices: result.host?.visibleDevices ?? null, startedAt: result.host?.startedAt ?? null, finishedAt: result.host?.finishedAt ?? null, pod: pod?.metadata?.name ?? null },
      };
      writeFileSync(this.#job.resultPath, `${JSON.stringify(located, null, 2)}\n`);
      this.#log(`--- Kubernetes Job ${name} ran on node ${located.host?.name ?? "(unknown)"}${result.device.name ? ` (${result.device.name})` : ""}: ${result.status}`);
      return { kind: "result", result: located };
    }
    return this.#withoutResult(client, job, pod);
  }

  async #withoutResult(client: KubeClient, job: V1Job, pod: V1Pod | undefined): Promise<Ending> {
    const name = job.metadata!.name!;
    const failed = job.status?.conditions?.find((condition) => condition.type === "Failed" && condition.status === "True");
    const node = pod?.spec?.nodeName ? ` on node ${pod.spec.nodeName}` : "";
    const ended = (status: JobResult["status"], reason: string, harnessError = false): Ending => ({ kind: "result", result: this.#synthetic(status, reason, harnessError, pod) });
    if (!pod) return { kind: "requeue", why: `ended (${failed?.reason ?? "Complete"}) and its pod is gone (its node was lost, or it was removed)` };
    const disrupted = pod.status?.conditions?.find((condition) => condition.type === "DisruptionTarget" && condition.status === "True");
    if (disrupted || DISRUPTIONS.has(pod.status?.reason ?? "")) {
      return { kind: "requeue", why: `lost its pod${node} (${disrupted?.reason ?? pod.status?.reason}: ${disrupted?.message ?? pod.status?.message ?? "no message"})` };
    }
    const main = pod.status?.containerStatuses?.find((status) => status.name === JOB_CONTAINER);
    const terminated = main?.state?.terminated ?? main?.lastState?.terminated;
    if (terminated?.reason === "OOMKilled") {
      const limit = this.#ctx.options.config.memory ? ` (memory limit ${this.#ctx.options.config.memory})` : "";
      return ended("crash", `ran out of memory: the pod's container was OOMKilled${limit}${node}; see the log`);
    }
    if (failed?.reason === "DeadlineExceeded") {
      if (main?.state?.running || terminated) return ended("timeout", `the pod ran past its deadline (activeDeadlineSeconds ${job.spec?.activeDeadlineSeconds} s) without a result${node}`);
      const waiting = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].map((status) => status.state?.waiting).find(Boolean);
      const unscheduled = pod.status?.conditions?.find((condition) => condition.type === "PodScheduled" && condition.status === "False");
      const why = waiting ? `${waiting.reason}: ${waiting.message ?? ""}` : unscheduled ? `unschedulable: ${unscheduled.message ?? ""}` : pod.status?.phase ?? "pending";
      return ended("crash", `the pod never started its job within ${job.spec?.activeDeadlineSeconds} s (${why.trim()})`, true);
    }
    for (const init of pod.status?.initContainerStatuses ?? []) {
      const stopped = init.state?.terminated;
      if (!stopped || stopped.exitCode === 0) continue;
      const log = await client.readPodLog(pod.metadata!.name!, init.name).catch(() => "");
      this.#log(`--- ${init.name} (the init container) exited ${stopped.exitCode}:\n${log.trimEnd()}`);
      const what = init.name === FETCH_CODE_CONTAINER ? "fetching the candidate from the git remote" : init.name === FETCH_DATA_CONTAINER ? "fetching the data" : init.name;
      return ended("crash", `${what} failed in the pod (${init.name} exited ${stopped.exitCode}): ${lastLine(log) || stopped.reason || "no output"}`, true);
    }
    if (terminated) return ended("crash", `the job's container exited ${terminated.exitCode}${terminated.signal ? ` (signal ${terminated.signal})` : ""} (${terminated.reason ?? "no reason"})${node} without a result; see the log`);
    return ended("crash", `Kubernetes Job ${name} ended (${failed ? `Failed: ${failed.reason}` : "Complete"}) without a result in its pod's log`);
  }

  /** The container's log, appended to the experiment's log once (the result line left out); the text, for the result. */
  async #copyLog(client: KubeClient, pod: V1Pod, container: string): Promise<string> {
    const log = await client.readPodLog(pod.metadata!.name!, container);
    if (!this.#logCopied) {
      this.#logCopied = true;
      const kept = withoutResultLine(log, this.#token);
      this.#log(`--- the log of pod ${pod.metadata!.name}${pod.spec?.nodeName ? ` on node ${pod.spec.nodeName}` : ""}:\n${kept.trimEnd()}`);
    }
    return log;
  }

  #log(text: string): void {
    try {
      appendFileSync(this.#job.logPath, `${text}\n`);
    } catch {
      // the log is for people; the result is what counts
    }
  }

  #synthetic(status: JobResult["status"], reason: string, harnessError = false, pod?: V1Pod): JobResult {
    this.#log(`--- ${status}: ${reason}`);
    return {
      version: 1, experimentId: this.#job.experimentId, status, reason, metric: null, heldOut: null, secondary: {}, memoryGb: null,
      selfReported: false, dataTampered: false, harnessError, timings: { checkoutMs: 0, totalMs: 0 },
      device: { requested: this.#job.device, name: null }, logPath: this.#job.logPath,
      host: { name: pod?.spec?.nodeName ?? null, visibleDevices: null, startedAt: null, finishedAt: null, pod: pod?.metadata?.name ?? null },
    };
  }
}

function newest(pods: V1Pod[]): V1Pod | undefined {
  const time = (pod: V1Pod) => new Date(pod.metadata?.creationTimestamp ?? 0).getTime();
  return [...pods].sort((a, b) => time(a) - time(b)).at(-1);
}

function lastLine(text: string): string {
  return text.trimEnd().split("\n").at(-1)?.trim() ?? "";
}
