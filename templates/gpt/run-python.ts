// Protected launcher: runs a Python script of this project with the first interpreter that has
// PyTorch and numpy: $AUTORESEARCH_PYTHON, then python3, /usr/bin/python3 (Debian's
// python3-torch), python. Usage: node run-python.ts train.py [args...]
import { spawn, spawnSync } from "node:child_process";

const launchedAt = Date.now();
const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error("usage: node run-python.ts SCRIPT.py [args...]");
  process.exit(2);
}

// find_spec only looks the packages up, so probing costs milliseconds, not an import of torch.
const PROBE = "import importlib.util as u, sys; sys.exit(0 if u.find_spec('torch') and u.find_spec('numpy') else 3)";
const candidates = [process.env.AUTORESEARCH_PYTHON, "python3", "/usr/bin/python3", "python"].filter((value): value is string => Boolean(value));
const tried: string[] = [];
let python: string | undefined;
for (const candidate of candidates) {
  const probe = spawnSync(candidate, ["-c", PROBE], { stdio: "ignore", timeout: 30_000 });
  if (probe.status === 0) {
    python = candidate;
    break;
  }
  tried.push(`${candidate} (${probe.error ? "not found" : "no torch or numpy"})`);
}
if (!python) {
  console.error(
    `run-python: no Python with PyTorch and numpy; tried ${tried.join(", ")}.\n` +
      "Install PyTorch (pip install torch numpy; see pytorch.org for the CUDA build), or on Debian/Ubuntu " +
      "apt-get install python3-torch python3-numpy; set AUTORESEARCH_PYTHON to the interpreter to use. " +
      "`autoresearch doctor` checks this.",
  );
  process.exit(4);
}

// The scorer reaches the model servers through inherited pipes ("W,R W,R" in AUTORESEARCH_MODEL_SERVERS):
// pass exactly those file descriptors on, at the same numbers.
const serverFds = (process.env.AUTORESEARCH_MODEL_SERVERS ?? "").split(/[\s,]+/).filter(Boolean).map(Number)
  .filter((fd) => Number.isInteger(fd) && fd > 2 && fd < 1024);
const stdio: Array<"inherit" | "ignore" | number> = ["inherit", "inherit", "inherit"];
for (let fd = 3; fd <= Math.max(2, ...serverFds); fd++) stdio.push(serverFds.includes(fd) ? fd : "ignore");

// No __pycache__ in the worktree (evaluate.py and serve.py also load their modules from source, never from bytecode).
const child = spawn(python, ["-u", script, ...args], {
  stdio,
  env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1", AUTORESEARCH_LAUNCHED_AT: String(launchedAt) },
});
const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, forward(signal));
child.on("error", (error) => {
  console.error(`run-python: could not start ${python}: ${error.message}`);
  process.exit(4);
});
child.on("exit", (code, signal) => {
  process.exit(code ?? 128 + (signal === "SIGKILL" ? 9 : signal === "SIGINT" ? 2 : 15));
});
