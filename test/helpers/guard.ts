// Temp project trees for guard tests: write a set of files, remove them when the test ends.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A fresh directory holding `files` (posix relative path -> content), removed after the test. */
export function tempTree(t: { after: (fn: () => void) => void }, files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), "autoresearch-guard-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [relPath, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, relPath)), { recursive: true });
    writeFileSync(join(dir, relPath), content);
  }
  return dir;
}
