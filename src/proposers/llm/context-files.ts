// The read-only context files the config names (`context` globs), as they are in the best commit —
// the code under study, not whatever the working copy holds right now.
import picomatch from "picomatch";
import * as git from "../../git/index.ts";

const MAX_FILES = 20;

export class ContextFileReader {
  #projectDir: string;
  #cache = new Map<string, Record<string, string>>();

  constructor(projectDir: string) {
    this.#projectDir = projectDir;
  }

  /** Files matching `globs` at `commit`, minus the mutable ones (they are shown anyway). */
  async read(commit: string, globs: string[] | undefined, mutable: Record<string, string>): Promise<Record<string, string>> {
    if (!globs || globs.length === 0) return {};
    const key = `${commit}\0${globs.join("\0")}`;
    const cached = this.#cache.get(key);
    if (cached) return cached;
    const isContext = picomatch(globs, { dot: true });
    const files: Record<string, string> = {};
    const paths = (await git.listFilesAt(this.#projectDir, commit)).filter((path) => isContext(path) && !(path in mutable)).slice(0, MAX_FILES);
    for (const path of paths) {
      const content = await git.readFileAt(this.#projectDir, commit, path);
      // Binary files would only waste the context.
      if (content !== null && !content.includes("\0")) files[path] = content;
    }
    this.#cache.set(key, files);
    return files;
  }
}
