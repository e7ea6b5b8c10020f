// The command table: `--help` lists every command without loading them, each command's module
// loads on demand, and the quick commands load no package (start-up figures: bench/cli-startup.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMMANDS } from "../src/cli/commands.ts";
import { flagsFromHelp } from "../src/cli/completion.ts";
import { colourWanted, main } from "../src/cli/main.ts";
import type { Io } from "../src/cli/args.ts";
import { Ledger } from "../src/ledger/sqlite.ts";
import { sampleExperiment, sampleSession } from "./helpers/ledger.ts";

const CLI = join(import.meta.dirname, "..", "bin", "autoresearch.js");
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function captureIo(): Io & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (text: string) => void (io.out += text),
    stderr: (text: string) => void (io.err += text),
    isTTY: false,
    columns: 100,
    cwd: tmpdir(),
  };
  return io;
}

test("--help lists every command with its summary; no command prints the usage and exits 2", async () => {
  const help = captureIo();
  assert.equal(await main(["--help"], help), 0);
  for (const [name, entry] of Object.entries(COMMANDS)) assert.match(help.out, new RegExp(`^  ${name} +${escape(entry.summary)}$`, "m"));
  const none = captureIo();
  assert.equal(await main([], none), 2);
  assert.equal(none.out, help.out);
});

test("an unknown command, even a name every object has, is refused with exit 2 and the list", async () => {
  for (const name of ["frobnicate", "toString", "constructor"]) {
    const io = captureIo();
    assert.equal(await main([name], io), 2, name);
    assert.match(io.err, new RegExp(`unknown command "${name}"\\n[^]*  status +where a session stands`));
  }
});

test("every command loads on demand and prints its own help", async () => {
  for (const [name, entry] of Object.entries(COMMANDS)) {
    const command = await entry.load();
    assert.equal(typeof command.run, "function", name);
    const io = captureIo();
    assert.equal(await main([name, "--help"], io), 0, name);
    assert.equal(io.out, `${command.help}\n`);
    assert.match(io.out, new RegExp(`^usage: autoresearch ${name}\\b`), name);
  }
});

test("--version, status, results and show load only their own command module and no package", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "autoresearch-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Logs every module the process loads, before our code runs.
  const hook = `data:text/javascript,${encodeURIComponent(
    'import{registerHooks}from"node:module";import{writeSync}from"node:fs";registerHooks({load(url,context,next){writeSync(2,"LOADED "+url+"\\n");return next(url,context)}});',
  )}`;
  const cases: { args: string[]; code: number; module: string | null }[] = [
    { args: ["--version"], code: 0, module: null },
    { args: ["status"], code: 3, module: "status.ts" },
    { args: ["results"], code: 3, module: "results.ts" },
    { args: ["show", "1"], code: 3, module: "show.ts" },
  ];
  for (const { args, code, module } of cases) {
    const result = spawnSync(process.execPath, ["--import", hook, CLI, ...args], { cwd: dir, encoding: "utf8", timeout: 60_000 });
    assert.equal(result.status, code, result.stderr);
    const loaded = result.stderr.split("\n").filter((line) => line.startsWith("LOADED file:")).map((line) => line.slice("LOADED ".length));
    assert.ok(loaded.some((url) => url.endsWith("/src/cli/main.ts")), "the hook saw the CLI load");
    assert.deepEqual(loaded.filter((url) => url.includes("/node_modules/")), [], `${args[0]} loads no package`);
    const commandModules = loaded.filter((url) => /\/src\/cli\/[^/]+\.ts$/.test(url)).map((url) => url.slice(url.lastIndexOf("/") + 1)).sort();
    const expected = ["commands.ts", "main.ts", "suggest.ts", ...(module ? [module, "args.ts", "project.ts"] : [])].sort();
    assert.deepEqual(commandModules, expected, args.join(" "));
  }
});

test("-V, --version and version print the package's version", async () => {
  for (const flag of ["-V", "--version", "version"]) {
    const io = captureIo();
    assert.equal(await main([flag], io), 0, flag);
    assert.match(io.out, /^\d+\.\d+\.\d+\n$/, flag);
  }
});

test("a mistyped command or flag gets a 'did you mean'; an unknown one gets our own text with the command's flags", async () => {
  const command = captureIo();
  assert.equal(await main(["stauts"], command), 2);
  assert.match(command.err, /^autoresearch: unknown command "stauts"; did you mean "status"\?\n/);
  const far = captureIo();
  assert.equal(await main(["frobnicate"], far), 2);
  assert.doesNotMatch(far.err, /did you mean/);

  const flag = captureIo();
  assert.equal(await main(["status", "--jsno"], flag), 2);
  assert.equal(flag.err, "autoresearch status: unknown flag --jsno; did you mean --json?\nstatus: its flags are --tag, --json, --project. See `autoresearch status --help`.\n");
  const prefix = captureIo();
  assert.equal(await main(["run", "--dash"], prefix), 2);
  assert.match(prefix.err, /unknown flag --dash; did you mean --dashboard\?/);
  const short = captureIo();
  assert.equal(await main(["results", "-x"], short), 2);
  assert.match(short.err, /^autoresearch results: unknown flag -x\n/);
  const value = captureIo();
  assert.equal(await main(["status", "--tag"], value), 2);
  assert.match(value.err, /^autoresearch status: --tag needs a value, e\.g\. --tag VALUE\n/);
  for (const io of [flag, short, value]) assert.doesNotMatch(io.err, /To specify a positional argument|'--/, "not parseArgs' own text");
});

test("show with an id that is not a number names the <id> argument once, not a --id flag", async () => {
  const io = captureIo();
  assert.equal(await main(["show", "abc"], io), 2);
  assert.equal(io.err, 'autoresearch show: <id> must be a positive whole number, got "abc"\nUsage: autoresearch show <id> (the ids are in `autoresearch results`)\n');
});

test("every command's --help says what it does, lists its flags and gives an example", async () => {
  for (const [name, entry] of Object.entries(COMMANDS)) {
    const { help } = await entry.load();
    assert.ok(help.split("\n").length >= 5, `${name} --help is more than a usage line`);
    assert.match(help, new RegExp(`\\nexamples?( \\([^)]*\\))?:\\n  (autoresearch ${name}|claude)`), `${name} --help has an example`);
    const usageFlags = [...help.split("\n")[0]!.matchAll(/--([a-z][a-z-]*)/g)].map((match) => match[1]);
    const listed = flagsFromHelp(help).map((flag) => flag.name);
    for (const usageFlag of usageFlags) assert.ok(listed.includes(usageFlag!), `${name} --help explains --${usageFlag}`);
  }
});

test("colour follows NO_COLOR, FORCE_COLOR and the terminal, as Node's util.styleText decides; --no-color is taken by every command", async () => {
  assert.equal(colourWanted({ TERM: "xterm-256color" }, true), true);
  assert.equal(colourWanted({ TERM: "xterm-256color" }, false), false, "a pipe gets no colour");
  assert.equal(colourWanted({ TERM: "xterm-256color", NO_COLOR: "1" }, true), false);
  assert.equal(colourWanted({ TERM: "dumb" }, true), false);
  assert.equal(colourWanted({ FORCE_COLOR: "1" }, false), true, "FORCE_COLOR colours a pipe too");
  assert.equal(colourWanted({ TERM: "xterm-256color", FORCE_COLOR: "0" }, true), false);
  const io = captureIo();
  assert.equal(await main(["status", "--no-color", "--jsno"], io), 2);
  assert.match(io.err, /unknown flag --jsno/, "--no-color itself is not an unknown flag");
  const first = captureIo();
  assert.equal(await main(["--no-color", "--version"], first), 0);
});

test("status in a directory with no config says to init, not to run", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "autoresearch-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bare = captureIo();
  assert.equal(await main(["status", "--project", dir], bare), 3);
  assert.match(bare.err, /no research sessions in .* yet\nThere is no autoresearch\.config\.json here either: make this repository a project with `autoresearch init --here`/);
  assert.doesNotMatch(bare.err, /Start one with `autoresearch run`/);
  writeFileSync(join(dir, "autoresearch.config.json"), "{}\n");
  const configured = captureIo();
  assert.equal(await main(["status", "--project", dir], configured), 3);
  assert.match(configured.err, /Start one with `autoresearch run`/);
});

test("results in a terminal that reports 0 columns keeps the descriptions, and every column has a header", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "autoresearch-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = Ledger.open(join(dir, ".autoresearch"));
  try {
    ledger.createSession(sampleSession("mar1"));
    const id = ledger.startExperiment(sampleExperiment("mar1", { description: "a description long enough to be cut at sixty columns, all of it kept" }));
    ledger.finishExperiment(id, { status: "ok", decision: "keep", metric: 0.5, delta: -0.1 });
  } finally {
    ledger.close();
  }
  writeFileSync(join(dir, "autoresearch.config.json"), "{}\n");
  const io = Object.assign(captureIo(), { isTTY: true, columns: 0 });
  assert.equal(await main(["results", "--project", dir], io), 0);
  const [header, row] = io.out.split("\n");
  assert.match(row!, /all of it kept$/);
  // Without a held-out metric there is no held-out column: each value sits under a header.
  assert.deepEqual(header!.trim().split(/\s+/), ["id", "status", "val_bpb", "delta", "time", "description"]);
  assert.deepEqual(row!.trim().split(/\s+/).slice(0, 4), [String(1), "keep", "0.500000", "-0.1000"]);
  const narrow = Object.assign(captureIo(), { isTTY: true, columns: 70 });
  assert.equal(await main(["results", "--project", dir], narrow), 0);
  assert.match(narrow.out.split("\n")[1]!, /…$/, "a known width still cuts");
});

test("completion: bash loads the script (complete -p) and completes commands, flags and values in a real bash", (t) => {
  const generated = spawnSync(process.execPath, [CLI, "completion", "bash"], { encoding: "utf8", timeout: 60_000 });
  assert.equal(generated.status, 0, generated.stderr);
  const dir = mkdtempSync(join(tmpdir(), "autoresearch-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, "autoresearch.bash");
  writeFileSync(script, generated.stdout);
  const driver = `
    source ${JSON.stringify(script)}
    complete -p autoresearch
    reply() { COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _autoresearch_completion; echo "\${COMPREPLY[*]}"; }
    reply autoresearch sta
    reply autoresearch run --max
    reply autoresearch --no-color results --t
    reply autoresearch run --proposer l
    reply autoresearch completion ""
    reply autoresearch help sho
    reply autoresearch run --project ${JSON.stringify(dir + "/")}
  `;
  const result = spawnSync("bash", ["--norc", "--noprofile", "-c", driver], { encoding: "utf8", timeout: 60_000 });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(result.stdout.split("\n").slice(0, 8), [
    "complete -o default -F _autoresearch_completion autoresearch",
    "status",
    "--max-experiments --max-hours",
    "--tag --tsv",
    "llm",
    "bash zsh fish",
    "show",
    "", // --project completes directories only; the temp dir holds just the script
  ]);
});

test("completion: zsh and fish scripts parse in their shells (where installed) and name every command", (t) => {
  for (const shell of ["zsh", "fish"]) {
    const generated = spawnSync(process.execPath, [CLI, "completion", shell], { encoding: "utf8", timeout: 60_000 });
    assert.equal(generated.status, 0, generated.stderr);
    for (const name of Object.keys(COMMANDS)) assert.match(generated.stdout, new RegExp(shell === "zsh" ? `'${name}:` : `-a ${name} `), `${shell}: ${name}`);
    if (spawnSync("which", [shell]).status !== 0) {
      t.diagnostic(`${shell} is not installed: its script's syntax is not checked here`);
      continue;
    }
    const dir = mkdtempSync(join(tmpdir(), "autoresearch-cli-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const script = join(dir, `autoresearch.${shell}`);
    writeFileSync(script, generated.stdout);
    const checked = spawnSync(shell, ["-n", script], { encoding: "utf8", timeout: 60_000 });
    assert.equal(checked.status, 0, `${shell} -n: ${checked.stderr}`);
    if (shell === "fish") {
      const completed = spawnSync("fish", ["--no-config", "-c", `source ${script}; complete -C "autoresearch run --max"`], { encoding: "utf8", timeout: 60_000 });
      assert.deepEqual(completed.stdout.split("\n").filter(Boolean).map((line) => line.split("\t")[0]), ["--max-experiments", "--max-hours"]);
    }
  }
  const unknown = spawnSync(process.execPath, [CLI, "completion", "tcsh"], { encoding: "utf8", timeout: 60_000 });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /no completion for the shell "tcsh"; expected one of bash, zsh, fish/);
});
