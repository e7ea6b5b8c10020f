// The local Slurm cluster the Slurm executor's tests run on (scripts/slurm-local.sh, started by .ci/run).
import { execFileSync } from "node:child_process";

/** Why the Slurm tests cannot run here, or null when a partition answers with a node that takes jobs. */
export function slurmMissing(): string | null {
  try {
    const states = execFileSync("sinfo", ["--noheader", "--format=%T"], { encoding: "utf8", timeout: 15_000 }).split("\n").map((line) => line.trim()).filter(Boolean);
    if (!states.some((state) => ["idle", "mixed", "allocated", "completing"].includes(state))) {
      return `no Slurm node takes jobs (sinfo: ${states.join(", ") || "nothing"}); start one with scripts/slurm-local.sh start`;
    }
    return null;
  } catch (error) {
    return `no Slurm cluster here (${(error as Error).message.split("\n")[0]}); .ci/run starts one with scripts/slurm-local.sh start`;
  }
}

/** squeue's word on the jobs with this name prefix: id -> state. */
export function slurmJobStates(ids: readonly string[]): Map<string, string> {
  if (ids.length === 0) return new Map();
  try {
    const out = execFileSync("squeue", ["--noheader", "--states=all", `--jobs=${ids.join(",")}`, "--format=%i|%T"], { encoding: "utf8" });
    return new Map(out.split("\n").filter(Boolean).map((line) => line.trim().split("|") as [string, string]));
  } catch {
    return new Map();
  }
}
