// This machine as a worker of a shared study: its identity (kept in .autoresearch/worker.json, so a
// restarted worker is the same worker), its connection, and what the loop remembers between calls:
// the version of the global best it builds on and the claims of the candidates it runs.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { connectionUrl, type SharedLedgerConfig } from "../config/ledger.ts";
import { SharedStudy, type ClaimToken, type NoteEntry, type OtherExperiment } from "./study.ts";

export const WORKER_FILE = "worker.json";

export interface WorkerIdentity {
  id: string;
  host: string;
}

/** This clone's worker id if it has one (a view must not make one up). */
export function savedWorkerId(stateDir: string): string | null {
  try {
    const saved = JSON.parse(readFileSync(join(stateDir, WORKER_FILE), "utf8")) as Partial<WorkerIdentity>;
    return typeof saved.id === "string" ? saved.id : null;
  } catch {
    return null;
  }
}

/** This clone's worker id: made once (host name + random suffix), then read back. */
export function workerIdentity(stateDir: string): WorkerIdentity {
  const path = join(stateDir, WORKER_FILE);
  if (existsSync(path)) {
    const saved = JSON.parse(readFileSync(path, "utf8")) as Partial<WorkerIdentity>;
    if (typeof saved.id === "string" && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(saved.id)) return { id: saved.id, host: saved.host ?? hostname() };
  }
  const host = hostname();
  const id = `${host.replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[^A-Za-z0-9]+/, "").slice(0, 40) || "worker"}-${randomBytes(3).toString("hex")}`;
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(path, `${JSON.stringify({ id, host }, null, 2)}\n`);
  return { id, host };
}

/**
 * The branch on the remote that holds the study's base, and the one that follows each device class's best
 * (under study/, so that a worker's own session branch autoresearch/<study> never collides with them).
 */
export function studyBaseBranch(study: string): string {
  return `study/${study}/base`;
}

export function studyBestBranch(study: string, deviceClass: string): string {
  return `study/${study}/${deviceClass}`;
}

/** Where a worker's candidate travels on the remote (unique per worker and experiment, never conflicting). */
export function candidateRemoteRef(study: string, worker: string, localId: number): string {
  return `refs/autoresearch/${study}/${worker}/${localId}`;
}

export class ShareSession {
  readonly config: SharedLedgerConfig;
  readonly identity: WorkerIdentity;
  readonly study: SharedStudy;
  /** The version of the global best the session's state was last set from (0: none yet). */
  adoptedVersion = 0;
  /** The newest version of the global best this worker has announced hearing of (the study_best event). */
  heardVersion = 0;
  /**
   * Whether the session moved to a newer global best since its last claim (its last start). It moves once
   * per start: moving takes a fetch, and while several workers keep finding bests, a worker that moved again
   * each time it heard of one chased them without starting anything (10 s at 8 workers on 2 cores).
   */
  movedSinceStart = false;
  /** Claims of the candidates this worker runs, by their code's fingerprint (the candidate's git tree). */
  readonly claims = new Map<string, ClaimToken>();
  /** Other workers' experiments as last read, for the proposers (kept while the database is away). */
  others: OtherExperiment[] = [];
  /** The shared notebook as last read, and this worker's notes.md as last written to it. */
  notes: NoteEntry[] = [];
  publishedNotes: string | null = null;
  /** Other workers' baseline runs of this device class, one group per worker, as last read (for the pooled noise). */
  classNoise: number[][] = [];
  /** The run's stop signal: a decision waiting for the database gives up waiting when it fires. */
  stopSignal: AbortSignal | null = null;
  #wake: () => void = () => {};

  private constructor(config: SharedLedgerConfig, identity: WorkerIdentity, study: SharedStudy) {
    this.config = config;
    this.identity = identity;
    this.study = study;
  }

  static async open(config: SharedLedgerConfig, stateDir: string, deviceClass: string): Promise<ShareSession> {
    const identity = workerIdentity(stateDir);
    let session: ShareSession | null = null;
    const study = await SharedStudy.open({
      url: connectionUrl(config), study: config.study, worker: identity.id, host: identity.host,
      deviceClass: config.deviceClass ?? deviceClass, leaseSeconds: config.leaseSeconds,
      onChange: () => session?.wakeLoop(),
    });
    session = new ShareSession(config, identity, study);
    return session;
  }

  get worker(): string {
    return this.identity.id;
  }

  get remote(): string {
    return this.config.remote;
  }

  /** Called when the worker goes offline or comes back, or a new best is announced: the loop looks again. */
  onChange(wake: () => void): void {
    this.#wake = wake;
  }

  wakeLoop(): void {
    this.#wake();
  }

  close(): Promise<void> {
    return this.study.close();
  }
}
