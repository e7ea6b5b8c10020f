// A commit's files written into a plain directory, without a worktree: nothing is registered in the
// repository (no lock, nothing to clean up there) and the directory has no .git.
import { execFile } from "node:child_process";
import { assertRevision } from "./exec.ts";

/** Writes `commit`'s files (or only `paths` of it) into `dir`, which must exist. */
export function extractCommit(repository: string, commit: string, dir: string, paths: string[] = []): Promise<void> {
  assertRevision(commit);
  return new Promise((resolve, reject) => {
    let failed = false;
    const fail = (error: Error) => {
      if (!failed) reject(error);
      failed = true;
    };
    const archive = execFile("git", ["-C", repository, "archive", "--format=tar", commit, ...(paths.length > 0 ? ["--", ...paths] : [])], { encoding: "buffer", maxBuffer: 16 * 1024 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (error) fail(new Error(`git archive ${commit} in ${repository} failed: ${stderr.toString().trim() || error.message}`));
    });
    const tar = execFile("tar", ["-x", "-C", dir], (error, _stdout, stderr) => {
      if (error) fail(new Error(`extracting ${commit} into ${dir} failed: ${stderr.trim() || error.message}`));
      else if (!failed) resolve();
    });
    archive.stdout!.pipe(tar.stdin!);
  });
}
