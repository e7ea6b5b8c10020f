// A job's commit fetched from a git remote into a scratch repository, for a machine that does not share the
// project's filesystem (Slurm's executor.gitRemote): exactly the ref the harness pushed, checked to be the
// spec's commit, removed when the job ends.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GitError, initRepo } from "../git/index.ts";
import { fetchRef } from "../git/remote.ts";

/** Why the commit could not be had from the remote, said so that a person knows what to fix. */
export class FetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FetchError";
  }
}

export interface FetchedRepository {
  dir: string;
  release(): void;
}

/** Fetches `ref` from `url` into a new scratch repository and checks that it is `commit`. */
export async function fetchCommit(remote: { url: string; ref: string }, commit: string, experimentId: number): Promise<FetchedRepository> {
  const dir = mkdtempSync(join(tmpdir(), `autoresearch-repo-${experimentId}-`));
  const release = () => rmSync(dir, { recursive: true, force: true });
  try {
    await initRepo(dir);
    let fetched: string;
    try {
      fetched = await fetchRef(dir, remote.url, remote.ref, remote.ref);
    } catch (error) {
      const said = error instanceof GitError ? error.stderr.trim().split("\n").at(-1) ?? error.message : (error as Error).message;
      if (/couldn't find remote ref|not our ref/i.test(said)) {
        throw new FetchError(`the git remote ${remote.url} has no ${remote.ref} (the harness pushes each candidate there before it submits the job: was it pushed to another remote, or deleted?)`);
      }
      throw new FetchError(`could not fetch ${remote.ref} from the git remote ${remote.url}: ${said}`);
    }
    if (fetched !== commit) throw new FetchError(`${remote.ref} on the git remote ${remote.url} is ${fetched.slice(0, 10)}, not the candidate ${commit.slice(0, 10)}`);
    return { dir, release };
  } catch (error) {
    release();
    throw error;
  }
}
