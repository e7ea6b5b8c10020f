// The command table: `--help` lists every command without loading them, each command's module
// loads on demand, and the quick commands load no package (start-up figures: bench/cli-startup.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMMANDS } from "../src/cli/commands.ts";
import { main } from "../src/cli/main.ts";
import type { Io } from "../src/cli/args.ts";

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
    const expected = ["commands.ts", "main.ts", ...(module ? [module, "args.ts", "project.ts"] : [])].sort();
    assert.deepEqual(commandModules, expected, args.join(" "));
  }
});
