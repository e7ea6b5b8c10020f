// The calls the Kubernetes executor makes, through the official client (@kubernetes/client-node, loaded
// only when a session or doctor uses Kubernetes: it is large). Every call retries what may pass on its
// own — 5xx, 429, a connection that failed — with exponential backoff, then fails with KubeApiError;
// a 4xx is the answer and is thrown at once (the caller decides: 404 is "gone", 409 "already there").
import type { V1Job, V1Pod } from "@kubernetes/client-node";

export class KubeApiError extends Error {
  /** The HTTP status, or null when the API server could not be reached at all. */
  readonly status: number | null;
  constructor(message: string, status: number | null) {
    super(message);
    this.name = "KubeApiError";
    this.status = status;
  }
}

export interface RetryPolicy {
  attempts: number;
  baseMs: number;
}

export interface WatchEvent {
  type: string;
  object: { metadata?: { name?: string; resourceVersion?: string }; code?: number; message?: string } & Partial<V1Job>;
}

export interface KubeClient {
  /** The API server's URL and the namespace, for messages. */
  readonly server: string;
  readonly namespace: string;
  createJob(manifest: object): Promise<V1Job>;
  readJob(name: string): Promise<V1Job | null>;
  listJobs(labelSelector: string): Promise<{ items: V1Job[]; resourceVersion: string }>;
  /** Deletes the Job and, through background propagation, its pods; a Job already gone is not an error. */
  deleteJob(name: string): Promise<void>;
  /** Creates the ConfigMap; one that already exists (a retried create) is not an error. */
  createConfigMap(manifest: object): Promise<void>;
  listPods(labelSelector: string): Promise<V1Pod[]>;
  readPodLog(pod: string, container: string): Promise<string>;
  /** Watches Jobs from a resource version; `done` is called once, when the stream ends for any reason. */
  watchJobs(labelSelector: string, resourceVersion: string, onEvent: (event: WatchEvent) => void, done: (error: unknown) => void): Promise<{ abort(): void }>;
  /** SelfSubjectAccessReview: may this identity do `verb` on `resource` in the namespace? */
  canI(verb: string, group: string, resource: string, subresource?: string): Promise<{ allowed: boolean; reason: string | null }>;
}

export interface KubeClientOptions {
  namespace: string;
  kubeconfig?: string;
  context?: string;
  retry?: RetryPolicy;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 500 };

/** The HTTP status of a failed call (ApiException.code, a watch's statusCode), or null for a failed connection. */
export function statusOf(error: unknown): number | null {
  const value = error as { code?: unknown; statusCode?: unknown; status?: unknown } | null;
  for (const candidate of [value?.code, value?.statusCode, value?.status]) {
    if (typeof candidate === "number" && candidate >= 100 && candidate < 600) return candidate;
  }
  return null;
}

function describe(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  if (typeof body === "string") {
    try {
      const status = JSON.parse(body) as { message?: string };
      if (status.message) return status.message;
    } catch {
      if (body.trim()) return body.trim().slice(0, 300);
    }
  } else if (body && typeof body === "object" && "message" in body) {
    return String((body as { message: unknown }).message);
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const message = (error as Error).message?.split("\n")[0] ?? String(error);
  return cause?.code ? `${message} (${cause.code})` : message;
}

/** A connection that failed or broke (refused, reset, timed out, DNS), as undici's fetch reports it. */
function isConnectionFailure(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  const code = typeof cause?.code === "string" ? cause.code : (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^(ECONN|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR)/.test(code)) return true;
  return error instanceof TypeError && /fetch failed|terminated/i.test(error.message);
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `call`, retrying a 5xx, a 429 or a failed connection with backoff; throws KubeApiError at the end. */
export async function retrying<T>(what: string, policy: RetryPolicy, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      const status = statusOf(error);
      const unreachable = status === null && isConnectionFailure(error);
      const transient = unreachable || status === 429 || (status !== null && status >= 500);
      if (!transient || attempt >= policy.attempts) {
        const tries = transient ? ` (${attempt} attempts)` : "";
        const how = status !== null ? `HTTP ${status}` : unreachable ? "the API server could not be reached" : "the client failed";
        throw new KubeApiError(`${what}: ${how}: ${describe(error)}${tries}`, status);
      }
      await delay(policy.baseMs * 2 ** (attempt - 1));
    }
  }
}

export async function connectKube(options: KubeClientOptions): Promise<KubeClient> {
  const k8s = await import("@kubernetes/client-node");
  const config = new k8s.KubeConfig();
  if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
  else config.loadFromDefault();
  if (options.context) config.setCurrentContext(options.context);
  const server = config.getCurrentCluster()?.server;
  if (!server) throw new KubeApiError(`the kubeconfig has no cluster for context ${options.context ?? config.getCurrentContext() ?? "(none)"}`, null);
  const batch = config.makeApiClient(k8s.BatchV1Api);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const authorization = config.makeApiClient(k8s.AuthorizationV1Api);
  const watch = new k8s.Watch(config);
  const { namespace } = options;
  const policy = options.retry ?? DEFAULT_RETRY;
  const notFound = <T>(fallback: T) => (error: unknown) => {
    if (error instanceof KubeApiError && error.status === 404) return fallback;
    throw error;
  };
  return {
    server,
    namespace,
    createJob: (manifest) => retrying("creating the Job", policy, () => batch.createNamespacedJob({ namespace, body: manifest as V1Job })),
    readJob: (name) => retrying(`reading Job ${name}`, policy, () => batch.readNamespacedJob({ name, namespace })).catch(notFound(null)),
    async listJobs(labelSelector) {
      const list = await retrying("listing Jobs", policy, () => batch.listNamespacedJob({ namespace, labelSelector }));
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? "" };
    },
    async deleteJob(name) {
      await retrying(`deleting Job ${name}`, policy, () => batch.deleteNamespacedJob({ name, namespace, propagationPolicy: "Background" })).catch(notFound(null));
    },
    async createConfigMap(manifest) {
      await retrying("creating the job's ConfigMap", policy, () => core.createNamespacedConfigMap({ namespace, body: manifest as never })).catch((error: unknown) => {
        if (!(error instanceof KubeApiError && error.status === 409)) throw error;
      });
    },
    async listPods(labelSelector) {
      return (await retrying("listing the job's pods", policy, () => core.listNamespacedPod({ namespace, labelSelector }))).items;
    },
    readPodLog: (pod, container) => retrying(`reading the log of pod ${pod}`, policy, () => core.readNamespacedPodLog({ name: pod, namespace, container })),
    async watchJobs(labelSelector, resourceVersion, onEvent, done) {
      const controller = await watch.watch(
        `/apis/batch/v1/namespaces/${namespace}/jobs`,
        { labelSelector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 25 },
        (type, object) => onEvent({ type, object }),
        done,
      );
      return { abort: () => controller.abort() };
    },
    async canI(verb, group, resource, subresource) {
      const review = await retrying("asking the API server what this identity may do", policy, () => authorization.createSelfSubjectAccessReview({
        body: { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", spec: { resourceAttributes: { namespace, verb, group, resource, ...(subresource ? { subresource } : {}) } } },
      }));
      return { allowed: review.status?.allowed === true, reason: review.status?.reason ?? null };
    },
  };
}
