// One list-then-watch of the session's Jobs, shared by every job in flight: each waits here until its
// Job is finished (or gone). Whenever the watch ends — the server's timeout, a dropped connection, 410
// Gone for a resource version too old — the Jobs are listed again and watched from the list's version,
// so no change is missed; a watch that keeps failing leaves the list, repeated with backoff, to do.
import type { V1Job } from "@kubernetes/client-node";
import { statusOf, type KubeClient, type RetryPolicy, type WatchEvent } from "./kubernetes-api.ts";

interface Waiter {
  name: string;
  predicate: (job: V1Job | null) => boolean;
  resolve: (job: V1Job | null) => void;
  reject: (error: unknown) => void;
  /** Lists started before the waiter came cannot tell it the Job is absent (it may have been created since). */
  since: number;
  seen: boolean;
}

/** What the watcher went through (the test of a dropped or expired watch reads it). */
export interface WatchStats {
  lists: number;
  watches: number;
  expired: number;
  dropped: number;
}

const MAX_WATCH_BACKOFF_MS = 10_000;

export function isFinished(job: V1Job): boolean {
  return (job.status?.conditions ?? []).some((condition) => (condition.type === "Complete" || condition.type === "Failed") && condition.status === "True");
}

export class JobWatcher {
  readonly stats: WatchStats = { lists: 0, watches: 0, expired: 0, dropped: 0 };
  readonly #client: () => Promise<KubeClient>;
  readonly #selector: string;
  readonly #retry: RetryPolicy;
  #jobs = new Map<string, V1Job>();
  #waiters = new Set<Waiter>();
  #listsStarted = 0;
  #running: Promise<void> | null = null;
  #abort: (() => void) | null = null;

  constructor(client: () => Promise<KubeClient>, labelSelector: string, retry: RetryPolicy) {
    this.#client = client;
    this.#selector = labelSelector;
    this.#retry = retry;
  }

  /** Resolves with the Job once `predicate` holds for it (null: the Job does not exist, or no longer). */
  until(name: string, predicate: (job: V1Job | null) => boolean): Promise<V1Job | null> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { name, predicate, resolve, reject, since: this.#listsStarted, seen: false };
      this.#waiters.add(waiter);
      const known = this.#jobs.get(name);
      if (known) this.#offer(waiter, known);
      this.#running ??= this.#run().finally(() => {
        this.#running = null;
      });
    });
  }

  #offer(waiter: Waiter, job: V1Job | null): void {
    if (job) waiter.seen = true;
    if (!waiter.predicate(job)) return;
    this.#waiters.delete(waiter);
    waiter.resolve(job);
    if (this.#waiters.size === 0) this.#abort?.();
  }

  #apply(event: WatchEvent): void {
    const name = event.object.metadata?.name;
    if (!name) return;
    if (event.type === "DELETED") this.#jobs.delete(name);
    else this.#jobs.set(name, event.object as V1Job);
    for (const waiter of [...this.#waiters]) if (waiter.name === name) this.#offer(waiter, event.type === "DELETED" ? null : (event.object as V1Job));
  }

  async #run(): Promise<void> {
    let failedWatches = 0;
    while (this.#waiters.size > 0) {
      const started = ++this.#listsStarted;
      let listed: { items: V1Job[]; resourceVersion: string };
      try {
        const client = await this.#client();
        this.stats.lists += 1;
        listed = await client.listJobs(this.#selector);
      } catch (error) {
        // The list retried with backoff already: the API server is gone for now, and every job in flight fails.
        for (const waiter of [...this.#waiters]) waiter.reject(error);
        this.#waiters.clear();
        return;
      }
      this.#jobs = new Map(listed.items.map((job) => [job.metadata!.name!, job]));
      for (const waiter of [...this.#waiters]) {
        const job = this.#jobs.get(waiter.name) ?? null;
        if (job || waiter.seen || started > waiter.since) this.#offer(waiter, job);
      }
      if (this.#waiters.size === 0) return;
      const ended = await this.#watch(listed.resourceVersion);
      if (ended === "expired") {
        this.stats.expired += 1;
        failedWatches = 0;
      } else if (ended === "failed") {
        this.stats.dropped += 1;
        failedWatches += 1;
        await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_WATCH_BACKOFF_MS, this.#retry.baseMs * 2 ** (failedWatches - 1))));
      } else {
        failedWatches = 0;
      }
    }
  }

  /** One watch from `resourceVersion` until it ends: "closed" by the server, "expired" (410), or "failed". */
  async #watch(resourceVersion: string): Promise<"closed" | "expired" | "failed"> {
    const client = await this.#client();
    let expired = false;
    this.stats.watches += 1;
    const error = await new Promise<unknown>((resolve) => {
      const onEvent = (event: WatchEvent) => {
        if (event.type === "ERROR") {
          // The API's way of saying 410 Gone inside a watch that had started: the version was compacted away.
          if (event.object.code === 410) expired = true;
          this.#abort?.();
          return;
        }
        if (event.type !== "BOOKMARK") this.#apply(event);
      };
      client.watchJobs(this.#selector, resourceVersion, onEvent, resolve).then((handle) => {
        this.#abort = () => handle.abort();
        if (this.#waiters.size === 0) handle.abort();
      }, resolve);
    });
    this.#abort = null;
    if (expired || statusOf(error) === 410) return "expired";
    // An abort of ours (every waiter is served) is not a failure; a stream the server ended cleanly is not either.
    if (this.#waiters.size === 0 || !error) return "closed";
    return "failed";
  }
}
