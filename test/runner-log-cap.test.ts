// The log of one command is capped to its head and tail; a full disk is an error, not a crash.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { LOG_HEAD_BYTES, LOG_TAIL_BYTES } from "../src/runner/log-cap.ts";
import { runCommand } from "../src/runner/process.ts";
import { makeTempDir } from "./helpers/runner.ts";
import { privateMountsWork, runWithMount } from "./helpers/tiny-disk.ts";

let temp: { dir: string; cleanup: () => void };
before(() => {
  temp = makeTempDir();
});
after(() => temp.cleanup());

const LINES = 200_000; // ~12 MB of output, three times the cap

test("a log keeps the first and the last bytes of a command's output, says what was cut, and onLine sees every line", async () => {
  const logPath = join(temp.dir, "logs", "big.log");
  writeFileSync(join(temp.dir, "print.js"), `for (let i = 0; i < ${LINES}; i++) process.stdout.write("line " + i + " " + "x".repeat(50) + "\\n");`);
  let seen = 0;
  let lastSeen = "";
  const outcome = await runCommand({
    command: `"${process.execPath}" print.js`, cwd: temp.dir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, logPath,
    timeoutMs: 60_000, killGraceMs: 300, onLine: (line) => { seen += 1; lastSeen = line; },
  });
  assert.equal(outcome.exitCode, 0);
  assert.equal(seen, LINES, "live listeners get every line, cut or not");
  assert.match(lastSeen, new RegExp(`^line ${LINES - 1} `));

  const size = statSync(logPath).size;
  assert.ok(size <= LOG_HEAD_BYTES + LOG_TAIL_BYTES + 200, `the log is capped (${size} bytes)`);
  const lines = readFileSync(logPath, "utf8").split("\n").slice(0, -1);
  assert.match(lines[0]!, /^line 0 /);
  assert.match(lines.at(-1)!, new RegExp(`^line ${LINES - 1} `), "the end of the output is kept");
  const markers = lines.filter((line) => line.startsWith("[... "));
  assert.equal(markers.length, 1);
  const cut = /^\[\.\.\. (\d+) bytes \((\d+) lines\) cut/.exec(markers[0]!);
  assert.ok(cut, markers[0]);
  assert.equal(lines.length - 1 + Number(cut[2]), LINES, "kept lines + cut lines = all lines");
  const markerAt = lines.indexOf(markers[0]!);
  const before = Number(/^line (\d+)/.exec(lines[markerAt - 1]!)![1]);
  const afterMarker = Number(/^line (\d+)/.exec(lines[markerAt + 1]!)![1]);
  assert.equal(afterMarker - before - 1, Number(cut[2]), "the marker sits exactly where lines were cut");
});

test("a full disk under the log ends the command and is reported as ENOSPC, not a crash of the harness", { skip: !privateMountsWork() && "needs a private mount namespace (root + unshare)" }, () => {
  const script = join(temp.dir, "full-disk.ts");
  writeFileSync(script, `
    import { runCommand } from ${JSON.stringify(new URL("../src/runner/process.ts", import.meta.url).pathname)};
    const dir = process.argv[2];
    try {
      const outcome = await runCommand({ command: "yes 'a line that fills the disk' | head -c 3000000", cwd: "/", env: { PATH: process.env.PATH }, logPath: dir + "/logs/x.log", timeoutMs: 30000, killGraceMs: 300 });
      console.log(JSON.stringify({ outcome }));
    } catch (error) {
      console.log(JSON.stringify({ code: error.code, message: error.message }));
    }
  `);
  const disk = join(temp.dir, "disk");
  mkdirSync(disk);
  const result = runWithMount(disk, { kind: "tmpfs", sizeKb: 256 }, script, [disk]);
  assert.equal(result.status, 0, result.stderr);
  const reported = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
  assert.equal(reported.code, "ENOSPC", result.stdout);
});
