// The one-time prepare step: run it at the session's base commit, with the project's split secret,
// then checksum what it wrote. A later session reuses the data when the prepare command, the
// protected files and the split secret are unchanged and the data still matches its checksums;
// otherwise it prepares afresh and says why.
import { createHash, randomUUID } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import picomatch from "picomatch";
import * as git from "../git/index.ts";
import { ALWAYS_EXCLUDED_DIRS, hashTree, protectedFiles, snapshotDirectory, verifySnapshot, type DirectorySnapshot } from "../guard/checksums.ts";
import { UserError, EXIT } from "../errors.ts";
import { ENV_PHASE, ENV_SPLIT_SECRET } from "../project/contract.ts";
import { projectSplitSecret } from "../project/split-secret.ts";
import { hidingProblem } from "../runner/isolation.ts";
import { runCommand } from "../runner/process.ts";
import { readLogTail } from "../text/log-tail.ts";
import { isoAt, type SessionContext } from "./context.ts";
import { phaseEnvironment, runMarker } from "./environment.ts";

/** Ctrl-C while the data was being prepared: the session is stopped as interrupted, nothing is wrong with prepare. */
export class PrepareInterruptedError extends UserError {
  constructor() {
    super("interrupted (Ctrl-C) while the data was being prepared", {
      exitCode: EXIT.interrupted,
      hint: "Run `autoresearch run` again: it prepares the data afresh and resumes the session.",
    });
    this.name = "PrepareInterruptedError";
  }
}

interface DataManifest {
  key: string;
  preparedAt: string;
  /** The fingerprint of the split secret the data was prepared with (absent: prepared before there was one). */
  splitSecret?: string;
  snapshot: DirectorySnapshot;
}

/** Prepares the data (or reuses it) and sets what experiments check it against and what of it training cannot read. */
export async function readyData(ctx: SessionContext, baseCommit: string, signal: AbortSignal): Promise<void> {
  ctx.dataSnapshot = await ensurePrepared(ctx, baseCommit, signal);
  ctx.hiddenFromTrain = await filesHiddenFromTrain(ctx);
}

/** Returns the data snapshot to verify experiments against, or null when the project has no prepare step. */
async function ensurePrepared(ctx: SessionContext, baseCommit: string, signal: AbortSignal): Promise<DirectorySnapshot | null> {
  const prepare = ctx.config.prepare;
  if (!prepare) return null;
  const worktree = join(ctx.paths.worktreesDir, `prepare-${randomUUID().slice(0, 8)}`);
  await git.addWorktree(ctx.paths.projectDir, worktree, baseCommit);
  try {
    const secret = projectSplitSecret(ctx.paths.splitSecret);
    const key = preparationKey(prepare.command, await hashTree(worktree, await protectedFiles(worktree, ctx.protectedGlobs, ALWAYS_EXCLUDED_DIRS)), secret.fingerprint);
    const existing = readManifest(ctx.paths.dataManifest);
    const changed = existing ? await reasonToPrepareAgain(ctx, existing, key, secret.fingerprint) : null;
    if (existing && changed === null) {
      ctx.bus.emit({ type: "prepare_finished", at: isoAt(ctx.clock), ok: true, files: Object.keys(existing.snapshot.files).length, wallMs: 0, reused: true });
      return existing.snapshot;
    }
    if (existing && existing.splitSecret !== secret.fingerprint && ctx.ledger.listExperiments({ tag: ctx.tag, limit: 1 }).length > 0) {
      ctx.bus.emit({
        type: "warning", at: isoAt(ctx.clock),
        message: `the validation and test rows change with this preparation (${changed}); this session's earlier scores were measured on other rows and are not comparable with later ones. Start a new session (--tag) for a clean comparison.`,
      });
    }
    ctx.bus.emit({ type: "prepare_started", at: isoAt(ctx.clock), command: prepare.command, ...(changed ? { reason: changed } : {}) });
    makeWritable(ctx.paths.dataDir);
    rmSync(ctx.paths.dataDir, { recursive: true, force: true });
    rmSync(ctx.paths.dataManifest, { force: true });
    mkdirSync(ctx.paths.dataDir, { recursive: true });
    const logPath = join(ctx.paths.logsDir, "prepare.log");
    mkdirSync(ctx.paths.logsDir, { recursive: true });
    writeFileSync(logPath, `--- prepare: ${prepare.command}${changed ? ` (${changed})` : ""}\n`);
    const timeoutSeconds = prepare.timeoutSeconds ?? 3600;
    // Prepare is protected code and runs where the data lives, on this machine (it may download): no job, no sandbox.
    const result = await runCommand({
      command: prepare.command, cwd: worktree,
      env: phaseEnvironment(ctx, null, "prepare", { [ENV_PHASE]: "prepare", [ENV_SPLIT_SECRET]: secret.value }, "prepare"), logPath,
      timeoutMs: timeoutSeconds * 1000, killGraceMs: ctx.config.killGraceSeconds * 1000,
      marker: runMarker(ctx, "prepare"), signal,
    });
    if (result.aborted) {
      ctx.bus.emit({ type: "prepare_finished", at: isoAt(ctx.clock), ok: false, files: 0, wallMs: result.wallMs, reused: false, error: "was interrupted" });
      throw new PrepareInterruptedError();
    }
    if (result.exitCode !== 0 || result.timedOut) {
      const what = result.timedOut ? `ran past ${timeoutSeconds}s` : `exited with code ${result.exitCode}`;
      ctx.bus.emit({ type: "prepare_finished", at: isoAt(ctx.clock), ok: false, files: 0, wallMs: result.wallMs, reused: false, error: what });
      throw new UserError(`prepare (${prepare.command}) ${what}. Last lines of ${logPath}:\n${readLogTail(logPath, { maxLines: 20 })}`, {
        hint: `If the cause is outside the project (network, disk), run again. A fix to the prepare code or the config needs a new session: ` +
          `commit it and run with a new --tag (this session always prepares from its base commit ${baseCommit.slice(0, 7)}).`,
      });
    }
    const snapshot = await snapshotDirectory(ctx.paths.dataDir);
    if (Object.keys(snapshot.files).length === 0) {
      throw new UserError(`prepare (${prepare.command}) wrote nothing into AUTORESEARCH_DATA_DIR (${ctx.paths.dataDir})`, {
        hint: "The prepare command must write its outputs into the directory named by $AUTORESEARCH_DATA_DIR.",
      });
    }
    makeReadOnly(ctx.paths.dataDir);
    const manifest: DataManifest = { key, preparedAt: isoAt(ctx.clock), splitSecret: secret.fingerprint, snapshot };
    writeFileSync(ctx.paths.dataManifest, JSON.stringify(manifest, null, 1));
    ctx.bus.emit({ type: "prepare_finished", at: isoAt(ctx.clock), ok: true, files: Object.keys(snapshot.files).length, wallMs: result.wallMs, reused: false });
    return snapshot;
  } finally {
    await git.removeWorktree(ctx.paths.projectDir, worktree).catch(() => undefined);
  }
}

function preparationKey(command: string, protectedHashes: Record<string, string>, splitSecret: string): string {
  const sorted = Object.keys(protectedHashes).sort().map((path) => [path, protectedHashes[path]]);
  return createHash("sha256").update(JSON.stringify({ command, protected: sorted, splitSecret })).digest("hex");
}

/** Why the data prepared earlier cannot be reused (said in the log), or null when it can. */
async function reasonToPrepareAgain(ctx: SessionContext, existing: DataManifest, key: string, splitSecret: string): Promise<string | null> {
  if (existing.splitSecret === undefined) return "the data was prepared without a split secret, so its held-out rows could be rebuilt from the source";
  if (existing.splitSecret !== splitSecret) return `the split secret changed (${ctx.paths.splitSecret})`;
  if (existing.key !== key) return "the prepare command or a protected file changed";
  const problems = await verifySnapshot(ctx.paths.dataDir, existing.snapshot);
  return problems.length > 0 ? `the prepared data no longer matches its checksums: ${problems.slice(0, 3).join("; ")}` : null;
}

function readManifest(path: string): DataManifest | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as DataManifest;
  } catch {
    return null;
  }
}

// Read-only data stops accidental writes by a workload; the checksums catch deliberate ones.
function makeReadOnly(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) makeReadOnly(path);
    else if (entry.isFile()) chmodSync(path, 0o444);
  }
  chmodSync(dir, 0o555);
}

function makeWritable(dir: string): void {
  if (!existsSync(dir)) return;
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) makeWritable(path);
    else if (statSync(path).isFile()) chmodSync(path, 0o644);
  }
}

/**
 * The prepared files config.hideFromTrain names, as absolute paths, when this machine can hide
 * them from the train phase; otherwise [] and a warning saying why (the session goes on).
 */
async function filesHiddenFromTrain(ctx: SessionContext): Promise<string[]> {
  const globs = ctx.config.hideFromTrain;
  if (globs.length === 0 || !ctx.dataSnapshot) return [];
  const matches = picomatch(globs, { dot: true });
  const files = Object.keys(ctx.dataSnapshot.files).filter((path) => matches(path));
  const warn = (message: string) => ctx.bus.emit({ type: "warning", at: isoAt(ctx.clock), message });
  if (files.length === 0) {
    warn(`hideFromTrain (${globs.join(", ")}) matches none of the prepared files; nothing is hidden from training`);
    return [];
  }
  // The sandbox leaves hidden files out of the train phase's view; without it, a mount namespace covers them.
  const problem = ctx.isolation.sandboxed ? null : await hidingProblem();
  if (problem) {
    warn(`the train phase can read the ${files.length} prepared file(s) hideFromTrain names (${files.slice(0, 3).join(", ")}${files.length > 3 ? ", ..." : ""}): ${problem}. The held-out score still shows training on them.`);
    return [];
  }
  return files.map((path) => join(ctx.paths.dataDir, path));
}
