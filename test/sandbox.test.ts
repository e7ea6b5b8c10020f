// The sandbox for real (bubblewrap): what a phase can see, write, reach and leave behind, and the
// model-server pipes between sandboxes.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { findMarkedProcesses } from "../src/runner/kill.ts";
import { runCommand, type RunSpec } from "../src/runner/process.ts";
import { runServed } from "../src/runner/served.ts";
import { interpreterPaths, sandboxProblem, type SandboxSpec } from "../src/sandbox/index.ts";
import { CGROUP_FAILED_EXIT, membershipCheck } from "../src/sandbox/cgroup.ts";

const problem = await sandboxProblem();
const skip = problem ? `no sandbox on this machine: ${problem}` : false;

describe("the sandbox", { skip }, () => {
  let dir: string;
  let spec: (extra?: Partial<SandboxSpec>) => SandboxSpec;
  let run: (command: string, extra?: Partial<RunSpec>) => Promise<{ code: number | null; log: string }>;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "autoresearch-sandbox-test-"));
    for (const sub of ["work", "out", "data/cpu", "state"]) mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(join(dir, "data/cpu/train.bin"), "train rows");
    writeFileSync(join(dir, "data/cpu/val.bin"), "held-out rows");
    writeFileSync(join(dir, "state/ledger.db"), "the harness's own state");
    writeFileSync(join(dir, "work/model.txt"), "candidate");
    const readOnly = interpreterPaths({ path: process.env.PATH ?? "", home: process.env.HOME, excluded: [dir] });
    spec = (extra = {}) => ({
      cwd: join(dir, "work"), readOnly: [...readOnly, join(dir, "work")], writable: [join(dir, "out")],
      data: { dir: join(dir, "data"), hidden: [join(dir, "data/cpu/val.bin")] }, network: false, devices: [],
      limits: { tmpMb: 64, maxFileMb: 8, maxProcesses: 64 }, ...extra,
    });
    let runs = 0;
    run = async (command, extra = {}) => {
      const logPath = join(dir, `log-${++runs}`);
      const outcome = await runCommand({
        command, cwd: join(dir, "work"), env: { PATH: process.env.PATH ?? "/usr/bin:/bin", SECRET_TOKEN: "passed-on-purpose" }, logPath,
        timeoutMs: 30_000, killGraceMs: 500, sandbox: spec(), ...extra,
      });
      return { code: outcome.exitCode, log: readFileSync(logPath, "utf8") };
    };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("shows the training data but not the held-out file, the harness's state or the candidate as writable", async () => {
    const { log } = await run(`ls ${dir}/data/cpu; cat ${dir}/data/cpu/val.bin || echo no-val; cat ${dir}/state/ledger.db || echo no-state; echo x > model.txt || echo read-only; echo ok > ${dir}/out/result && echo wrote-output`);
    assert.match(log, /^train\.bin$/m);
    assert.doesNotMatch(log, /held-out rows|the harness's own state/);
    assert.match(log, /no-val/);
    assert.match(log, /no-state/);
    assert.match(log, /read-only/);
    assert.match(log, /wrote-output/);
    assert.equal(readFileSync(join(dir, "work/model.txt"), "utf8"), "candidate");
  });

  it("has only the environment it is given, an empty HOME and no view of other processes", async () => {
    const { log } = await run(`env | sort; ls -A "$HOME" | wc -l; ls /proc | grep -c '^[0-9]'; cat /proc/1/cmdline | tr '\\0' ' '; echo`);
    assert.match(log, /^HOME=\/tmp\/home$/m);
    assert.match(log, /^SECRET_TOKEN=passed-on-purpose$/m, "what the harness passes arrives");
    assert.doesNotMatch(log, /^(SSH_AUTH_SOCK|ANTHROPIC_API_KEY|XDG_RUNTIME_DIR)=/m);
    const counts = log.split("\n").filter((line) => /^\d+$/.test(line)).map(Number);
    assert.equal(counts[0], 0, "HOME starts empty");
    assert.ok(counts[1] <= 6, `the sandbox's /proc shows its own few processes, not the machine's (saw ${counts[1]})`);
    // pid 1 is the phase's own shell (the harness's prelude on its first lines, then the command), not the harness or bwrap.
    assert.match(log, /^\/bin\/sh -c /m, "pid 1 is the phase's own shell");
    assert.match(log, /^env \| sort; ls -A/m, "running the phase's command");
  });

  it("cannot reach a server on the host's loopback", async () => {
    let connections = 0;
    const server = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const { log } = await run(`node -e 'require("net").connect(${port}, "127.0.0.1").on("connect", () => console.log("connected")).on("error", (e) => console.log("refused", e.code))'`);
      assert.match(log, /refused ECONNREFUSED/);
      assert.equal(connections, 0);
    } finally {
      server.close();
    }
  });

  it("kills what the phase left running when it ends: nothing writes afterwards", async () => {
    const late = join(dir, "out/late");
    const marker = { name: "AUTORESEARCH_RUN_MARKER", value: `sandbox-test-${process.pid}` };
    const { code } = await run(`setsid sh -c 'sleep 1; echo late > ${late}' & (nohup sh -c 'sleep 1; echo late >> ${late}' >/dev/null 2>&1 &); echo started`, { marker });
    assert.equal(code, 0);
    assert.deepEqual(findMarkedProcesses(marker), [], "nothing of the phase is left when runCommand returns");
    await new Promise((resolve) => setTimeout(resolve, 1800));
    assert.equal(existsSync(late), false);
  });

  it("limits how many processes a phase may have and how large a file it may write", async () => {
    const { log } = await run(`for i in $(seq 100); do sleep 5 & done 2>/dev/null; sleep 0.2; echo count $(ls /proc | grep -c '^[0-9]')`);
    const count = /count (\d+)/.exec(log);
    assert.ok(count === null || Number(count[1]) <= 64, `at most 64 processes (saw ${count?.[1]})`);
    const big = await run(`head -c 20000000 /dev/zero > ${dir}/out/big; echo exit $?`);
    assert.match(big.log, /exit [1-9]/);
    const under = await run(`head -c 7000000 /dev/zero > ${dir}/out/under; echo exit $?`);
    assert.match(under.log, /exit 0/, "a file under the 8 MiB limit is written");
  });

  it("gives every process inside the limits asked for, in the units asked for, and bounds its memory", async (t) => {
    const limits = { tmpMb: 64, maxFileMb: 8, maxProcesses: 64, memoryMb: 200 };
    const { log } = await run("cat /proc/self/limits", { sandbox: spec({ limits }) });
    assert.match(log, /Max file size\s+8388608\s+8388608\s+bytes/);
    assert.match(log, /Max core file size\s+0\s+0\s+bytes/);
    assert.match(log, /Max address space\s+209715200\s+209715200\s+bytes/);
    const python = "/usr/bin/python3";
    if (!existsSync(python)) {
      t.skip(`the memory limit's half needs ${python} (.ci/run installs it)`);
      return;
    }
    const small = await run(`${python} -c "b = bytearray(20 * 2**20); print('small ok')"`, { sandbox: spec({ limits }) });
    assert.match(small.log, /small ok/);
    const large = await run(`${python} -c "b = bytearray(400 * 2**20); print('large ok')"; echo exit $?`, { sandbox: spec({ limits }) });
    assert.match(large.log, /MemoryError/);
    assert.doesNotMatch(large.log, /large ok/);
  });

  it("a phase's shell that is not in its cgroup runs nothing of the command; one that is goes on", async () => {
    const { execFileSync, spawnSync } = await import("node:child_process");
    // Patterns no line of this shell's /proc/self/cgroup matches: as when the hold was released without the move.
    const outside = spawnSync("/bin/sh", ["-c", `${membershipCheck(["0::*/phase-not-made-1", "*[:,]pids[:,]*/autoresearch-phase-not-made-1"])}\necho ran`], { encoding: "utf8" });
    assert.equal(outside.status, CGROUP_FAILED_EXIT);
    assert.doesNotMatch(outside.stdout, /ran/);
    assert.match(outside.stderr, /not in its cgroup; nothing ran/);
    // One pattern matched, one not: still refused.
    const half = spawnSync("/bin/sh", ["-c", `${membershipCheck(["*", "0::*/phase-not-made-2"])}\necho ran`], { encoding: "utf8" });
    assert.equal(half.status, CGROUP_FAILED_EXIT);
    // Every pattern matched: the command runs, and the check leaves no variable of its own behind.
    const inside = execFileSync("/bin/sh", ["-c", `${membershipCheck(["*", "*:*"])}\necho ran; set | grep -c __ar_ || true`], { encoding: "utf8" });
    assert.deepEqual(inside.trim().split("\n"), ["ran", "0"]);
  });

  it("connects model servers in their own sandboxes to the scorer through private pipes", async () => {
    const logPath = join(dir, "served.log");
    const server = (index: number): RunSpec => ({
      command: `while read request; do echo "replica ${index} saw $request"; done`, cwd: join(dir, "work"),
      env: { PATH: "/usr/bin:/bin" }, logPath, timeoutMs: 20_000, killGraceMs: 200, sandbox: spec({ writable: [] }),
    });
    const outcome = await runServed({
      servers: [server(0), server(1)],
      scorer: {
        command: `echo "servers $AUTORESEARCH_MODEL_SERVERS"; echo first >&3; read a <&4; echo second >&5; read b <&6; echo "$a / $b" > ${dir}/out/scored`,
        cwd: join(dir, "work"), env: { PATH: "/usr/bin:/bin" }, logPath, timeoutMs: 20_000, killGraceMs: 200, sandbox: spec(),
      },
    });
    assert.equal(outcome.exitCode, 0);
    assert.equal(readFileSync(join(dir, "out/scored"), "utf8").trim(), "replica 0 saw first / replica 1 saw second");
    assert.match(readFileSync(logPath, "utf8"), /servers 3,4 5,6/);
    assert.equal(outcome.servers.length, 2);
  });
});
