// The GPT template in tests: finding a Python with PyTorch, copies of the template with a tiny
// CPU configuration, and running its scripts through the template's own launcher.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, type ScriptResult } from "./ts-demo.ts";

export const GPT_TEMPLATE = join(REPO_ROOT, "templates", "gpt");

/** The interpreter run-python.ts would pick, or null with the reason (tests then skip, saying so). */
export function torchPython(): { python: string | null; reason: string } {
  const candidates = [process.env.AUTORESEARCH_PYTHON, "python3", "/usr/bin/python3", "python"].filter((value): value is string => Boolean(value));
  for (const python of candidates) {
    const probe = spawnSync(python, ["-c", "import torch, numpy"], { stdio: "ignore", timeout: 120_000 });
    if (probe.status === 0) return { python, reason: "" };
  }
  return { python: null, reason: `no Python with PyTorch and numpy among ${candidates.join(", ")} (on Debian: apt-get install python3-torch python3-numpy)` };
}

export interface TorchLeg {
  /** "torch 1.x" or "torch 2.x": the PyTorch generations the template supports. */
  name: string;
  python: string | null;
  version: string | null;
  reason: string;
}

/**
 * One interpreter per PyTorch generation, so the template's tests run on both where both exist:
 * 1.x (Debian's python3-torch: no SDPA, no rms_norm, no compile) and 2.x (what pip installs;
 * `.ci/run` makes one from a local wheel where the machine has one). AUTORESEARCH_TORCH2_PYTHON
 * names a 2.x interpreter. A generation with no interpreter comes back with python null and why.
 */
export function torchLegs(): TorchLeg[] {
  const candidates = [process.env.AUTORESEARCH_TORCH2_PYTHON, process.env.AUTORESEARCH_PYTHON, "python3", "/usr/bin/python3", "python"]
    .filter((value): value is string => Boolean(value));
  const found = new Map<string, { python: string; version: string }>();
  for (const python of candidates) {
    const probe = spawnSync(python, ["-c", "import numpy, torch; print(torch.__version__)"], { encoding: "utf8", timeout: 120_000 });
    const version = probe.status === 0 ? probe.stdout.trim() : "";
    const major = version.split(".")[0];
    if (major && !found.has(major)) found.set(major, { python, version });
  }
  const tried = candidates.join(", ");
  return [
    { name: "torch 1.x", ...leg(found.get("1"), `no Python with PyTorch 1.x and numpy among ${tried} (on Debian: apt-get install python3-torch python3-numpy)`) },
    { name: "torch 2.x", ...leg(found.get("2"), `no Python with PyTorch 2.x and numpy among ${tried} (pip install torch numpy into a venv and set AUTORESEARCH_TORCH2_PYTHON; .ci/run does this where /opt/wheels holds a torch wheel)`) },
  ];
}

function leg(hit: { python: string; version: string } | undefined, reason: string): Omit<TorchLeg, "name"> {
  return hit ? { python: hit.python, version: hit.version, reason: "" } : { python: null, version: null, reason };
}

/**
 * A small CPU profile for tests: the Brown corpus with a 512-token BPE, context 64, depth 2,
 * width 64, 512 tokens per step, and a few thousand evaluation tokens. Small enough to learn
 * in seconds even where PyTorch multiplies in float32 with the reference BLAS. Replaces the
 * template's profiles.
 */
export function tinyConstants(): Record<string, unknown> {
  const constants = JSON.parse(readFileSync(join(GPT_TEMPLATE, "constants.json"), "utf8")) as Record<string, unknown>;
  return {
    ...constants,
    profile: "cpu",
    profiles: {
      cpu: {
        tokenizer: { type: "bpe", vocab_size: 512 },
        context: 64,
        budget_seconds: 60,
        eval: { val_tokens: 4096, test_tokens: 4096, batch_rows: 32, causality_share: 0.5 },
        train: { depth: 2, aspect_ratio: 32, head_dim: 32, window_pattern: "L", total_batch_tokens: 512, device_batch_rows: 8 },
      },
    },
  };
}

/** Copies the template into `dir` (as `autoresearch init` does), optionally with other constants. */
export function copyGptTemplate(dir: string, constants?: Record<string, unknown>): void {
  cpSync(GPT_TEMPLATE, dir, { recursive: true });
  if (constants) writeFileSync(join(dir, "constants.json"), `${JSON.stringify(constants, null, 2)}\n`);
}

// The gpt tests run the template's scripts the same way as the ts-demo tests.
export { runNode } from "./ts-demo.ts";

export interface GptEvaluation {
  evaluation: ScriptResult;
  servers: ScriptResult[];
  metrics: Record<string, unknown> | null;
}

/**
 * Evaluates as the harness does, without its sandbox: one model server per entry of `servers`
 * (default two of `node run-python.ts serve.py`; a test passes others, e.g. a fake server), each
 * with only the output directory (no data directory), then the scorer holding their stdin and
 * stdout as file descriptors 3, 4, 5, 6, ... (AUTORESEARCH_MODEL_SERVERS). The servers see end of
 * file when the scorer exits.
 */
export async function evaluateWithServers(
  dir: string,
  env: { dataDir: string; outputDir: string; metricsFile: string; python?: string; device?: string },
  servers: string[][] = [["run-python.ts", "serve.py"], ["run-python.ts", "serve.py"]],
  timeoutMs = 300_000,
): Promise<GptEvaluation> {
  const device = env.device ?? "cpu";
  const common = {
    PATH: process.env.PATH ?? "/usr/bin:/bin", AUTORESEARCH_OUTPUT_DIR: env.outputDir, ...(env.python ? { AUTORESEARCH_PYTHON: env.python } : {}),
    // As the harness pins a slot: the device, and on a GPU only its own.
    AUTORESEARCH_DEVICE: device.startsWith("cuda:") ? "cuda:0" : "cpu", CUDA_VISIBLE_DEVICES: device.startsWith("cuda:") ? device.slice(5) : "",
  };
  const children = servers.map((args, replica) =>
    spawn(process.execPath, args, { cwd: dir, env: { ...common, AUTORESEARCH_PHASE: "serve", AUTORESEARCH_REPLICA: String(replica) }, stdio: ["pipe", "pipe", "pipe"] }));
  const scorer = spawn(process.execPath, ["run-python.ts", "evaluate.py"], {
    cwd: dir,
    env: {
      ...common, AUTORESEARCH_HOME: REPO_ROOT, AUTORESEARCH_PHASE: "evaluate", AUTORESEARCH_DATA_DIR: env.dataDir, AUTORESEARCH_METRICS_FILE: env.metricsFile,
      AUTORESEARCH_MODEL_SERVERS: children.map((_, replica) => `${3 + 2 * replica},${4 + 2 * replica}`).join(" "),
    },
    stdio: ["ignore", "pipe", "pipe", ...children.flatMap((child) => [child.stdin!, child.stdout!])],
  });
  // In the tick of the spawn, before this process reads a byte of them: only the scorer holds the pipes now.
  for (const child of children) {
    child.stdin!.destroy();
    child.stdout!.destroy();
  }
  const deadline = setTimeout(() => [scorer, ...children].forEach((child) => child.kill("SIGKILL")), timeoutMs);
  const results = [scorer, ...children].map(finished);
  const evaluation = await results[0]!;
  // As the harness does: once the scorer is done, servers that have not seen end of file are killed.
  const reaper = setTimeout(() => children.forEach((child) => child.kill("SIGKILL")), 10_000);
  const serverResults = await Promise.all(results.slice(1));
  clearTimeout(reaper);
  clearTimeout(deadline);
  return { evaluation, servers: serverResults, metrics: readMetrics(env.metricsFile) };
}

function finished(child: ChildProcess): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    if (!child.stdout!.destroyed) child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Reads the metrics JSON an evaluation wrote, or null. */
export function readMetrics(path: string): Record<string, unknown> | null {
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>) : null;
}

/** Edits for train.py that each plant one way of cheating (shared by the direct and the session tests). */
export const CHEATS = {
  /** Prints a score, like the original's train.py did. */
  fakeScore: { search: 'print("\\n---")', replace: 'print("\\nval_bpb:          0.000100")\n    print("\\n---")' },
  /** After training, in the training process, replaces what the evaluator uses. */
  patchDuringTraining: {
    search: '    print("\\n---")',
    replace: '    gpt_data.verify_manifest = lambda *a: []\n    torch.log_softmax = lambda x, dim: torch.zeros_like(x)\n    print("\\n---")',
  },
  /** At import time, so inside the evaluator's process. */
  patchAtImport: { search: "HAS_SDPA = ", replace: "torch.log_softmax = lambda x, dim=-1: torch.zeros_like(x)\nHAS_SDPA = " },
  /** Reads the validation rows during training (to train on them); prints how many bytes it got. */
  readValidation: {
    search: '    print("\\n---")',
    replace: '    try:\n        with open(os.path.join(env.data_dir, "cpu", "val.bin"), "rb") as handle:\n            visible = len(handle.read())\n    except OSError:\n        visible = 0\n    print(f"\\nvalidation bytes visible to training: {visible}")\n    print("\\n---")',
  },
  /** Lets every position see the next token: trains to a near-perfect loss by copying it. */
  leakFuture: { search: "        x = rms_norm(self.wte(idx))\n", replace: "        x = rms_norm(self.wte(idx) + self.wte(torch.roll(idx, -1, dims=1)))\n" },
  /**
   * Puts +20 on the next token's logit (a near-zero loss without training), except in batches of
   * fewer than 16 rows: the evaluator that ran the model in-process checked causality in one batch
   * of 2 x causality_rows (8 in the tests) and scored in batches of 32.
   */
  peekUnlessSmallBatch: {
    search: "    return GPT(GPTConfig(**args))\n",
    replace: [
      "    class Peek(GPT):",
      "        def forward(self, idx):",
      "            logits = super().forward(idx)",
      "            if idx.size(0) < 16:",
      "                return logits",
      "            return logits + 20 * F.one_hot(torch.roll(idx, -1, dims=1), logits.size(-1)).to(logits.dtype)",
      "    return Peek(GPTConfig(**args))",
      "",
    ].join("\n"),
  },
  /**
   * Peeks at the next token like peekUnlessSmallBatch, and answers a row that shares a prefix with
   * a row it answered before (in this batch or an earlier one) with that row's logits over the
   * shared prefix: a row and its altered copy agree before the cut whenever both reach it.
   */
  peekWithPrefixCache: {
    search: "    return GPT(GPTConfig(**args))\n",
    replace: [
      "    answered = []",
      "    class Remember(GPT):",
      "        def forward(self, idx):",
      "            logits = super().forward(idx)",
      "            logits = logits + 20 * F.one_hot(torch.roll(idx, -1, dims=1), logits.size(-1)).to(logits.dtype)",
      "            for row in range(idx.size(0)):",
      "                best, source = 0, None",
      "                for tokens, earlier in answered:",
      "                    shared = int((tokens == idx[row]).int().cumprod(0).sum())",
      "                    if shared > best:",
      "                        best, source = shared, earlier",
      "                if source is not None:",
      "                    logits[row, :best] = source[:best]",
      "                answered.append((idx[row].clone(), logits[row].clone()))",
      "            return logits",
      "    return Remember(GPTConfig(**args))",
      "",
    ].join("\n"),
  },
} satisfies Record<string, { search: string; replace: string }>;

/** train.py with one planted edit (the search text must occur exactly once). */
export function trainWith(edit: { search: string; replace: string }): string {
  const source = readFileSync(join(GPT_TEMPLATE, "train.py"), "utf8");
  if (source.split(edit.search).length !== 2) throw new Error(`the planted edit's search text occurs ${source.split(edit.search).length - 1} times in train.py`);
  return source.replace(edit.search, edit.replace);
}
