import { execFile } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CONFIG_FILE } from "../config/load.ts";
import { EXIT } from "../errors.ts";
import { listGpus } from "../executors/devices.ts";
import { harnessHome } from "../project/paths.ts";
import { programWarning } from "../project/program.ts";
import { hidingProblem } from "../runner/isolation.ts";
import { runCommand } from "../runner/process.ts";
import { cgroupSupport, interpreterPaths, sandboxProblem } from "../sandbox/index.ts";
import { sharedLedgerOf } from "../share/overview.ts";
import { parse, type Command, type Io } from "./args.ts";
import { checkKubernetes } from "./doctor-kubernetes.ts";
import { checkShare } from "./doctor-share.ts";
import { checkSlurm } from "./doctor-slurm.ts";
import { findProjectDir } from "./project.ts";

const execFileAsync = promisify(execFile);

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  required: boolean;
}

export const doctorCommand: Command = {
  help: `usage: autoresearch doctor [--json] [--executor KIND] [--project DIR]

Checks what the project needs on this machine: Node, git, GPUs (nvidia-smi), the sandbox
(bubblewrap), and where the project's commands use Python, PyTorch outside and inside the sandbox;
with hideFromTrain, that the train phase cannot read the files it names; with the Slurm executor, that
sbatch, squeue, scancel and sinfo work and the partition exists; with the Kubernetes executor, that the
kubeconfig reaches the API server, the namespace lets you create and watch Jobs and read pod logs, and the
git remote answers; in a shared study (ledger.kind "postgres"), that the study's database answers and
accepts this machine, its schema is the version this autoresearch needs, the study is there, and its git
remote has the study's base and takes pushes. Each check prints ok, warn or FAIL with what to do. Exit code 4 when a required check fails.

  --json            the checks as JSON
  --executor KIND   check this executor (local | slurm | kubernetes) instead of the config's
  --project DIR     the project directory (default: the current directory)

example:
  autoresearch doctor`,
  async run(argv: string[], io: Io) {
    const { values } = parse("doctor", argv, { json: { type: "boolean" }, project: { type: "string" }, executor: { type: "string" } });
    const projectDir = findProjectDir(values.project ?? io.cwd);
    const checks = [checkNode(), await checkGit(), await checkGpus()];
    const commands = projectCommands(projectDir);
    // "python train.py", "node run-python.ts train.py" (the gpt template), "uv run train.py", ...
    const usesPython = commands.some((command) => /\bpython|\.py\b/.test(command));
    if (usesPython) checks.push(await checkTorch());
    const sandbox = await checkSandbox();
    checks.push(sandbox);
    if (sandbox.ok && usesPython) checks.push(await checkTorchInSandbox(projectDir));
    if (hidesFromTrain(projectDir)) {
      checks.push(sandbox.ok
        ? { name: "hideFromTrain", required: false, ok: true, detail: "the sandbox leaves the files it names out of the train phase's view" }
        : await checkHiding());
    }
    if (existsSync(join(projectDir, CONFIG_FILE))) checks.push(checkProgram(projectDir));
    const executor = rawConfig(projectDir).executor as { kind?: string; partition?: string; gpusPerJob?: number; gitRemote?: string } | undefined;
    if ((values.executor ?? executor?.kind) === "slurm") checks.push(...(await checkSlurm(executor?.kind === "slurm" ? executor : {}, projectDir)));
    if ((values.executor ?? executor?.kind) === "kubernetes") checks.push(...(await checkKubernetes(executor?.kind === "kubernetes" ? executor : undefined, projectDir)));
    const shared = sharedLedgerOf(rawConfig(projectDir).ledger);
    if (shared) checks.push(...(await checkShare(shared, projectDir)));
    if (values.json) io.stdout(`${JSON.stringify(checks, null, 2)}\n`);
    else {
      for (const check of checks) {
        io.stdout(`${check.ok ? "ok  " : check.required ? "FAIL" : "warn"}  ${check.name}: ${check.detail}\n`);
        if (!check.ok && check.fix) io.stdout(`      ${check.fix}\n`);
      }
    }
    return checks.some((check) => check.required && !check.ok) ? EXIT.environment : EXIT.ok;
  },
};

function checkNode(): Check {
  const [major, minor] = process.versions.node.split(".").map(Number) as [number, number];
  const ok = major > 22 || (major === 22 && minor >= 13);
  let sqlite = true;
  try {
    process.getBuiltinModule("node:sqlite");
  } catch {
    sqlite = false;
  }
  return {
    name: "node", required: true, ok: ok && sqlite,
    detail: `${process.version}${sqlite ? ", node:sqlite available" : ", node:sqlite missing"}${process.features.typescript ? ", runs TypeScript" : ""}`,
    fix: "Install Node 24 LTS (or run `npm install` in the autoresearch repo, which brings it).",
  };
}

async function checkGit(): Promise<Check> {
  try {
    const { stdout } = await execFileAsync("git", ["--version"]);
    return { name: "git", required: true, ok: true, detail: stdout.trim() };
  } catch {
    return { name: "git", required: true, ok: false, detail: "not found", fix: "Install git (e.g. apt-get install git)." };
  }
}

async function checkGpus(): Promise<Check> {
  const gpus = await listGpus();
  return { name: "gpus", required: false, ok: true, detail: gpus.length > 0 ? `${gpus.length} NVIDIA GPU(s)` : "none found (slots run on the CPU)" };
}

/** Finds a Python with PyTorch and numpy, in the order the gpt template's run-python.ts tries them. */
export async function checkTorch(): Promise<Check> {
  const candidates = [process.env.AUTORESEARCH_PYTHON, "python3", "/usr/bin/python3", "python"].filter((value): value is string => Boolean(value));
  const tried: string[] = [];
  for (const python of candidates) {
    try {
      const { stdout } = await execFileAsync(python, ["-c", "import torch,numpy,sys; print(sys.executable, torch.__version__, torch.cuda.is_available())"], { timeout: 60_000 });
      return { name: "pytorch", required: true, ok: true, detail: stdout.trim() };
    } catch {
      tried.push(python);
    }
  }
  return {
    name: "pytorch", required: true, ok: false, detail: `no PyTorch with numpy in ${tried.join(", ")}`,
    fix: "Install PyTorch (pip install torch numpy), or on Debian: apt-get install python3-torch python3-numpy; set AUTORESEARCH_PYTHON to choose the interpreter.",
  };
}

async function checkSandbox(): Promise<Check> {
  const problem = await sandboxProblem();
  const limits = cgroupSupport();
  if (problem) {
    return {
      name: "sandbox", required: false, ok: false, detail: `proposed code cannot be sandboxed here: ${problem}`,
      fix: "Install bubblewrap (apt-get install bubblewrap) and allow user namespaces. Without it, `run` refuses the llm and agent proposers unless you pass --unsandboxed.",
    };
  }
  return {
    name: "sandbox", required: false, ok: true,
    detail: `bubblewrap: own PID, network and user namespaces, read-only files, clean environment; ${limits ? `${limits} limits processes and memory per phase` : "no cgroup to limit a whole phase: per-process limits only"}`,
  };
}

/** The sandbox sees only the interpreters it finds on PATH (and AUTORESEARCH_PYTHON, sandbox.readOnly): try PyTorch in it. */
async function checkTorchInSandbox(projectDir: string): Promise<Check> {
  const python = process.env.AUTORESEARCH_PYTHON ?? "python3";
  const readOnly = [...interpreterPaths({ path: process.env.PATH ?? "", python: process.env.AUTORESEARCH_PYTHON, home: process.env.HOME, excluded: [projectDir, harnessHome()] }), ...configuredReadOnly(projectDir)];
  const found: string[] = [];
  for (const candidate of [python, "/usr/bin/python3"]) {
    const logPath = join(tmpdir(), `autoresearch-doctor-${process.pid}.log`);
    const outcome = await runCommand({
      command: `${candidate} -c "import torch, numpy; print('torch', torch.__version__)"`, cwd: "/", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      logPath, timeoutMs: 60_000, killGraceMs: 1000,
      sandbox: { cwd: "/", readOnly, writable: [], network: false, devices: [], limits: { tmpMb: 64, maxFileMb: 64, maxProcesses: 256 } },
    });
    const output = existsSync(logPath) ? readFileSync(logPath, "utf8").trim() : "";
    rmSync(logPath, { force: true });
    if (outcome.exitCode === 0) return { name: "pytorch in the sandbox", required: false, ok: true, detail: `${candidate}: ${output.split("\n").pop()}` };
    found.push(`${candidate} (${output.split("\n").pop() || `exit ${outcome.exitCode}`})`);
  }
  return {
    name: "pytorch in the sandbox", required: false, ok: false, detail: `no PyTorch inside the sandbox: ${found.join("; ")}`,
    fix: `The sandbox sees system directories and the interpreters on PATH; add the interpreter's installation to "sandbox": {"readOnly": [...]} in ${CONFIG_FILE}, or set AUTORESEARCH_PYTHON.`,
  };
}

function configuredReadOnly(projectDir: string): string[] {
  const sandbox = rawConfig(projectDir).sandbox as { readOnly?: unknown } | undefined;
  return Array.isArray(sandbox?.readOnly) ? sandbox.readOnly.filter((path): path is string => typeof path === "string") : [];
}

async function checkHiding(): Promise<Check> {
  const problem = await hidingProblem();
  return problem === null
    ? { name: "hideFromTrain", required: false, ok: true, detail: "the train phase cannot read the files it names (private mount namespace)" }
    : { name: "hideFromTrain", required: false, ok: false, detail: `training could read the files it names: ${problem}`, fix: "On Linux: install util-linux (unshare) and allow unprivileged user namespaces, or run as root. The held-out score still shows training on validation rows." };
}

/** The project's config as written (doctor checks the machine, not the config: `run` reports config errors). */
function rawConfig(projectDir: string): Record<string, unknown> {
  const path = join(projectDir, CONFIG_FILE);
  if (!existsSync(path)) return {};
  try {
    const config: unknown = JSON.parse(readFileSync(path, "utf8"));
    return typeof config === "object" && config !== null ? (config as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function hidesFromTrain(projectDir: string): boolean {
  const globs = rawConfig(projectDir).hideFromTrain;
  return Array.isArray(globs) && globs.length > 0;
}

function projectCommands(projectDir: string): string[] {
  const config = rawConfig(projectDir) as Record<string, { command?: string } | undefined>;
  return ["prepare", "train", "evaluate", "measure"].map((key) => config[key]?.command ?? "");
}

/** program.md as the project has it now (`run` warns again about the committed one). */
function checkProgram(projectDir: string): Check {
  const configured = rawConfig(projectDir).program;
  const name = typeof configured === "string" ? configured : "program.md";
  const path = join(projectDir, name);
  const problem = programWarning(name, existsSync(path) ? readFileSync(path, "utf8") : null);
  return problem
    ? { name: "program", required: false, ok: false, detail: problem.split(": ")[0]!, fix: `Proposers get no instructions from you: ${problem.split("; ").at(-1)}.` }
    : { name: "program", required: false, ok: true, detail: `${name} gives the proposers their instructions` };
}
