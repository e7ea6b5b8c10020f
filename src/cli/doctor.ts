import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { CONFIG_FILE } from "../config/load.ts";
import { EXIT } from "../errors.ts";
import { listGpus } from "../executors/devices.ts";
import { hidingProblem } from "../runner/isolation.ts";
import { parse, type Io } from "./args.ts";
import type { Command } from "./commands.ts";
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
  summary: "check Node, git, and (where the project needs them) Python and PyTorch",
  help: `usage: autoresearch doctor [--json] [--project DIR]`,
  async run(argv: string[], io: Io) {
    const { values } = parse("doctor", argv, { json: { type: "boolean" }, project: { type: "string" } });
    const projectDir = findProjectDir(values.project ?? io.cwd);
    const checks = [checkNode(), await checkGit(), await checkGpus()];
    const commands = projectCommands(projectDir);
    // "python train.py", "node run-python.ts train.py" (the gpt template), "uv run train.py", ...
    if (commands.some((command) => /\bpython|\.py\b/.test(command))) checks.push(await checkTorch());
    if (hidesFromTrain(projectDir)) checks.push(await checkHiding());
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
  return ["prepare", "train", "evaluate"].map((key) => config[key]?.command ?? "");
}
