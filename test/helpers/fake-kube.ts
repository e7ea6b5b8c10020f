// A stand-in Kubernetes API server on 127.0.0.1:0 for the Kubernetes executor's tests (there is no real
// cluster on these machines). It speaks the real API's JSON for the calls the executor makes — create,
// get, list, watch and delete Jobs (batch/v1), create ConfigMaps, list Pods, read a pod's log,
// SelfSubjectAccessReview — so the real @kubernetes/client-node runs against it. Its "kubelet" runs a
// Job's pod for real: each container's command runs on this machine, with the pod's volumes as
// directories here (a mount path in the command, the environment or a ConfigMap's file is read as that
// directory, as a container would see it), so the result comes from a real `autoresearch job`. Faults
// on demand: an HTTP status for chosen calls (a create that happened but whose answer is lost, 410 Gone
// inside a watch, 5xx), watches dropped, a container OOMKilled or killed, a pod lost with its node.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { TestContext } from "node:test";

type Obj = Record<string, any>;

export type PodFault = { kind: "oom" } | { kind: "killed"; exitCode: number } | { kind: "node-lost" };

export interface Injection {
  method: string;
  path: RegExp;
  status: number;
  /** Only watch requests (or only non-watch ones, false). */
  watch?: boolean;
  times?: number;
  /** Carry the request out, then answer with the error anyway (an answer lost on the way back). */
  apply?: boolean;
}

export interface FakeKubeOptions {
  /** PersistentVolumeClaims by name: the directory on this machine that holds each. */
  claims?: Record<string, string>;
  /** What SelfSubjectAccessReview answers (default: everything allowed). */
  allow?: (attributes: { verb: string; resource: string; namespace: string }) => boolean;
  token?: string;
}

const CLI = join(import.meta.dirname, "..", "..", "bin", "autoresearch.js");
const NODE_NAME = "node-1";

export class FakeKube {
  readonly url: string;
  readonly kubeconfig: string;
  readonly requests: Array<{ method: string; path: string; query: URLSearchParams }> = [];
  /** What each pod's containers logged, by pod name then container. */
  readonly logs = new Map<string, Map<string, string>>();
  /** Decides a fault for each Job's pod as it starts (by the Job's name). */
  podFault: (jobName: string) => PodFault | undefined = () => undefined;
  /** Called as a pod's job container starts (a test drops watches then, say). */
  onContainerStart: (podName: string) => void = () => {};
  readonly #root: string;
  readonly #options: FakeKubeOptions;
  #version = 1;
  #jobs = new Map<string, Obj>();
  #pods = new Map<string, Obj>();
  #configMaps = new Map<string, Obj>();
  #history: Array<{ version: number; type: string; object: Obj }> = [];
  #watches = new Set<{ response: ServerResponse; selector: Record<string, string> }>();
  #injections: Injection[] = [];
  #processes = new Map<string, ChildProcess>();
  #closed = false;
  #server: ReturnType<typeof createServer>;

  private constructor(root: string, port: number, server: ReturnType<typeof createServer>, options: FakeKubeOptions) {
    this.#root = root;
    this.#options = options;
    this.#server = server;
    this.url = `http://127.0.0.1:${port}`;
    this.kubeconfig = join(root, "kubeconfig");
    writeFileSync(this.kubeconfig, JSON.stringify({
      apiVersion: "v1", kind: "Config", "current-context": "stand-in",
      // client-node speaks plain HTTP only when told to skip TLS verification.
      clusters: [{ name: "stand-in", cluster: { server: this.url, "insecure-skip-tls-verify": true } }],
      users: [{ name: "tester", user: { token: options.token ?? "stand-in-token" } }],
      contexts: [{ name: "stand-in", context: { cluster: "stand-in", user: "tester" } }],
    }));
    const shims = join(root, "bin");
    mkdirSync(shims);
    writeFileSync(join(shims, "autoresearch"), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    chmodSync(join(shims, "autoresearch"), 0o755);
  }

  static async start(t: TestContext, options: FakeKubeOptions = {}): Promise<FakeKube> {
    const root = mkdtempSync(join(tmpdir(), "autoresearch-fake-kube-"));
    let kube: FakeKube | undefined;
    const server = createServer((request, response) => {
      kube!.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) kube!.status(response, 500, "InternalError", String(error));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    kube = new FakeKube(root, (server.address() as { port: number }).port, server, options);
    t.after(() => kube!.close());
    return kube;
  }

  inject(injection: Injection): void {
    this.#injections.push({ times: 1, ...injection });
  }

  /** Closes every open watch from the server's side, mid-stream, as a dropped connection would. */
  dropWatches(): void {
    for (const watch of this.#watches) watch.response.socket?.destroy();
    this.#watches.clear();
  }

  job(name: string): Obj | undefined {
    return this.#jobs.get(name);
  }

  pods(): Obj[] {
    return [...this.#pods.values()];
  }

  configMaps(): Obj[] {
    return [...this.#configMaps.values()];
  }

  /** Processes of pods still running on this machine. */
  runningContainers(): number {
    return this.#processes.size;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.dropWatches();
    for (const child of this.#processes.values()) killGroup(child, "SIGKILL");
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections?.();
    rmSync(this.#root, { recursive: true, force: true });
  }

  // --- the API ---

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", this.url);
    const watch = url.searchParams.get("watch") === "true";
    this.requests.push({ method: request.method ?? "GET", path: url.pathname, query: url.searchParams });
    if (request.headers.authorization !== `Bearer ${this.#options.token ?? "stand-in-token"}`) return this.status(response, 401, "Unauthorized", "Unauthorized");
    const body = await readBody(request);
    const injected = this.#injections.find((each) => each.method === request.method && each.path.test(url.pathname) && (each.watch === undefined || each.watch === watch) && (each.times ?? 1) > 0);
    if (injected) {
      injected.times = (injected.times ?? 1) - 1;
      if (watch && injected.status === 410) {
        // A watch from a version that was compacted away: 200, one ERROR event, the end.
        response.writeHead(200, { "content-type": "application/json" });
        response.end(`${JSON.stringify({ type: "ERROR", object: statusObject(410, "Expired", "too old resource version") })}\n`);
        return;
      }
      if (injected.apply) await this.route(request.method!, url, body, watch, null);
      return this.status(response, injected.status, injected.status >= 500 ? "InternalError" : "Injected", `injected ${injected.status}`);
    }
    await this.route(request.method!, url, body, watch, response);
  }

  /** Carries the request out; answers it unless `response` is null. */
  private async route(method: string, url: URL, body: Obj | null, watch: boolean, response: ServerResponse | null): Promise<void> {
    const answer = (code: number, object: Obj) => {
      if (!response) return;
      response.writeHead(code, { "content-type": "application/json" });
      response.end(JSON.stringify(object));
    };
    const fail = (code: number, reason: string, message: string) => {
      if (response) this.status(response, code, reason, message);
    };
    const path = url.pathname;
    const selector = parseSelector(url.searchParams.get("labelSelector") ?? "");
    let match: RegExpMatchArray | null;
    if ((match = path.match(/^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs$/))) {
      const namespace = match[1]!;
      if (method === "POST") {
        const name = body!.metadata.name as string;
        if (this.#jobs.has(`${namespace}/${name}`)) return fail(409, "AlreadyExists", `jobs.batch "${name}" already exists`);
        const job = { ...body, metadata: { ...body!.metadata, namespace, uid: randomUUID(), creationTimestamp: now() }, status: {} };
        this.#jobs.set(`${namespace}/${name}`, job);
        this.#changed("ADDED", job);
        void this.#runPod(job);
        return answer(201, job);
      }
      if (method === "GET" && watch) return response ? this.#watch(response, url, selector) : undefined;
      if (method === "GET") {
        const items = [...this.#jobs.values()].filter((job) => job.metadata.namespace === namespace && matches(job, selector));
        return answer(200, { apiVersion: "batch/v1", kind: "JobList", metadata: { resourceVersion: String(this.#version) }, items });
      }
    }
    if ((match = path.match(/^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs\/([^/]+)$/))) {
      const key = `${match[1]}/${match[2]}`;
      const job = this.#jobs.get(key);
      if (!job) return fail(404, "NotFound", `jobs.batch "${match[2]}" not found`);
      if (method === "GET") return answer(200, job);
      if (method === "DELETE") {
        this.#jobs.delete(key);
        this.#changed("DELETED", job);
        // batch/v1 Jobs orphan their pods unless told otherwise; Background lets the garbage collector remove them.
        const policy = url.searchParams.get("propagationPolicy") ?? body?.propagationPolicy ?? "Orphan";
        if (policy !== "Orphan") void this.#collect(job);
        return answer(200, { apiVersion: "v1", kind: "Status", status: "Success", details: { name: match[2], group: "batch", kind: "jobs", uid: job.metadata.uid } });
      }
    }
    if ((match = path.match(/^\/api\/v1\/namespaces\/([^/]+)\/configmaps$/)) && method === "POST") {
      const key = `${match[1]}/${body!.metadata.name}`;
      if (this.#configMaps.has(key)) return fail(409, "AlreadyExists", `configmaps "${body!.metadata.name}" already exists`);
      const configMap = { ...body, metadata: { ...body!.metadata, namespace: match[1], uid: randomUUID(), resourceVersion: String(++this.#version) } };
      this.#configMaps.set(key, configMap);
      return answer(201, configMap);
    }
    if ((match = path.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods$/)) && method === "GET") {
      const items = [...this.#pods.values()].filter((pod) => pod.metadata.namespace === match![1] && matches(pod, selector));
      return answer(200, { apiVersion: "v1", kind: "PodList", metadata: { resourceVersion: String(this.#version) }, items });
    }
    if ((match = path.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/)) && method === "GET") {
      const pod = this.#pods.get(`${match[1]}/${match[2]}`);
      if (!pod) return fail(404, "NotFound", `pods "${match[2]}" not found`);
      const container = url.searchParams.get("container") ?? pod.spec.containers[0].name;
      const log = this.logs.get(pod.metadata.name)?.get(container);
      if (log === undefined) return fail(400, "BadRequest", `container "${container}" in pod "${match[2]}" is waiting to start: PodInitializing`);
      response?.writeHead(200, { "content-type": "text/plain" });
      response?.end(log);
      return;
    }
    if (path === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" && method === "POST") {
      const attributes = body!.spec.resourceAttributes;
      const allowed = this.#options.allow?.(attributes) ?? true;
      return answer(201, { ...body, status: { allowed, ...(allowed ? {} : { reason: `no RBAC rule lets this user ${attributes.verb} ${attributes.resource}` }) } });
    }
    fail(404, "NotFound", `the server could not find the requested resource (${method} ${path})`);
  }

  private status(response: ServerResponse, code: number, reason: string, message: string): void {
    response.writeHead(code, { "content-type": "application/json" });
    response.end(JSON.stringify(statusObject(code, reason, message)));
  }

  #watch(response: ServerResponse, url: URL, selector: Record<string, string>): void {
    const from = Number(url.searchParams.get("resourceVersion") ?? this.#version);
    response.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    for (const event of this.#history) if (event.version > from && matches(event.object, selector)) response.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
    const entry = { response, selector };
    this.#watches.add(entry);
    response.on("close", () => this.#watches.delete(entry));
    const seconds = Number(url.searchParams.get("timeoutSeconds") ?? 0);
    if (seconds > 0) {
      const timer = setTimeout(() => response.end(), seconds * 1000);
      response.on("close", () => clearTimeout(timer));
    }
  }

  #changed(type: string, object: Obj): void {
    const version = ++this.#version;
    object.metadata.resourceVersion = String(version);
    const copy = structuredClone(object);
    this.#history.push({ version, type, object: copy });
    for (const watch of this.#watches) if (matches(copy, watch.selector)) watch.response.write(`${JSON.stringify({ type, object: copy })}\n`);
  }

  #updateJob(job: Obj, status: Obj): void {
    if (!this.#jobs.has(`${job.metadata.namespace}/${job.metadata.name}`)) return;
    job.status = { ...job.status, ...status };
    this.#changed("MODIFIED", job);
  }

  // --- the kubelet ---

  async #runPod(job: Obj): Promise<void> {
    const template = job.spec.template;
    const name = `${job.metadata.name}-${randomBytes(3).toString("hex").slice(0, 5)}`;
    const pod: Obj = {
      apiVersion: "v1", kind: "Pod",
      metadata: {
        name, namespace: job.metadata.namespace, uid: randomUUID(), creationTimestamp: now(), resourceVersion: String(++this.#version),
        labels: { ...template.metadata?.labels, "batch.kubernetes.io/job-name": job.metadata.name, "job-name": job.metadata.name },
        ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: job.metadata.name, uid: job.metadata.uid }],
      },
      spec: { ...structuredClone(template.spec), nodeName: NODE_NAME },
      status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "True" }] },
    };
    this.#pods.set(`${pod.metadata.namespace}/${name}`, pod);
    this.logs.set(name, new Map());
    this.#updateJob(job, { active: 1, startTime: now() });
    const deadline = job.spec.activeDeadlineSeconds ? setTimeout(() => this.#deadline(job, pod), job.spec.activeDeadlineSeconds * 1000) : undefined;
    try {
      const volumes = await this.#volumes(pod);
      if (!volumes) return;
      for (const container of pod.spec.initContainers ?? []) {
        const ended = await this.#runContainer(pod, container, volumes, "initContainerStatuses");
        if (ended.exitCode !== 0) return this.#finish(job, pod, false, "BackoffLimitExceeded");
      }
      const fault = this.podFault(job.metadata.name);
      const main = pod.spec.containers[0];
      const ended = await this.#runContainer(pod, main, volumes, "containerStatuses", fault);
      if (pod.status.phase !== "Running") return; // ended otherwise meanwhile (deadline, deletion)
      if (fault?.kind === "node-lost") {
        pod.status.conditions.push({ type: "DisruptionTarget", status: "True", reason: "DeletionByTaintManager", message: `Taint manager: deleting due to NoExecute taint key node.kubernetes.io/unreachable on ${NODE_NAME}` });
        return this.#finish(job, pod, false, "BackoffLimitExceeded");
      }
      this.#finish(job, pod, ended.exitCode === 0, "BackoffLimitExceeded");
    } finally {
      clearTimeout(deadline);
    }
  }

  /** The pod's volumes as directories here; waits for its ConfigMaps like a kubelet (null: the pod went away). */
  async #volumes(pod: Obj): Promise<Map<string, string> | null> {
    const volumes = new Map<string, string>();
    const podDir = join(this.#root, "pods", pod.metadata.name);
    for (const volume of pod.spec.volumes ?? []) {
      const dir = join(podDir, "volumes", volume.name);
      if (volume.persistentVolumeClaim) {
        const claim = this.#options.claims?.[volume.persistentVolumeClaim.claimName];
        if (!claim) throw new Error(`no claim ${volume.persistentVolumeClaim.claimName} in the stand-in`);
        volumes.set(volume.name, claim);
        continue;
      }
      mkdirSync(dir, { recursive: true });
      volumes.set(volume.name, dir);
      if (volume.configMap) {
        for (let tries = 0; !this.#configMaps.has(`${pod.metadata.namespace}/${volume.configMap.name}`); tries += 1) {
          if (this.#closed || !this.#pods.has(`${pod.metadata.namespace}/${pod.metadata.name}`) || tries > 600) return null;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    }
    // ConfigMap files are written once every mount is known: their contents name the pod's paths.
    for (const volume of pod.spec.volumes ?? []) {
      if (!volume.configMap) continue;
      const mounts = mountMap(pod.spec.containers[0], volumes);
      for (const [key, text] of Object.entries(this.#configMaps.get(`${pod.metadata.namespace}/${volume.configMap.name}`)!.data ?? {})) {
        writeFileSync(join(volumes.get(volume.name)!, key), rewrite(String(text), mounts));
      }
    }
    return volumes;
  }

  #runContainer(pod: Obj, container: Obj, volumes: Map<string, string>, statuses: "initContainerStatuses" | "containerStatuses", fault?: PodFault): Promise<{ exitCode: number }> {
    const mounts = mountMap(container, volumes);
    const env: Record<string, string> = { PATH: `${join(this.#root, "bin")}:${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`, HOME: join(this.#root, "pods", pod.metadata.name) };
    for (const variable of container.env ?? []) {
      env[variable.name] = variable.valueFrom?.fieldRef?.fieldPath === "spec.nodeName" ? NODE_NAME : rewrite(String(variable.value ?? ""), mounts);
    }
    const [file, ...args] = [...container.command, ...(container.args ?? [])].map((part: string) => rewrite(part, mounts));
    const child = spawn(file!, args, { env, cwd: env.HOME, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const key = `${pod.metadata.name}/${container.name}`;
    this.#processes.set(key, child);
    const logs = this.logs.get(pod.metadata.name)!;
    logs.set(container.name, "");
    const status = { name: container.name, image: container.image, ready: true, restartCount: 0, state: { running: { startedAt: now() } } as Obj };
    pod.status.phase = statuses === "containerStatuses" ? "Running" : "Pending";
    pod.status[statuses] = [...(pod.status[statuses] ?? []).filter((each: Obj) => each.name !== container.name), status];
    let faulted = false;
    const onOutput = (chunk: Buffer) => {
      logs.set(container.name, logs.get(container.name)! + chunk.toString());
      if (fault && !faulted) {
        faulted = true;
        killGroup(child, "SIGKILL");
      }
    };
    child.stdout!.on("data", onOutput);
    child.stderr!.on("data", onOutput);
    if (statuses === "containerStatuses") this.onContainerStart(pod.metadata.name);
    return new Promise((resolve) => {
      child.once("close", (code, signal) => {
        this.#processes.delete(key);
        let exitCode = code ?? 128 + (signal === "SIGKILL" ? 9 : 15);
        let reason = exitCode === 0 ? "Completed" : "Error";
        if (fault?.kind === "oom") [exitCode, reason] = [137, "OOMKilled"];
        if (fault?.kind === "killed") exitCode = fault.exitCode;
        status.ready = false;
        status.state = { terminated: { exitCode, reason, startedAt: status.state.running?.startedAt, finishedAt: now() } };
        resolve({ exitCode });
      });
    });
  }

  #finish(job: Obj, pod: Obj, succeeded: boolean, reason: string): void {
    if (pod.status.phase === "Succeeded" || pod.status.phase === "Failed") return;
    pod.status.phase = succeeded ? "Succeeded" : "Failed";
    const condition = succeeded
      ? { type: "Complete", status: "True", lastTransitionTime: now() }
      : { type: "Failed", status: "True", reason, message: reason === "DeadlineExceeded" ? "Job was active longer than specified deadline" : "Job has reached the specified backoff limit", lastTransitionTime: now() };
    this.#updateJob(job, { active: 0, ...(succeeded ? { succeeded: 1 } : { failed: 1 }), completionTime: now(), conditions: [condition] });
  }

  #deadline(job: Obj, pod: Obj): void {
    for (const [key, child] of this.#processes) if (key.startsWith(`${pod.metadata.name}/`)) killGroup(child, "SIGKILL");
    pod.status.reason = "DeadlineExceeded";
    this.#finish(job, pod, false, "DeadlineExceeded");
  }

  /** The garbage collector after a Job's deletion: its pods are stopped (TERM, their grace, KILL) and removed, its ConfigMap too. */
  async #collect(job: Obj): Promise<void> {
    const owned = (object: Obj) => (object.metadata.ownerReferences ?? []).some((owner: Obj) => owner.uid === job.metadata.uid);
    for (const [key, pod] of [...this.#pods]) {
      if (!owned(pod)) continue;
      const children = [...this.#processes].filter(([name]) => name.startsWith(`${pod.metadata.name}/`)).map(([, child]) => child);
      for (const child of children) killGroup(child, "SIGTERM");
      const graceMs = (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000;
      const gone = Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once("close", resolve)))));
      const timer = setTimeout(() => children.forEach((child) => killGroup(child, "SIGKILL")), graceMs);
      await gone;
      clearTimeout(timer);
      this.#pods.delete(key);
    }
    for (const [key, configMap] of [...this.#configMaps]) if (owned(configMap)) this.#configMaps.delete(key);
  }
}

function statusObject(code: number, reason: string, message: string): Obj {
  return { apiVersion: "v1", kind: "Status", metadata: {}, status: "Failure", message, reason, code };
}

function now(): string {
  return new Date().toISOString();
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

async function readBody(request: IncomingMessage): Promise<Obj | null> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString();
  return text ? (JSON.parse(text) as Obj) : null;
}

function parseSelector(text: string): Record<string, string> {
  return Object.fromEntries(text.split(",").filter(Boolean).map((pair) => pair.split("=") as [string, string]));
}

function matches(object: Obj, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => object.metadata?.labels?.[key] === value);
}

/** A container's mount paths and the directories here that stand for them (longest first). */
function mountMap(container: Obj, volumes: Map<string, string>): Array<[string, string]> {
  return (container.volumeMounts ?? [])
    .map((mount: Obj): [string, string] => [mount.mountPath, join(volumes.get(mount.name)!, mount.subPath ?? "")])
    .sort((a: [string, string], b: [string, string]) => b[0].length - a[0].length);
}

function rewrite(text: string, mounts: Array<[string, string]>): string {
  if (mounts.length === 0) return text;
  // One pass, longest mount path first, so a directory put in for one mount is never read as another.
  const pattern = new RegExp(`(${mounts.map(([path]) => path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})(?=/|$|[\\s"':;])`, "g");
  return text.replace(pattern, (path) => mounts.find(([mountPath]) => mountPath === path)![1]);
}
