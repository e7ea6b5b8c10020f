// Checksums of what must not change: protected files (evaluator, data preparation)
// and the prepared data directory. A large file is hashed as a stream, so multi-gigabyte data never
// sits in memory and other slots' timers and logs keep flowing meanwhile. A small one (code, configs)
// is read in one synchronous call: with many slots busy, each asynchronous step waits its turn on the
// event loop, and the dozen steps of streaming a few small files took 100 ms (bench/throughput.ts).
import { createHash } from "node:crypto";
import { createReadStream, readdirSync, readFileSync, statSync, type Stats } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import picomatch from "picomatch";
import { extractCommit } from "../git/archive.ts";
import { listFilesAt } from "../git/query.ts";

export interface DirectorySnapshot {
  /** Posix paths relative to the snapshot root, sorted. */
  files: Record<string, { sha256: string; bytes: number }>;
  totalBytes: number;
}

/** Short name for DirectorySnapshot. */
export type Snapshot = DirectorySnapshot;

/** Directories never searched for protected files: git internals, dependencies, our own state. */
export const ALWAYS_EXCLUDED_DIRS = [".git", "node_modules", ".autoresearch"];

/** Files up to this size are read whole, synchronously; larger ones are streamed. */
const READ_WHOLE_BYTES = 1024 * 1024;

/**
 * sha256 (hex) of a file's content: read whole when small, else streamed. What is not a regular file once
 * links are followed (a pipe, a device such as /dev/zero, a directory) has no content to hash and is never
 * read, since reading it could block or never end; it gets a name instead of a hash, so it differs from any file.
 */
export async function hashFile(path: string): Promise<string> {
  const stats = statSync(path);
  if (!stats.isFile()) return `not a regular file: ${specialKind(stats)}`;
  if (stats.size <= READ_WHOLE_BYTES) {
    // A file that grew past the limit since the stat is still hashed whole, and correctly.
    return createHash("sha256").update(readFileSync(path)).digest("hex");
  }
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

function specialKind(stats: Stats): string {
  if (stats.isDirectory()) return "a directory";
  if (stats.isFIFO()) return "a named pipe";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "a device";
  return "something else";
}

/** sha256 of each relPath under rootDir. Missing files are left out, so comparing with diffHashes reports them. */
export async function hashTree(rootDir: string, relPaths: string[]): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (const relPath of [...relPaths].sort()) {
    try {
      hashes[relPath] = await hashFile(join(rootDir, relPath));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
  return hashes;
}

/**
 * Each file's content identity as the kernel keeps it, without reading the file: device, inode, size,
 * and modification and change times in nanoseconds. Every write changes mtime and ctime, and no process
 * can set ctime back (only changing the system clock could), so an equal fingerprint means the same
 * content for a process without that power — such as one in the sandbox. Missing files are left out.
 */
export async function statFingerprints(rootDir: string, relPaths: readonly string[]): Promise<Record<string, string>> {
  const fingerprints: Record<string, string> = {};
  let sinceYield = 0;
  for (const relPath of [...relPaths].sort()) {
    // A data directory of many thousand files: let the other slots' work through now and then.
    if (++sinceYield === 1024) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
    try {
      // Synchronous: one cheap call per file, not a turn of the event loop each (see the top of this file).
      const stats = statSync(join(rootDir, relPath), { bigint: true });
      fingerprints[relPath] = `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
  return fingerprints;
}

/** statFingerprints of every file under a data directory (walked as snapshotDirectory walks it); a broken link counts as a file. */
export async function dataFingerprints(dir: string): Promise<Record<string, string>> {
  let found: { files: string[]; broken: string[] };
  try {
    found = await walkData(dir);
  } catch (error) {
    if (!isMissing(error)) throw error;
    return {};
  }
  return { ...(await statFingerprints(dir, found.files)), ...Object.fromEntries(found.broken.map((path) => [path, "broken"])) };
}

/** Whether two fingerprint (or hash) tables name the same files with the same values. */
export function sameFingerprints(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/** Human-readable differences: "changed: x", "missing: y", "added: z", in path order. */
export function diffHashes(expected: Record<string, string>, actual: Record<string, string>): string[] {
  const paths = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  const problems: string[] = [];
  for (const path of paths) {
    if (!(path in actual)) problems.push(`missing: ${path}`);
    else if (!(path in expected)) problems.push(`added: ${path}`);
    else if (expected[path] !== actual[path]) problems.push(`changed: ${path}`);
  }
  return problems;
}

/**
 * Every file under dir, recursively, with its sha256 and size. Symlinks are followed and
 * hashed by what they point to, so editing a link's target is caught; a directory reached
 * twice through links is walked once. A dangling link is an error: the data is incomplete.
 */
export async function snapshotDirectory(dir: string): Promise<DirectorySnapshot> {
  const { files, broken } = await walkData(dir);
  if (broken.length > 0) {
    throw new Error(`the data directory ${dir} has broken symlinks: ${broken.join(", ")}; make prepare write real files (or links that resolve)`);
  }
  const snapshot: DirectorySnapshot = { files: {}, totalBytes: 0 };
  for (const relPath of files) {
    const absolute = join(dir, relPath);
    const { size } = await stat(absolute);
    snapshot.files[relPath] = { sha256: await hashFile(absolute), bytes: size };
    snapshot.totalBytes += size;
  }
  return snapshot;
}

/** Problems ("changed: train.bin", "missing: val.bin", "added: x", "broken link: y"); empty when dir still matches. */
export async function verifySnapshot(dir: string, snapshot: DirectorySnapshot): Promise<string[]> {
  let found: { files: string[]; broken: string[] };
  try {
    found = await walkData(dir);
  } catch (error) {
    if (!isMissing(error)) throw error;
    found = { files: [], broken: [] }; // the whole directory is gone: every file is missing
  }
  const present = new Set(found.files);
  const broken = new Set(found.broken);
  const problems: string[] = [];
  const paths = [...new Set([...Object.keys(snapshot.files), ...found.files, ...found.broken])].sort();
  for (const relPath of paths) {
    const recorded = snapshot.files[relPath];
    if (broken.has(relPath)) problems.push(`broken link: ${relPath}`);
    else if (!recorded) problems.push(`added: ${relPath}`);
    else if (!present.has(relPath)) problems.push(`missing: ${relPath}`);
    else {
      const absolute = join(dir, relPath);
      // A size change settles it without reading the file.
      const { size } = await stat(absolute);
      if (size !== recorded.bytes || (await hashFile(absolute)) !== recorded.sha256) problems.push(`changed: ${relPath}`);
    }
  }
  return problems;
}

/**
 * sha256 of the protected files of `commit` (what protectedFiles would find in its checkout), read
 * from the repository without a worktree: the session's reference that every job's checkout must match.
 */
export async function protectedChecksumsAt(repository: string, commit: string, globs: string[]): Promise<Record<string, string>> {
  if (globs.length === 0) return {};
  const matches = picomatch(globs, { dot: true });
  const excluded = new Set(ALWAYS_EXCLUDED_DIRS);
  const paths = (await listFilesAt(repository, commit))
    .filter((path) => matches(path) && !path.split("/").slice(0, -1).some((dir) => excluded.has(dir)));
  if (paths.length === 0) return {};
  const dir = await mkdtemp(join(tmpdir(), "autoresearch-protected-"));
  try {
    await extractCommit(repository, commit, dir, paths);
    return await hashTree(dir, paths);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Files under rootDir matching any glob (posix, relative, dotfiles included), sorted; skips .git, node_modules, .autoresearch and excludeDirs. */
export async function protectedFiles(rootDir: string, globs: string[], excludeDirs: string[] = []): Promise<string[]> {
  if (globs.length === 0) return [];
  const matches = picomatch(globs, { dot: true });
  const excluded = new Set([...ALWAYS_EXCLUDED_DIRS, ...excludeDirs]);
  const found: string[] = [];
  // Synchronous, like statFingerprints: a directory listing is one cheap call (node_modules and .git are skipped).
  const walk = (relDir: string): void => {
    const entries = readdirSync(join(rootDir, relDir), { withFileTypes: true });
    for (const entry of entries) {
      const relPath = relDir === "" ? entry.name : `${relDir}/${entry.name}`;
      if (entry.isDirectory()) {
        // Excludes match a directory's name at any depth, or its exact relative path.
        if (!excluded.has(entry.name) && !excluded.has(relPath)) walk(relPath);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && matches(relPath)) {
        found.push(relPath);
      }
    }
  };
  walk("");
  return found.sort();
}

/** Files (following symlinks) and broken links under dir, as sorted posix relative paths. */
async function walkData(dir: string): Promise<{ files: string[]; broken: string[] }> {
  const files: string[] = [];
  const broken: string[] = [];
  const visited = new Set<string>();
  const walk = async (relDir: string): Promise<void> => {
    const absoluteDir = join(dir, relDir);
    const real = await realpath(absoluteDir);
    if (visited.has(real)) return;
    visited.add(real);
    for (const entry of await readdir(absoluteDir, { withFileTypes: true })) {
      const relPath = relDir === "" ? entry.name : `${relDir}/${entry.name}`;
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const target = await stat(join(dir, relPath));
          isDirectory = target.isDirectory();
          isFile = target.isFile();
        } catch (error) {
          if (!isMissing(error)) throw error;
          broken.push(relPath);
          continue;
        }
      }
      if (isDirectory) await walk(relPath);
      else if (isFile) files.push(relPath);
    }
  };
  await walk("");
  return { files: files.sort(), broken: broken.sort() };
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP";
}
