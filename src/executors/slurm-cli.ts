// Slurm's command-line tools as thin verbs (execFile, no shell). Only columns we ask for by name are
// parsed (squeue --format, sacct --format with --parsable2), never --json: its shape drifts between
// versions (22.05's squeue --json ignores filters; job_state becomes an array in 23.11).
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** What Slurm says of one job. `state` is squeue's %T (RUNNING, PENDING, COMPLETED, OUT_OF_MEMORY, ...). */
export interface SlurmJobState {
  id: string;
  state: string;
  reason: string;
  node: string | null;
}

/** Job states after which nothing more happens to the job. */
const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT"]);

export function isTerminal(state: string): boolean {
  return TERMINAL.has(state);
}

/** The environment the Slurm tools run with (sbatch passes it on to the job): the basics, none of the harness's secrets. */
export function slurmToolEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const keep = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR"];
  return Object.fromEntries(Object.entries(env).filter(([name, value]) => value !== undefined && (keep.includes(name) || name.startsWith("SLURM_"))) as [string, string][]);
}

async function tool(command: string, args: string[], timeoutMs = 30_000): Promise<string> {
  const { stdout } = await execFileAsync(command, args, { env: slurmToolEnvironment(), timeout: timeoutMs, maxBuffer: 16 << 20 });
  return stdout;
}

/** Submits a batch script; returns the job id (`sbatch --parsable` prints "id" or "id;cluster"). */
export async function sbatch(scriptPath: string, cwd: string): Promise<string> {
  const { stdout } = await execFileAsync("sbatch", ["--parsable", scriptPath], { cwd, env: slurmToolEnvironment(), timeout: 60_000 });
  const id = stdout.trim().split(";")[0]!;
  if (!/^\d+$/.test(id)) throw new Error(`sbatch printed no job id: ${JSON.stringify(stdout.trim())}`);
  return id;
}

const SQUEUE_FORMAT = "%i|%T|%r|%N|%j";

function parseSqueue(stdout: string): SlurmJobState[] {
  return stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [id = "", state = "", reason = "", node = ""] = line.trim().split("|");
      return { id, state, reason, node: node === "" || node === "(null)" ? null : node };
    });
}

/**
 * The jobs Slurm still remembers among `ids` (a finished job stays MinJobAge seconds). A job it no longer
 * knows is simply absent; squeue fails outright only when every id is unknown, which is read the same way.
 */
export async function squeueJobs(ids: readonly string[]): Promise<Map<string, SlurmJobState>> {
  if (ids.length === 0) return new Map();
  try {
    const stdout = await tool("squeue", ["--noheader", "--states=all", `--jobs=${ids.join(",")}`, `--format=${SQUEUE_FORMAT}`]);
    return new Map(parseSqueue(stdout).map((job) => [job.id, job]));
  } catch (error) {
    if (/Invalid job id/i.test(String((error as { stderr?: string }).stderr ?? ""))) return new Map();
    throw error;
  }
}

/** The jobs with this exact name (the newest last): how a job submitted just before a kill -9 is found. */
export async function squeueByName(name: string): Promise<SlurmJobState[]> {
  const stdout = await tool("squeue", ["--noheader", "--states=all", `--name=${name}`, `--format=${SQUEUE_FORMAT}`]);
  return parseSqueue(stdout).sort((a, b) => Number(a.id) - Number(b.id));
}

/**
 * What accounting says of a job Slurm's controller has forgotten, or null without accounting (no slurmdbd:
 * "Slurm accounting storage is disabled") or when it does not know the job either.
 */
export async function sacctJob(id: string): Promise<SlurmJobState | null> {
  try {
    const stdout = await tool("sacct", ["--noheader", "--parsable2", "--allocations", `--jobs=${id}`, "--format=JobID,State,NodeList"]);
    const line = stdout.split("\n").find((each) => each.startsWith(`${id}|`));
    if (!line) return null;
    const [, state = "", node = ""] = line.split("|");
    // sacct writes "CANCELLED by 0" where squeue writes CANCELLED.
    return { id, state: state.split(" ")[0]!, reason: state, node: node === "" || node === "None assigned" ? null : node };
  } catch {
    return null;
  }
}

/** Sends `signal` to every process of the job, batch script included; without a signal, Slurm's own cancel (TERM, KillWait, KILL). */
export async function scancel(id: string, signal?: "TERM" | "KILL"): Promise<void> {
  await tool("scancel", signal ? ["--full", `--signal=${signal}`, id] : [id]);
}

/** The partitions sinfo lists (the default one has a trailing "*", removed here), with their state. */
export async function sinfoPartitions(): Promise<{ name: string; isDefault: boolean; available: string; nodes: number }[]> {
  const stdout = await tool("sinfo", ["--noheader", "--format=%P|%a|%D"], 15_000);
  return stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [partition = "", available = "", nodes = "0"] = line.trim().split("|");
      return { name: partition.replace(/\*$/, ""), isDefault: partition.endsWith("*"), available, nodes: Number(nodes) };
    });
}
