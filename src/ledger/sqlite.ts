// The ledger: every session and experiment, in <stateDir>/ledger.db (SQLite, WAL).
//
// Ledger.open(stateDir, { readOnly? })        open or create <stateDir>/ledger.db; readOnly for viewers
// close()                                     release the database (idempotent)
// createSession(session)                      one session per tag; UserError if the tag exists
// getSession(tag) / listSessions()            null when absent / oldest first
// updateSession(tag, patch)                   patch any field but the tag
// setIsolation(tag, isolation)                how this run isolates the session's phases (shown in every view)
// startExperiment(fields) -> id               insert with status 'running'; ids are global, so `show 12` is unambiguous
// finishExperiment(id, patch, sessionPatch?)  running -> finished, plus an optional session update, in ONE transaction
// updateExperiment(id, patch, sessionPatch?)  amend any row later (e.g. the decision after confirmation runs), same atomicity
// commitDecision(patch) -> committed rows     a decision (loop/reducer.ts): finish, amend the confirmed original, update the session, in ONE transaction
// getExperiment(id) / listExperiments(filter) null when absent / filtered by tag, status; ordered; limited
// markInterrupted(tag, reason, except) -> ids every 'running' row of the tag but `except` (adopted jobs) becomes 'interrupted' (resume after a crash)
// findByTree(tag, tree)                       newest experiment of the tag with that candidate tree (duplicate check)
// checkIntegrity() -> problems                SQLite integrity and foreign-key checks; empty when healthy
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseSync, SQLInputValue, SQLOutputValue, StatementSync } from "node:sqlite";
import { EnvironmentError, UserError, EXIT } from "../errors.ts";
import type { ExperimentKind, ExperimentStatus } from "../core/experiment.ts";
import type { IsolationLabel, SessionRecord } from "../core/session.ts";
import { EXPERIMENT_CODECS, SESSION_CODECS, experimentFromRow, sessionFromRow, toColumns } from "./rows.ts";
import type { LedgerExperiment } from "./rows.ts";
import { openReadOnly, openWritable } from "./schema.ts";

export type { LedgerExperiment } from "./rows.ts";

/** What is known when an experiment starts; everything optional defaults to empty/null. */
export type NewExperiment = Pick<LedgerExperiment, "tag" | "kind" | "parentCommit" | "proposer" | "description" | "device" | "slot"> &
  Partial<Pick<LedgerExperiment, "confirms" | "candidateCommit" | "candidateTree" | "hypothesis" | "meta" | "diff" | "logPath" | "timings" | "usage" | "startedAt">>;

export type ExperimentPatch = Partial<Omit<LedgerExperiment, "id" | "tag">>;
/** finishedAt defaults to now. */
export type FinishPatch = ExperimentPatch & { status: Exclude<ExperimentStatus, "running"> };
export type SessionPatch = Partial<Omit<SessionRecord, "tag">>;

/** One decision's writes: the experiment's finish, the confirmed original's decision, the session's best and noise. */
export interface DecisionPatch {
  finish: { id: number; patch: FinishPatch };
  amend: { id: number; patch: ExperimentPatch } | null;
  session: SessionPatch | null;
}

export interface CommittedDecision {
  finished: LedgerExperiment;
  amended: LedgerExperiment | null;
  session: SessionRecord;
}

export interface ExperimentFilter {
  tag?: string;
  status?: readonly ExperimentStatus[];
  /** Only these kinds (the baselines of a long session: without reading every candidate's row). */
  kind?: readonly ExperimentKind[];
  limit?: number;
  /** By id; default "asc" (oldest first). With a limit, "desc" gives the newest. */
  order?: "asc" | "desc";
}

export const LEDGER_FILE = "ledger.db";

const MAX_CACHED_STATEMENTS = 64;

type Row = Record<string, SQLOutputValue>;

export class Ledger {
  readonly path: string;
  readonly readOnly: boolean;
  #db: DatabaseSync;
  /** Prepared statements by their SQL: preparing was more than half of reading one experiment by its id (23 of 41 µs). */
  readonly #statements = new Map<string, StatementSync>();
  // The file this handle opened (device + inode): SQLite keeps writing to it even after it was deleted or replaced.
  readonly #identity: string | null;

  private constructor(path: string, db: DatabaseSync, readOnly: boolean) {
    this.path = path;
    this.#db = db;
    this.readOnly = readOnly;
    this.#identity = readOnly ? null : fileIdentity(path);
  }

  /**
   * Throws LedgerChangedError when ledger.db is no longer the file this handle opened (deleted, or
   * replaced by another file) or no longer holds the session `tag`: writing on would lose the results.
   */
  assertIntact(tag?: string): void {
    if (this.#identity !== null) {
      const now = fileIdentity(this.path);
      if (now === null) throw new LedgerChangedError(`the ledger ${this.path} was deleted while the session ran`);
      if (now !== this.#identity) throw new LedgerChangedError(`the ledger ${this.path} was replaced by another file while the session ran`);
    }
    if (tag !== undefined && this.getSession(tag) === null) {
      throw new LedgerChangedError(`the session "${tag}" is no longer in the ledger ${this.path}: it was deleted while the session ran`);
    }
  }

  static open(stateDir: string, options: { readOnly?: boolean } = {}): Ledger {
    const path = join(stateDir, LEDGER_FILE);
    if (options.readOnly) {
      if (!existsSync(path)) {
        throw new UserError(`no ledger at ${path}`, { exitCode: EXIT.usage, hint: "start a session in this project first, or check the state directory" });
      }
      return new Ledger(path, openReadOnly(path), true);
    }
    mkdirSync(stateDir, { recursive: true });
    return new Ledger(path, openWritable(path), false);
  }

  close(): void {
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }

  /** The statement for `sql`, prepared once per handle (the filters' few shapes included; bounded all the same). */
  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      if (this.#statements.size >= MAX_CACHED_STATEMENTS) this.#statements.clear();
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  // ---- sessions

  createSession(session: SessionRecord): void {
    this.#write(() => {
      if (this.getSession(session.tag) !== null) {
        throw new UserError(`a session tagged "${session.tag}" already exists in ${this.path}`, {
          exitCode: EXIT.usage,
          hint: "choose another tag, or resume that session",
        });
      }
      this.#insert("sessions", toColumns(SESSION_CODECS, session));
    });
  }

  getSession(tag: string): SessionRecord | null {
    const row = this.#prepare("SELECT * FROM sessions WHERE tag = ?").get(tag) as Row | undefined;
    return row === undefined ? null : sessionFromRow(row);
  }

  listSessions(): SessionRecord[] {
    const rows = this.#prepare("SELECT * FROM sessions ORDER BY created_at, tag").all() as Row[];
    return rows.map(sessionFromRow);
  }

  updateSession(tag: string, patch: SessionPatch): void {
    this.#write(() => this.#updateSession(tag, patch));
  }

  /** Called when a session opens: a resume may run with other isolation than the run before. */
  setIsolation(tag: string, isolation: IsolationLabel): void {
    this.updateSession(tag, { isolation });
  }

  // ---- experiments

  /** `derived`: fields that follow from the new row's id (its log path), written in the same transaction. */
  startExperiment(fields: NewExperiment, derived?: (id: number) => ExperimentPatch): number {
    const record: Omit<LedgerExperiment, "id"> = {
      confirms: null, candidateCommit: null, candidateTree: null, hypothesis: "", meta: null, diff: "",
      logPath: "", timings: {}, usage: null, startedAt: new Date().toISOString(),
      ...fields,
      status: "running", decision: null, reason: null, rationale: null, metric: null, heldOutMetric: null,
      secondary: {}, selfReported: false, flags: [], bestBefore: null, delta: null, memoryGb: null, ranOn: null, finishedAt: null,
    };
    return this.#write(() => {
      const id = Number(this.#insert("experiments", toColumns(EXPERIMENT_CODECS, record)));
      if (derived) this.#updateExperiment(this.#requireExperiment(id), derived(id), undefined);
      return id;
    });
  }

  finishExperiment(id: number, patch: FinishPatch, sessionPatch?: SessionPatch): void {
    this.#write(() => {
      const current = this.#requireExperiment(id);
      if (current.status !== "running") {
        throw new Error(`experiment ${id} already finished as "${current.status}"; use updateExperiment to amend it`);
      }
      this.#updateExperiment(current, { finishedAt: new Date().toISOString(), ...patch }, sessionPatch);
    });
  }

  updateExperiment(id: number, patch: ExperimentPatch, sessionPatch?: SessionPatch): void {
    this.#write(() => this.#updateExperiment(this.#requireExperiment(id), patch, sessionPatch));
  }

  /** The rows as committed are returned, so what is announced afterwards is what the ledger holds. */
  commitDecision(patch: DecisionPatch): CommittedDecision {
    return this.#write(() => {
      const current = this.#requireExperiment(patch.finish.id);
      if (current.status !== "running") {
        throw new Error(`experiment ${current.id} already finished as "${current.status}"; use updateExperiment to amend it`);
      }
      this.#updateExperiment(current, patch.finish.patch, patch.session ?? undefined);
      if (patch.amend !== null) this.#updateExperiment(this.#requireExperiment(patch.amend.id), patch.amend.patch, undefined);
      return {
        finished: this.#requireExperiment(current.id),
        amended: patch.amend === null ? null : this.#requireExperiment(patch.amend.id),
        session: this.getSession(current.tag)!,
      };
    });
  }

  getExperiment(id: number): LedgerExperiment | null {
    const row = this.#prepare("SELECT * FROM experiments WHERE id = ?").get(id) as Row | undefined;
    return row === undefined ? null : experimentFromRow(row);
  }

  listExperiments(filter: ExperimentFilter = {}): LedgerExperiment[] {
    const where: string[] = [];
    const values: SQLInputValue[] = [];
    if (filter.tag !== undefined) {
      where.push("tag = ?");
      values.push(filter.tag);
    }
    if (filter.status !== undefined) {
      if (filter.status.length === 0) return [];
      where.push(`status IN (${filter.status.map(() => "?").join(", ")})`);
      values.push(...filter.status);
    }
    if (filter.kind !== undefined) {
      if (filter.kind.length === 0) return [];
      where.push(`kind IN (${filter.kind.map(() => "?").join(", ")})`);
      values.push(...filter.kind);
    }
    const order = filter.order === "desc" ? "DESC" : "ASC";
    const sql = `SELECT * FROM experiments ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id ${order} LIMIT ?`;
    const rows = this.#prepare(sql).all(...values, limitValue(filter.limit)) as Row[];
    return rows.map(experimentFromRow);
  }

  markInterrupted(tag: string, reason: string, except: readonly number[] = []): number[] {
    return this.#write(() => {
      const spared = except.length > 0 ? ` AND id NOT IN (${except.map(() => "?").join(", ")})` : "";
      const rows = this.#db
        .prepare(`UPDATE experiments SET status = 'interrupted', reason = ?, finished_at = ? WHERE tag = ? AND status = 'running'${spared} RETURNING id`)
        .all(reason, new Date().toISOString(), tag, ...except) as { id: number }[];
      return rows.map((row) => row.id).sort((a, b) => a - b);
    });
  }

  findByTree(tag: string, tree: string): LedgerExperiment | null {
    const row = this.#db
      .prepare("SELECT * FROM experiments WHERE tag = ? AND candidate_tree = ? ORDER BY id DESC LIMIT 1")
      .get(tag, tree) as Row | undefined;
    return row === undefined ? null : experimentFromRow(row);
  }

  checkIntegrity(): string[] {
    const integrity = (this.#prepare("PRAGMA integrity_check").all() as { integrity_check: string }[])
      .map((row) => row.integrity_check)
      .filter((line) => line !== "ok");
    const foreignKeys = (this.#prepare("PRAGMA foreign_key_check").all() as { table: string; rowid: number; parent: string }[])
      .map((row) => `${row.table} row ${row.rowid} points at a missing ${row.parent} row`);
    return [...integrity, ...foreignKeys];
  }

  // ---- internals

  /** Runs `fn` in one IMMEDIATE transaction (the write lock is taken up front, so the busy timeout applies). */
  #write<T>(fn: () => T): T {
    if (this.readOnly) throw new Error(`the ledger ${this.path} was opened read-only`);
    this.assertIntact();
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  #insert(table: string, { columns, values }: { columns: string[]; values: SQLInputValue[] }): number | bigint {
    const sql = `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`;
    return this.#prepare(sql).run(...values).lastInsertRowid;
  }

  #update(table: string, key: string, keyValue: SQLInputValue, patch: { columns: string[]; values: SQLInputValue[] }): number {
    if (patch.columns.length === 0) return 1;
    const sql = `UPDATE ${table} SET ${patch.columns.map((column) => `${column} = ?`).join(", ")} WHERE ${key} = ?`;
    return Number(this.#prepare(sql).run(...patch.values, keyValue).changes);
  }

  #updateSession(tag: string, patch: SessionPatch): void {
    if ("tag" in patch) throw new TypeError("a session's tag cannot be changed");
    if (this.getSession(tag) === null) throw new Error(`no session tagged "${tag}" in ${this.path}`);
    this.#update("sessions", "tag", tag, toColumns(SESSION_CODECS, patch));
  }

  #updateExperiment(current: LedgerExperiment, patch: ExperimentPatch, sessionPatch: SessionPatch | undefined): void {
    if ("id" in patch || "tag" in patch) throw new TypeError("an experiment's id and tag cannot be changed");
    this.#update("experiments", "id", current.id, toColumns(EXPERIMENT_CODECS, patch));
    if (sessionPatch !== undefined) this.#updateSession(current.tag, sessionPatch);
  }

  #requireExperiment(id: number): LedgerExperiment {
    const experiment = this.getExperiment(id);
    if (experiment === null) throw new Error(`no experiment ${id} in ${this.path}`);
    return experiment;
  }
}

/** Someone deleted or replaced the ledger under a running session. */
export class LedgerChangedError extends EnvironmentError {
  constructor(message: string) {
    super(message, "The session stopped so that no result is written where nobody will find it. Restore ledger.db from a backup if you have one; " +
      "otherwise start afresh with `autoresearch run --tag <new tag>`. Do not let anything but autoresearch write under .autoresearch/.");
    this.name = "LedgerChangedError";
  }
}

function fileIdentity(path: string): string | null {
  try {
    const stat = statSync(path);
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return null;
  }
}

function limitValue(limit: number | undefined): number {
  if (limit === undefined) return -1; // SQLite: no limit
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  return limit;
}
