// The dashboard's read-only view of a project's ledger. It keeps each viewed session's rows
// in memory (so 10,000+ rows page and sort without touching SQLite) and, on refresh, re-reads
// only the newest rows plus those still unsettled, reporting what changed. It never writes.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Ledger, LEDGER_FILE, type LedgerExperiment } from "../ledger/sqlite.ts";
import type { SessionRecord } from "../core/session.ts";
import { readLogTail } from "../text/log-tail.ts";
import { sessionFinalizeReport, unconfirmedKeeps } from "../finalize/report.ts";
import { reportText, survivalSummary } from "../finalize/render.ts";
import type { ExperimentDetail, ExperimentRow, FinalizedView, Overview, RowPage, RowQuery, SessionListItem, SessionSnapshot, SessionSummaryView } from "./api.ts";
import { queryRows } from "./query.ts";
import { toDetail, toPoint, toRow } from "./rows.ts";
import { listItem, summarizeSession } from "./summary.ts";

/** Finished, decided rows older than this many (per session) are assumed final. */
const SETTLE_WINDOW = 64;
const OVERVIEW_CACHE_MS = 5000;

interface LoadedSession {
  rows: ExperimentRow[];
  index: Map<number, number>;
}

export interface StoreChanges {
  sessionsChanged: boolean;
  /** Per viewed session, the rows that are new or changed (possibly none when only the session changed). */
  rows: Map<string, ExperimentRow[]>;
}

export interface RunningExperiment {
  id: number;
  tag: string;
  logPath: string;
}

export class DashboardStore {
  readonly stateDir: string;
  #ledger: Ledger | null = null;
  #sessions = new Map<string, SessionRecord>();
  #sessionsSignature = "";
  #loaded = new Map<string, LoadedSession>();
  #logPaths = new Map<number, string>();
  #now: () => number;
  #overviewCache: { key: string; json: string; atMs: number } | null = null;
  /** Why nothing can be shown (no ledger yet, an unreadable one); null when fine. */
  problem: string | null = null;
  /** Goes up whenever a refresh finds something changed; starts at the clock so a restarted server never repeats one. */
  version = Date.now();

  constructor(stateDir: string, options: { now?: () => number } = {}) {
    this.stateDir = stateDir;
    this.#now = options.now ?? Date.now;
  }

  /** The sessions as of the last refresh(). */
  sessions(): SessionListItem[] {
    return [...this.#sessions.values()].map(listItem);
  }

  snapshot(tag: string): SessionSnapshot | null {
    const loaded = this.#load(tag);
    if (loaded === null) return null;
    return {
      summary: this.summary(tag)!,
      points: loaded.rows.map(toPoint),
      running: loaded.rows.filter((row) => row.status === "running"),
    };
  }

  summary(tag: string): SessionSummaryView | null {
    const session = this.#sessions.get(tag);
    const loaded = this.#load(tag);
    return session === undefined || loaded === null ? null : summarizeSession(session, loaded.rows, this.#now(), this.#finalized(session, loaded.rows));
  }

  /** The latest finalize of a session; read from the ledger (its rows' meta) only when the session has finalize runs. */
  #finalized(session: SessionRecord, rows: readonly ExperimentRow[]): FinalizedView | null {
    if (!rows.some((row) => row.kind === "rescore" || row.kind === "ablation")) return null;
    const ledger = this.#open();
    const report = ledger === null ? null : sessionFinalizeReport(session, ledger.listExperiments({ tag: session.tag, order: "asc" }));
    return report === null ? null : { line: survivalSummary(report), text: reportText(report), unconfirmedKeeps: unconfirmedKeeps(report) };
  }

  rows(tag: string): ExperimentRow[] | null {
    return this.#load(tag)?.rows ?? null;
  }

  /**
   * The first view's data as JSON. Cached until the data changes (or for a few seconds, since a
   * running session's elapsed time moves): every page opened meanwhile gets the same answer.
   */
  overviewJson(tag: string | null, query: RowQuery): string {
    const shown = this.pick(tag);
    const key = `${this.version}|${shown}|${JSON.stringify(query)}`;
    if (this.#overviewCache?.key === key && this.#now() - this.#overviewCache.atMs < OVERVIEW_CACHE_MS) return this.#overviewCache.json;
    const overview: Overview = {
      version: this.version,
      sessions: this.sessions(),
      problem: this.problem,
      snapshot: shown === null ? null : this.snapshot(shown),
      page: shown === null ? null : this.page(shown, query),
    };
    const json = JSON.stringify(overview);
    this.#overviewCache = { key, json, atMs: this.#now() };
    return json;
  }

  /** The latest session, or `tag` when it exists: what a page shows first. */
  pick(tag: string | null): string | null {
    if (tag !== null && this.#sessions.has(tag)) return tag;
    return [...this.#sessions.keys()].at(-1) ?? null;
  }

  page(tag: string, query: RowQuery): RowPage | null {
    const loaded = this.#load(tag);
    return loaded === null ? null : queryRows(loaded.rows, query);
  }

  detail(id: number, logLines = 60): ExperimentDetail | null {
    const experiment = this.#open()?.getExperiment(id) ?? null;
    if (experiment === null) return null;
    return toDetail(experiment, logTail(experiment, logLines));
  }

  /** Every experiment of a session in full, for the static report. */
  details(tag: string, logLines: number): ExperimentDetail[] {
    const ledger = this.#open();
    if (ledger === null) return [];
    return ledger.listExperiments({ tag, order: "asc" }).map((experiment) => toDetail(experiment, logTail(experiment, logLines)));
  }

  /** Running experiments of the sessions being viewed, with their log files. */
  running(): RunningExperiment[] {
    const found: RunningExperiment[] = [];
    for (const [tag, loaded] of this.#loaded) {
      for (let i = loaded.rows.length - 1; i >= Math.max(0, loaded.rows.length - SETTLE_WINDOW * 4); i--) {
        const row = loaded.rows[i];
        if (row.status !== "running") continue;
        // The engine records the log path just after the row; until then it is the conventional one.
        found.push({ id: row.id, tag, logPath: this.#logPaths.get(row.id) || join(this.stateDir, "logs", `${row.id}.log`) });
      }
    }
    return found;
  }

  /** Re-reads what may have changed since the last call. */
  refresh(): StoreChanges {
    const changes: StoreChanges = { sessionsChanged: false, rows: new Map() };
    const ledger = this.#open();
    if (ledger === null) return changes;
    const sessions = ledger.listSessions();
    const signature = JSON.stringify(sessions);
    changes.sessionsChanged = signature !== this.#sessionsSignature;
    const previous = this.#sessions;
    this.#sessions = new Map(sessions.map((session) => [session.tag, session]));
    this.#sessionsSignature = signature;
    for (const [tag, loaded] of this.#loaded) {
      const session = this.#sessions.get(tag);
      if (session === undefined) continue;
      const sessionChanged = JSON.stringify(session) !== JSON.stringify(previous.get(tag));
      const unsettled = loaded.rows.some((row) => row.status === "running");
      if (session.state !== "running" && !sessionChanged && !unsettled) continue;
      const changed = this.#refreshWindow(ledger, tag, loaded);
      if (changed.length > 0 || sessionChanged) changes.rows.set(tag, changed);
    }
    if (changes.sessionsChanged || changes.rows.size > 0) this.version += 1;
    return changes;
  }

  /**
   * A row the engine announced once it was committed (run --dashboard): folded in without reading the
   * ledger. Returns it as the page shows it, or null when its session is not loaded or nothing changed.
   */
  fold(experiment: LedgerExperiment): ExperimentRow | null {
    const loaded = this.#loaded.get(experiment.tag);
    if (loaded === undefined) return null;
    const [changed] = this.#upsert(loaded, [experiment]);
    if (changed === undefined) return null;
    this.version += 1;
    return changed;
  }

  close(): void {
    this.#ledger?.close();
    this.#ledger = null;
  }

  #open(): Ledger | null {
    if (this.#ledger !== null) return this.#ledger;
    if (!existsSync(join(this.stateDir, LEDGER_FILE))) {
      this.problem = "no research session in this project yet: start one with `autoresearch run`; this page follows it when it starts";
      return null;
    }
    try {
      this.#ledger = Ledger.open(this.stateDir, { readOnly: true });
      this.problem = null;
    } catch (error) {
      // A ledger being created this instant has no schema yet; the next refresh retries.
      this.problem = (error as Error).message;
    }
    return this.#ledger;
  }

  #load(tag: string): LoadedSession | null {
    const existing = this.#loaded.get(tag);
    if (existing !== undefined) return existing;
    const ledger = this.#open();
    if (ledger === null) return null;
    if (!this.#sessions.has(tag)) {
      const session = ledger.getSession(tag);
      if (session === null) return null;
      this.#sessions.set(tag, session);
    }
    const loaded: LoadedSession = { rows: [], index: new Map() };
    this.#upsert(loaded, ledger.listExperiments({ tag, order: "asc" }));
    this.#loaded.set(tag, loaded);
    return loaded;
  }

  /** Re-reads the newest rows and every unsettled one; returns those that changed. */
  #refreshWindow(ledger: Ledger, tag: string, loaded: LoadedSession): ExperimentRow[] {
    const rows = loaded.rows;
    let firstUnsettled = rows.length;
    for (let i = Math.max(0, rows.length - SETTLE_WINDOW * 4); i < rows.length; i++) {
      if (isUnsettled(rows[i])) {
        firstUnsettled = i;
        break;
      }
    }
    const known = rows.length - Math.min(firstUnsettled, Math.max(0, rows.length - SETTLE_WINDOW));
    const limit = known + SETTLE_WINDOW * 4;
    const window = ledger.listExperiments({ tag, order: "desc", limit });
    const newest = rows.at(-1)?.id ?? 0;
    if (window.length === limit && window[window.length - 1].id > newest) {
      // More new rows than the window holds (a long pause of the poller): read them all.
      return this.#upsert(loaded, ledger.listExperiments({ tag, order: "asc" }));
    }
    return this.#upsert(loaded, window.reverse());
  }

  #upsert(loaded: LoadedSession, experiments: LedgerExperiment[]): ExperimentRow[] {
    const changed: ExperimentRow[] = [];
    for (const experiment of experiments) {
      if (experiment.status === "running" && experiment.logPath) this.#logPaths.set(experiment.id, experiment.logPath);
      else this.#logPaths.delete(experiment.id);
      const row = toRow(experiment);
      const position = loaded.index.get(row.id);
      if (position !== undefined) {
        if (JSON.stringify(loaded.rows[position]) === JSON.stringify(row)) continue;
        loaded.rows[position] = row;
      } else if (row.id > (loaded.rows.at(-1)?.id ?? 0)) {
        loaded.index.set(row.id, loaded.rows.length);
        loaded.rows.push(row);
      } else {
        insertInOrder(loaded, row);
      }
      changed.push(row);
    }
    return changed;
  }
}

function logTail(experiment: LedgerExperiment, lines: number): string {
  return experiment.logPath ? readLogTail(experiment.logPath, { maxLines: lines, maxBytes: lines * 400 }) : "";
}

function isUnsettled(row: ExperimentRow): boolean {
  return row.status === "running" || (row.status === "ok" && row.kind === "candidate" && row.decision === null);
}

function insertInOrder(loaded: LoadedSession, row: ExperimentRow): void {
  loaded.rows.push(row);
  loaded.rows.sort((a, b) => a.id - b.id);
  loaded.index = new Map(loaded.rows.map((each, position) => [each.id, position]));
}
