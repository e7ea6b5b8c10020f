// `autoresearch job <spec.json>`: runs one experiment job on this machine, as an executor on another
// machine (a cluster node) would have it run; also reruns an experiment by hand from its
// .autoresearch/runs/<id>/job.json.
import { execFile } from "node:child_process";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { EXIT, UsageError, UserError } from "../errors.ts";
import { followLog } from "../job/log-follow.ts";
import { formatResultLine, RESULT_TOKEN_ENV } from "../job/result-line.ts";
import { runJob } from "../job/run.ts";
import { jobSpecSchema, type JobResult, type JobSpec } from "../job/spec.ts";
import { parse, type Command, type Io } from "./args.ts";

export const jobCommand: Command = {
  help: `usage: autoresearch job <spec.json> [--result PATH] [--output DIR] [--log PATH] [--scratch] [--devices-from-env] [--print-result]

Runs one experiment job: checks its commit out, refuses to run anything if the protected files or the
prepared data differ from the spec's checksums, trains under the budget (sandboxed when the spec says
so), evaluates, and writes the result as JSON. Executors run this on the machine where the GPU is;
every experiment's spec is kept as .autoresearch/runs/<id>/job.json, so

  autoresearch job .autoresearch/runs/12/job.json --result /tmp/12.json --output /tmp/12-out --log /tmp/12.log

reruns experiment 12 by hand without touching the session's files.

  --result PATH   where to write the result (default: the spec's resultPath)
  --output DIR    the output directory for the run (default: the spec's outputDir)
  --log PATH      the log to append to (default: the spec's logPath); - copies it to stdout as it grows
  --scratch       check out into a scratch directory, even if the spec names a slot's checkout
  --devices-from-env
                  run on the GPUs this process was given (CUDA_VISIBLE_DEVICES, as a cluster's scheduler sets
                  it), and record this machine's name and those GPUs in the result (what executors on a
                  cluster run)
  --print-result  end the output with the result as one marked line (\`AUTORESEARCH_RESULT <token> <json>\`,
                  the token from $AUTORESEARCH_RESULT_TOKEN): how a Kubernetes pod hands its result back
                  through its log (with --log -)

Exit code 0 when the job produced a result (whatever its status; the result says), 2 for a bad spec.

example:
  autoresearch job .autoresearch/runs/12/job.json --scratch`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse("job", argv, {
      result: { type: "string" }, output: { type: "string" }, log: { type: "string" }, scratch: { type: "boolean" },
      "devices-from-env": { type: "boolean" }, "print-result": { type: "boolean" },
    }, 1);
    const file = positionals[0];
    if (file === undefined) throw new UsageError("job: missing <spec.json>", "Usage: autoresearch job <spec.json> (each experiment's is .autoresearch/runs/<id>/job.json)");
    const spec = readSpec(resolve(io.cwd, file));
    const job: JobSpec = {
      ...spec,
      ...(values.result ? { resultPath: resolve(io.cwd, values.result) } : {}),
      ...(values.output ? { outputDir: resolve(io.cwd, values.output), runDir: resolve(io.cwd, values.output, "..") } : {}),
      ...(values.log && values.log !== "-" ? { logPath: resolve(io.cwd, values.log) } : {}),
      ...(values.scratch ? { workdir: null } : {}),
    };
    const onNode = Boolean(values["devices-from-env"]);
    const visible = onNode ? process.env.CUDA_VISIBLE_DEVICES : undefined;
    const followed = values.log === "-" ? followLog((text) => io.stdout(text)) : null;
    if (followed) job.logPath = followed.path;
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      const result = onNode
        ? await runOnNode({ ...job, env: visible === undefined ? job.env : { ...job.env, CUDA_VISIBLE_DEVICES: visible } }, controller.signal)
        : await runJob(job, { signal: controller.signal });
      followed?.stop(); // the whole log before the lines that follow it
      const metric = result.metric === null ? "" : ` ${job.metric.name} ${result.metric}`;
      io.stdout(`job ${job.experimentId}: ${result.status}${metric}${result.reason ? ` (${result.reason})` : ""}; result in ${job.resultPath}\n`);
      if (values["print-result"]) io.stdout(`${formatResultLine(result, process.env[RESULT_TOKEN_ENV] ?? "")}\n`);
      return EXIT.ok;
    } finally {
      followed?.stop();
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
  },
};

const execFileAsync = promisify(execFile);

/**
 * A job on a cluster's node: the result also says where it ran. It is written to the spec's result path only
 * once complete (the harness takes the first result file it sees), by way of a private file runJob writes.
 */
async function runOnNode(job: JobSpec, signal: AbortSignal): Promise<JobResult> {
  const startedAt = new Date(performance.timeOrigin).toISOString();
  const privatePath = `${job.resultPath}.node-${process.pid}`;
  const result = stoppedFromOutside(await runJob({ ...job, resultPath: privatePath }, { signal }), signal);
  const visible = job.env.CUDA_VISIBLE_DEVICES ?? null;
  const name = (await physicalGpuName(job.device, visible)) ?? result.device.name;
  const located: JobResult = {
    ...result,
    device: { ...result.device, name },
    host: { name: hostname(), visibleDevices: visible, startedAt, finishedAt: new Date().toISOString(), slurmJobId: process.env.SLURM_JOB_ID ?? null },
  };
  const temporary = `${job.resultPath}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(located, null, 2)}\n`);
  renameSync(temporary, job.resultPath);
  rmSync(privatePath, { force: true });
  return located;
}

/**
 * A scheduler stops a job by signalling all of its processes at once (scancel, preemption, a deleted pod): a
 * phase killed by that signal before this process saw it would read as the code's crash, or as a missing metric.
 * The job was stopped from outside, so it is interrupted (and the executor re-queues it once).
 */
function stoppedFromOutside(result: JobResult, signal: AbortSignal): JobResult {
  if (!signal.aborted || !["crash", "timeout", "no_metric"].includes(result.status)) return result;
  return { ...result, status: "interrupted", reason: `stopped by a signal from outside the job while it ran (${result.reason ?? result.status})`, metric: null, heldOut: null };
}

/** The model of the GPU behind "cuda:N" when only some GPUs are visible: nvidia-smi numbers them all, not the visible ones. */
async function physicalGpuName(device: string, visible: string | null): Promise<string | null> {
  const index = /^cuda:(\d+)$/.exec(device)?.[1];
  const physical = index === undefined || !visible ? undefined : visible.split(",")[Number(index)];
  if (physical === undefined || physical === "") return null;
  return execFileAsync("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader", "-i", physical], { timeout: 10_000 }).then(({ stdout }) => stdout.trim() || null, () => null);
}

function readSpec(path: string): JobSpec {
  if (!existsSync(path)) throw new UsageError(`job: ${path} does not exist`, "Give the path of a job spec, e.g. .autoresearch/runs/<id>/job.json.");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UsageError(`job: ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = jobSpecSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 8).map((issue) => `${issue.path.join(".") || "(top level)"}: ${issue.message}`);
    throw new UserError(`job: ${path} is not a job spec:\n  ${problems.join("\n  ")}`, { exitCode: EXIT.usage, hint: "A job spec is written by the harness for every experiment (.autoresearch/runs/<id>/job.json); see src/job/spec.ts." });
  }
  return parsed.data;
}
