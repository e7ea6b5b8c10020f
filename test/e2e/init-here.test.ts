// The newcomer's path on code of their own: `init --here` in an existing repository (no hand-written
// config), `run` with the search proposer, `results`, `report`, through real CLI processes, for each of
// the README's measure templates (docs/measure/: a benchmark's runtime, a bundle's size, a test suite's duration).
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CLI, gitIn, makeProject } from "../helpers/project.ts";

const MEASURE_DIR = join(import.meta.dirname, "..", "..", "docs", "measure");
const README = readFileSync(join(import.meta.dirname, "..", "..", "README.md"), "utf8");

function cli(cwd: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", timeout: 300_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A third-party-style repository: the files, committed by someone who is not the harness. */
function makeRepository(t: TestContext, files: Record<string, string>, options: { commit?: boolean } = {}): string {
  const root = mkdtempSync(join(tmpdir(), "autoresearch-init-here-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, "their-library");
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  if (options.commit !== false) {
    gitIn(dir, "init", "-q", "-b", "main");
    gitIn(dir, "add", "-A");
    gitIn(dir, "-c", "user.name=them", "-c", "user.email=them@example.com", "commit", "-qm", "their code");
  }
  return dir;
}

function measureScript(name: string): string {
  const text = readFileSync(join(MEASURE_DIR, name), "utf8");
  assert.ok(README.includes(text.trim()), `README.md shows docs/measure/${name} as it is`);
  return text;
}

const SORT = `// A small sorting library: insertion sort for short runs, merge sort above the threshold.
const INSERTION_THRESHOLD = 2; // @knob min=2 max=64 int

function insertionSort(a, lo, hi) {
  for (let i = lo + 1; i < hi; i++) {
    const v = a[i];
    let j = i - 1;
    while (j >= lo && a[j] > v) { a[j + 1] = a[j]; j--; }
    a[j + 1] = v;
  }
}

function mergeSort(a, tmp, lo, hi) {
  if (hi - lo <= INSERTION_THRESHOLD) return insertionSort(a, lo, hi);
  const mid = (lo + hi) >> 1;
  mergeSort(a, tmp, lo, mid);
  mergeSort(a, tmp, mid, hi);
  let i = lo, j = mid, k = lo;
  while (i < mid && j < hi) tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
  while (i < mid) tmp[k++] = a[i++];
  while (j < hi) tmp[k++] = a[j++];
  for (k = lo; k < hi; k++) a[k] = tmp[k];
}

exports.sort = (values) => { const a = values.slice(); mergeSort(a, new Array(a.length), 0, a.length); return a; };
`;

// The benchmark: sorts fixed inputs and fails if the result is wrong (a fast wrong sort is no improvement).
const BENCH = `const { sort } = require("./src/sort.js");
let seed = 1;
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
for (let round = 0; round < 10; round++) {
  const sorted = sort(Array.from({ length: 5000 }, random));
  for (let i = 1; i < sorted.length; i++) if (sorted[i - 1] > sorted[i]) { console.error("not sorted"); process.exit(1); }
}
`;

test("init --here refuses what it cannot use, before it asks or writes anything, and names what is missing", (t) => {
  const notGit = makeRepository(t, { "a.js": "1\n" }, { commit: false });
  const refused = cli(notGit, "init", "--here", "--measure", "node a.js");
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /is not a git repository/);
  assert.match(refused.stderr, /git init && git add -A && git commit/);
  assert.match(cli(notGit, "init", ".").stderr, /is not a git repository/, "`init .` is `init --here`");

  const dir = makeRepository(t, { "src/sort.js": SORT, "bench.js": BENCH });
  writeFileSync(join(dir, "src/sort.js"), `${SORT}// an edit in progress\n`);
  const dirty = cli(dir, "init", "--here");
  assert.equal(dirty.code, 2);
  assert.match(dirty.stderr, /has uncommitted changes \(src\/sort\.js\)/);
  gitIn(dir, "checkout", "--", "src/sort.js");

  const missing = cli(dir, "init", "--here", "--measure", "node bench.js");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /missing --metric, --direction, --mutable/);
  const wrongGlob = cli(dir, "init", "--here", "--measure", "node bench.js", "--metric", "t", "--direction", "min", "--mutable", "lib/**/*.js");
  assert.equal(wrongGlob.code, 3);
  assert.match(wrongGlob.stderr, /mutable\[0\]: "lib\/\*\*\/\*\.js" matches no committed file/);
  assert.equal(gitIn(dir, "status", "--porcelain"), "", "nothing written");
  assert.equal(gitIn(dir, "branch", "--show-current"), "main");

  const made = cli(dir, "init", "--here", "--measure", "node bench.js", "--metric", "t", "--direction", "min", "--mutable", "src/**/*.js");
  assert.equal(made.code, 0, made.stderr);
  const again = cli(dir, "init", "--here", "--measure", "node bench.js", "--metric", "t", "--direction", "min", "--mutable", "src/**/*.js");
  assert.equal(again.code, 2);
  assert.match(again.stderr, /autoresearch\.config\.json already exists/);
});

test("a benchmark's runtime: init --here --measure, run with the search proposer, results, report", (t) => {
  const dir = makeRepository(t, { "src/sort.js": SORT, "bench.js": BENCH, "measure/time.js": measureScript("time.js"), "package.json": '{ "name": "their-library" }\n' });
  const userBranch = gitIn(dir, "rev-parse", "main");
  const init = cli(dir, "init", "--here", "--measure", "node measure/time.js runtime_ms 3 node bench.js", "--metric", "runtime_ms", "--direction", "min", "--mutable", "src/**/*.js");
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /committed autoresearch\.config\.json, program\.md, \.gitignore on branch autoresearch-setup/);
  assert.match(init.stdout, /named in the command: measure\/time\.js, bench\.js/);
  assert.match(init.stdout, /autoresearch run/);
  assert.equal(gitIn(dir, "branch", "--show-current"), "autoresearch-setup");
  assert.equal(gitIn(dir, "rev-parse", "main"), userBranch, "the user's branch did not move");
  assert.equal(gitIn(dir, "status", "--porcelain"), "");
  const config = JSON.parse(readFileSync(join(dir, "autoresearch.config.json"), "utf8")) as Record<string, unknown>;
  assert.deepEqual(config.protected, ["measure/time.js", "bench.js"]);
  assert.equal(config.train, undefined);
  assert.equal(config.budgetSeconds, undefined);
  assert.match(readFileSync(join(dir, "program.md"), "utf8"), /Make `runtime_ms` lower/);
  assert.match(cli(dir, "doctor").stdout, /^ok +program: program\.md gives the proposers their instructions$/m);

  const run = cli(dir, "run", "--max-experiments", "8");
  assert.equal(run.code, 0, run.stderr + run.stdout);
  assert.match(run.stdout, /measure node measure\/time\.js runtime_ms 3 node bench\.js/);
  assert.match(run.stdout, /INSERTION_THRESHOLD 2 → \d+ \(src\/sort\.js\)/, "the search proposer found the knob");
  assert.doesNotMatch(run.stdout, /budget/);

  const rows = JSON.parse(cli(dir, "results", "--json").stdout) as Array<{ kind: string; status: string; metric: number | null; description: string }>;
  const baselines = rows.filter((row) => row.kind === "baseline");
  assert.equal(baselines.length, 5, "a measure-only study runs the baseline 5 times for its noise");
  for (const row of rows) assert.ok(row.status !== "crash" && row.status !== "no_metric" && row.status !== "rejected", `${row.status}: ${row.description}`);
  assert.ok(baselines.every((row) => typeof row.metric === "number" && row.metric > 0));
  assert.ok(rows.some((row) => row.kind === "candidate" && /INSERTION_THRESHOLD/.test(row.description)));
  assert.match(cli(dir, "results").stdout, /runtime_ms/);

  const report = cli(dir, "report");
  assert.equal(report.code, 0, report.stderr);
  const page = readFileSync(join(dir, ".autoresearch", "report", "index.html"), "utf8");
  assert.match(page, /runtime_ms/);
});

// A bundle: build.js (mutable) concatenates the sources into OUT_DIR, with or without comments.
const BUILD = `const fs = require("fs");
const STRIP_COMMENTS = 0; // @knob choices=0,1
let bundle = "";
for (const file of ["src/a.js", "src/b.js"]) {
  const text = fs.readFileSync(file, "utf8");
  bundle += STRIP_COMMENTS ? text.split("\\n").filter((line) => !line.trim().startsWith("//")).join("\\n") : text;
}
fs.writeFileSync(process.env.OUT_DIR + "/bundle.js", bundle);
`;
const SOURCE = (name: string) => `${Array.from({ length: 40 }, (_, i) => `// ${name} note ${i}: a comment that says something different each time, ${i * 7919 % 1000}`).join("\n")}\nexports.${name} = (x) => x + 1;\n`;

test("a bundle's size: the measure script builds into the output directory and a smaller bundle is kept", (t) => {
  const dir = makeRepository(t, { "build.js": BUILD, "src/a.js": SOURCE("a"), "src/b.js": SOURCE("b"), "measure/size.js": measureScript("size.js") });
  const init = cli(dir, "init", "--here", "--measure", "node measure/size.js bundle_bytes node build.js", "--metric", "bundle_bytes", "--direction", "min", "--mutable", "build.js", "--protected", "src/**");
  assert.equal(init.code, 0, init.stderr);
  const run = cli(dir, "run", "--max-experiments", "7");
  assert.equal(run.code, 0, run.stderr + run.stdout);
  const rows = JSON.parse(cli(dir, "results", "--json").stdout) as Array<{ kind: string; status: string; metric: number | null; description: string; decision: string | null }>;
  const baselines = rows.filter((row) => row.kind === "baseline");
  assert.ok(baselines.length > 0 && baselines.every((row) => row.metric === baselines[0]!.metric && row.metric! > 0), "a size does not vary from run to run");
  const stripped = rows.find((row) => /STRIP_COMMENTS 0 → 1/.test(row.description));
  assert.ok(stripped, run.stdout);
  assert.ok(stripped.metric! < baselines[0]!.metric!, "without comments the bundle is smaller");
  assert.equal(stripped.decision, "keep");
});

// A test suite whose speed depends on a mutable knob; the tests must still pass for a run to count.
const FIB = `const MEMO = 0; // @knob choices=0,1
const memo = new Map();
function fib(n) {
  if (n < 2) return n;
  if (MEMO && memo.has(n)) return memo.get(n);
  const value = fib(n - 1) + fib(n - 2);
  if (MEMO) memo.set(n, value);
  return value;
}
exports.fib = fib;
`;
const FIB_TEST = `const { test } = require("node:test");
const assert = require("node:assert");
const { fib } = require("../src/fib.js");
test("fib", () => { assert.equal(fib(27), 196418); assert.equal(fib(10), 55); });
`;

test("a test suite's duration: timed from outside, and the suite must pass", (t) => {
  const dir = makeRepository(t, { "src/fib.js": FIB, "test/fib.test.js": FIB_TEST, "measure/time.js": measureScript("time.js") });
  const init = cli(dir, "init", "--here", "--measure", "node measure/time.js test_ms 3 node --test test/fib.test.js", "--metric", "test_ms", "--direction", "min", "--mutable", "src/*.js", "--protected", "test/**");
  assert.equal(init.code, 0, init.stderr);
  const run = cli(dir, "run", "--max-experiments", "6");
  assert.equal(run.code, 0, run.stderr + run.stdout);
  const rows = JSON.parse(cli(dir, "results", "--json").stdout) as Array<{ kind: string; status: string; metric: number | null; description: string }>;
  assert.ok(rows.filter((row) => row.kind === "baseline").every((row) => row.status === "ok" && row.metric! > 0));
  const memo = rows.find((row) => /MEMO 0 → 1/.test(row.description));
  assert.ok(memo, run.stdout);
  assert.equal(memo.status, "ok");
  assert.ok(existsSync(join(dir, ".autoresearch")));
});

test("run and doctor warn when program.md is missing or empty", (t) => {
  const dir = makeProject(t, { files: { "program.md": "  \n" } });
  const doctor = cli(dir, "doctor");
  assert.match(doctor.stdout, /^warn +program: program\.md is empty$/m);
  assert.match(doctor.stdout, /write what to try, what to avoid and what the metric means in program\.md, and commit it/);
  const run = cli(dir, "run", "--max-experiments", "1");
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout + run.stderr, /program\.md is empty: proposers get no instructions from you/);
  rmSync(join(dir, "program.md"));
  assert.match(cli(dir, "doctor").stdout, /^warn +program: program\.md is missing$/m);
});

test("in a terminal, init --here asks for what the flags left out", { skip: spawnSync("script", ["--version"]).status !== 0 && "needs script(1) for a pseudo-terminal" }, async (t) => {
  const dir = makeRepository(t, { "src/sort.js": SORT, "bench.js": BENCH });
  // script(1) gives the CLI a pseudo-terminal; each answer is typed once its question is on the screen.
  const command = `'${process.execPath}' '${CLI}' init --here --measure 'node bench.js' --mutable 'src/**/*.js'`;
  const child = spawn("script", ["-qec", command, "/dev/null"], { cwd: dir, stdio: ["pipe", "pipe", "inherit"] });
  const answers: Array<[RegExp, string]> = [[/Metric name/, "ops_per_s\r"], [/Which is better\?/, "\u001b[B\r"]];
  let screen = "";
  child.stdout.on("data", (chunk: Buffer) => {
    screen += chunk.toString();
    const next = answers[0];
    if (next && next[0].test(screen)) {
      answers.shift();
      setTimeout(() => child.stdin.write(next[1]), 50);
    }
  });
  const [code] = (await once(child, "exit")) as [number | null];
  assert.equal(code, 0, screen);
  assert.match(screen, /committed autoresearch\.config\.json/);
  const config = JSON.parse(readFileSync(join(dir, "autoresearch.config.json"), "utf8")) as { metric: unknown };
  assert.deepEqual(config.metric, { name: "ops_per_s", direction: "max" });
});
