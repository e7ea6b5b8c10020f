// Which files a proposal may touch. Pure: the caller gathers the changed paths
// (git diff --name-status) and passes the config's globs.
import picomatch from "picomatch";

export interface FileChange {
  /** git's name-status letter(s): M, A, D, T, R100, C75, ... */
  status: string;
  /** Posix path relative to the project root (the new path for renames and copies). */
  path: string;
  /** For renames and copies: the path it came from. */
  oldPath?: string;
}

export interface ScopeRules {
  /** Globs of files proposers may change. */
  mutable: string[];
  /** Globs of files that must never change (evaluator, data preparation). */
  protected: string[];
  /** Always off limits whatever the config says: the config file itself, program.md. */
  alwaysProtected: string[];
}

export type ScopeVerdict = { ok: true } | { ok: false; reason: string; offending: string[] };

/**
 * A change is allowed only if its path (and, for a rename, the path it left) matches a
 * mutable glob and no protected or always-protected glob. A copy only reads its source,
 * so only its destination is checked.
 */
export function checkScope(changes: FileChange[], rules: ScopeRules): ScopeVerdict {
  const match = (globs: string[]) => globs.map((glob) => ({ glob, test: picomatch(glob, { dot: true }) }));
  const mutable = match(rules.mutable);
  const protectedGlobs = match(rules.protected);
  const alwaysProtected = match(rules.alwaysProtected);

  const problems = new Map<string, string>();
  const judgePath = (rawPath: string) => {
    if (problems.has(rawPath)) return;
    const path = rawPath.replace(/^(\.\/)+/, "");
    if (path === "" || path.startsWith("/") || path.split("/").includes("..") || path.includes("\\")) {
      problems.set(rawPath, `${rawPath} is outside the project (paths must be relative, posix, without "..")`);
      return;
    }
    const always = alwaysProtected.find((m) => m.test(path));
    if (always) {
      problems.set(rawPath, `${path} is always protected (matches "${always.glob}")`);
      return;
    }
    const guarded = protectedGlobs.find((m) => m.test(path));
    if (guarded) {
      problems.set(rawPath, `${path} is protected (matches "${guarded.glob}")`);
      return;
    }
    if (!mutable.some((m) => m.test(path))) {
      problems.set(rawPath, `${path} is not mutable (matches none of ${rules.mutable.map((g) => `"${g}"`).join(", ")})`);
    }
  };

  for (const change of changes) {
    judgePath(change.path);
    if (change.oldPath !== undefined && change.status.startsWith("R")) judgePath(change.oldPath);
  }
  if (problems.size === 0) return { ok: true };
  const offending = [...problems.keys()];
  const plural = offending.length === 1 ? "a file it may not" : `${offending.length} files it may not`;
  return { ok: false, offending, reason: `the change touches ${plural}: ${[...problems.values()].join("; ")}` };
}
