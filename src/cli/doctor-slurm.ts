// `autoresearch doctor`'s checks for the Slurm executor: the tools it calls, accounting, and the partition.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { sinfoPartitions } from "../executors/slurm-cli.ts";
import { runGit } from "../git/index.ts";

const execFileAsync = promisify(execFile);

export interface ExecutorCheck {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  required: boolean;
}

export interface SlurmSettings {
  partition?: string;
  gpusPerJob?: number;
  gitRemote?: string;
}

export async function checkSlurm(settings: SlurmSettings, projectDir: string): Promise<ExecutorCheck[]> {
  const checks: ExecutorCheck[] = [];
  const versions = await Promise.all(["sbatch", "squeue", "scancel", "sinfo"].map(async (tool) => ({ tool, version: await version(tool) })));
  const absent = versions.filter((each) => each.version === null).map((each) => each.tool);
  checks.push({
    name: "slurm tools", required: true, ok: absent.length === 0,
    detail: absent.length === 0 ? `sbatch, squeue, scancel and sinfo (${versions[0]!.version})` : `${absent.join(", ")} not found on PATH`,
    fix: "Run autoresearch on a login node of the cluster (where sbatch works), or load Slurm's module first (module load slurm).",
  });
  if (absent.length > 0) return checks;
  checks.push(await checkAccounting());
  let partitions: Awaited<ReturnType<typeof sinfoPartitions>>;
  try {
    partitions = await sinfoPartitions();
  } catch (error) {
    checks.push({ name: "slurm partition", required: true, ok: false, detail: `sinfo failed: ${(error as Error).message.split("\n")[0]}`, fix: "Check that the cluster's controller answers (sinfo), then run doctor again." });
    return checks;
  }
  const wanted = settings.partition ?? partitions.find((each) => each.isDefault)?.name;
  const partition = partitions.filter((each) => each.name === wanted);
  const names = [...new Set(partitions.map((each) => each.name))].join(", ") || "none";
  if (wanted === undefined || partition.length === 0) {
    checks.push({
      name: "slurm partition", required: true, ok: false,
      detail: wanted === undefined ? `no partition named and the cluster has no default one (partitions: ${names})` : `partition "${wanted}" does not exist (partitions: ${names})`,
      fix: `Set "executor": {"kind": "slurm", "partition": "<one of ${names}>"} in autoresearch.config.json.`,
    });
    return checks;
  }
  const up = partition.some((each) => each.available === "up");
  const nodes = partition.reduce((sum, each) => sum + each.nodes, 0);
  checks.push({
    name: "slurm partition", required: true, ok: up && nodes > 0,
    detail: `${wanted}${settings.partition ? "" : " (the default)"}: ${up ? "up" : partition[0]!.available}, ${nodes} node(s)`,
    fix: `Partition ${wanted} takes no jobs now; pick another in executor.partition or ask the cluster's admins.`,
  });
  if ((settings.gpusPerJob ?? 1) > 0) checks.push(await checkGres(wanted));
  if (settings.gitRemote) checks.push(await checkRemote(settings.gitRemote, projectDir));
  return checks;
}

/** executor.gitRemote: the harness pushes each candidate there and the nodes fetch it, so it must answer from here (and from the nodes). */
async function checkRemote(remote: string, projectDir: string): Promise<ExecutorCheck> {
  try {
    await runGit(projectDir, ["ls-remote", "--heads", "--", remote]);
    return { name: "slurm git remote", required: true, ok: true, detail: `${remote} answers (candidates are pushed there as refs/autoresearch/<tag>/<id> and fetched by the nodes)` };
  } catch (error) {
    return {
      name: "slurm git remote", required: true, ok: false, detail: `${remote}: ${(error as Error).message.split("\n")[0]}`,
      fix: "Check the URL and the credentials here and on the nodes (git ls-remote <url>), or remove executor.gitRemote to use the project's repository on the shared filesystem.",
    };
  }
}

async function version(tool: string): Promise<string | null> {
  return execFileAsync(tool, ["--version"], { timeout: 10_000 }).then(({ stdout }) => stdout.trim(), () => null);
}

async function checkAccounting(): Promise<ExecutorCheck> {
  const name = "slurm accounting";
  try {
    await execFileAsync("sacct", ["--noheader", "--parsable2", "--format=JobID", "--starttime=now-1minute"], { timeout: 15_000 });
    return { name, required: false, ok: true, detail: "sacct answers: a job Slurm's controller has forgotten can still be explained" };
  } catch (error) {
    const said = String((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split("\n")[0];
    return {
      name, required: false, ok: false, detail: `sacct does not answer (${said})`,
      fix: "Without accounting, a job that ends without a result file is explained by squeue only while Slurm remembers it (MinJobAge); the result itself always comes from the job's result file.",
    };
  }
}

async function checkGres(partition: string): Promise<ExecutorCheck> {
  const { stdout } = await execFileAsync("sinfo", ["--noheader", `--partition=${partition}`, "--format=%G"], { timeout: 15_000 }).catch(() => ({ stdout: "" }));
  const gres = stdout.split("\n").map((line) => line.trim()).filter(Boolean);
  const ok = gres.some((each) => /(^|,)gpu[:(]/.test(each));
  return {
    name: "slurm gpus", required: false, ok, detail: ok ? `partition ${partition} offers ${gres.join(", ")}` : `partition ${partition} lists no gpu gres (${gres.join(", ") || "none"})`,
    fix: `Jobs ask for --gres=gpu:N; set executor.gpusPerJob to 0 to run on CPUs, or pick a GPU partition.`,
  };
}
