// What keeps the browsers current. Two feeds, one message format:
// - attach(bus): inside `autoresearch run --dashboard` the dashboard is one more subscriber to
//   the engine's events: the committed rows that experiment_finished and decision carry are folded in,
//   other state events trigger a re-read of the ledger, log lines are forwarded.
// - startPolling(): the standalone `autoresearch dashboard` (another process) polls the ledger
//   and the running experiments' log files.
import type { EngineEvent, EventBus } from "../events/types.ts";
import type { LedgerExperiment } from "../ledger/sqlite.ts";
import { safeLogText, safeText } from "../text/safe-text.ts";
import { LogFollower } from "./log-follower.ts";
import type { DashboardStore } from "./store.ts";
import type { SseHub } from "./stream.ts";

export const POLL_INTERVAL_MS = 500;
const LOG_FLUSH_MS = 100;
/** Lines kept per experiment between two flushes; a chatty workload only shows its latest. */
const MAX_BUFFERED_LINES = 200;

export class LiveUpdates {
  #store: DashboardStore;
  #hub: SseHub;
  #poller: NodeJS.Timeout | null = null;
  #follower = new LogFollower();
  #refreshQueued = false;
  #logBuffer = new Map<number, string[]>();
  #logTimer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(store: DashboardStore, hub: SseHub) {
    this.#store = store;
    this.#hub = hub;
  }

  /** Re-reads the ledger and pushes what changed. */
  tick(): void {
    if (this.#stopped) return;
    const changes = this.#store.refresh();
    if (changes.sessionsChanged) this.#hub.broadcast({ kind: "sessions", sessions: this.#store.sessions() });
    for (const [tag, rows] of changes.rows) {
      const summary = this.#store.summary(tag);
      if (summary !== null) this.#hub.broadcast({ kind: "rows", tag, rows, summary });
    }
  }

  startPolling(intervalMs = POLL_INTERVAL_MS): void {
    this.tick();
    this.#poller = setInterval(() => {
      if (!this.#safeTick()) return;
      if (this.#hub.size === 0) return; // nobody is watching: no need to read logs
      for (const { id, lines } of this.#follower.poll(this.#store.running())) this.#hub.broadcast({ kind: "log", id, lines });
    }, intervalMs);
  }

  attach(bus: EventBus): () => void {
    this.tick();
    return bus.subscribe((event) => this.#onEvent(event));
  }

  /** A last refresh (the end of a session is often the final event), then no more. */
  stop(): void {
    this.#safeTick();
    this.#stopped = true;
    if (this.#poller) clearInterval(this.#poller);
    if (this.#logTimer) clearTimeout(this.#logTimer);
    this.#flushLogs();
  }

  #onEvent(event: EngineEvent): void {
    switch (event.type) {
      case "experiment_log":
        this.#bufferLog(event.id, safeLogText(event.line));
        return;
      case "experiment_phase":
        this.#hub.broadcast({ kind: "phase", id: event.id, phase: event.phase });
        return;
      case "experiment_finished": case "decision":
        if (event.row) this.#fold(event.row);
        else this.#queueRefresh();
        return;
      case "session_started": case "experiment_started":
      case "best_updated": case "best_remeasured": case "noise_estimated": case "session_paused": case "session_stopped":
        this.#queueRefresh();
        return;
      default:
        return;
    }
  }

  #fold(experiment: LedgerExperiment): void {
    const row = this.#store.fold(experiment);
    const summary = row === null ? null : this.#store.summary(experiment.tag);
    if (row !== null && summary !== null) this.#hub.broadcast({ kind: "rows", tag: experiment.tag, rows: [row], summary });
  }

  // Events come after the commit they describe; a burst of them (a keep: decision, best_updated) is
  // one re-read, at the end of the current turn.
  #queueRefresh(): void {
    if (this.#refreshQueued) return;
    this.#refreshQueued = true;
    setImmediate(() => {
      this.#refreshQueued = false;
      this.#safeTick();
    });
  }

  /** A failing read (a ledger replaced under us) is reported and retried on the next tick. */
  #safeTick(): boolean {
    try {
      this.tick();
      return true;
    } catch (error) {
      process.stderr.write(`dashboard: could not read the ledger (retrying): ${(error as Error).message}\n`);
      return false;
    }
  }

  #bufferLog(id: number, line: string): void {
    const lines = this.#logBuffer.get(id) ?? [];
    lines.push(line);
    if (lines.length > MAX_BUFFERED_LINES) lines.splice(0, lines.length - MAX_BUFFERED_LINES);
    this.#logBuffer.set(id, lines);
    this.#logTimer ??= setTimeout(() => {
      this.#logTimer = null;
      this.#flushLogs();
    }, LOG_FLUSH_MS);
  }

  #flushLogs(): void {
    for (const [id, lines] of this.#logBuffer) this.#hub.broadcast({ kind: "log", id, lines });
    this.#logBuffer.clear();
  }
}
