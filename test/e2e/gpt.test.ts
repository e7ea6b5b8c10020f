// The gpt template through the engine: `init`, then real sessions with real git, processes and
// PyTorch on the CPU. The guard and the evaluator against planted cheats (replay proposer),
// and a short session of the offline search proposer. Skips, saying why, without PyTorch.
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSession } from "../../src/loop/session.ts";
import { initProject } from "../../src/project/init.ts";
import { sandboxProblem } from "../../src/sandbox/index.ts";
import { hidingProblem } from "../../src/runner/isolation.ts";
import { CHEATS, GPT_TEMPLATE, tinyConstants, torchPython } from "../helpers/gpt.ts";
import { CLI, gitIn, ledgerRows, recordingBus } from "../helpers/project.ts";

const never = new AbortController().signal;
const { python, reason } = torchPython();

async function gptProject(t: TestContext, config: Record<string, unknown>, constants?: Record<string, unknown>, proposals?: unknown[]): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), "autoresearch-gpt-e2e-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  // A generous start-up allowance: torch's import on a loaded machine must not turn a run into a timeout.
  const dir = await initProject(join(root, "study"), "gpt", { configPatch: { devices: ["cpu"], killGraceSeconds: 2, startupSeconds: 120, ...config } });
  if (constants) writeFileSync(join(dir, "constants.json"), `${JSON.stringify(constants, null, 2)}\n`);
  if (proposals) writeFileSync(join(dir, "proposals.json"), `${JSON.stringify({ proposals }, null, 2)}\n`);
  gitIn(dir, "add", "-A");
  if (gitIn(dir, "status", "--porcelain") !== "") gitIn(dir, "-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "-qm", "tiny CPU configuration");
  return dir;
}


const TAMPER_DATA = {
  search: '    print("\\n---")',
  replace: [
    '    shard = os.path.join(env.data_dir, "cpu", "tokenizer.json")',
    "    os.chmod(shard, 0o644)",
    '    with open(shard, "r+b") as handle:',
    '        handle.write(b"\\x00\\x00")',
    '    print("\\n---")',
  ].join("\n"),
};

test("doctor checks for PyTorch in a gpt project, whose commands run Python through run-python.ts", async (t) => {
  const dir = await gptProject(t, {});
  const result = spawnSync(process.execPath, [CLI, "doctor", "--json", "--project", dir], { encoding: "utf8", timeout: 120_000 });
  const checks = JSON.parse(result.stdout) as Array<{ name: string; ok: boolean; detail: string; fix?: string }>;
  const torch = checks.find((check) => check.name === "pytorch");
  assert.ok(torch, "no pytorch check for a project that runs Python");
  assert.equal(torch.ok, python !== null, torch.detail);
  assert.equal(result.status, python ? 0 : 4);
  if (!python) assert.match(torch.fix!, /apt-get install python3-torch python3-numpy/);
  // The template hides the held-out splits from training; doctor says whether that works here.
  const hiding = checks.find((check) => check.name === "hideFromTrain");
  assert.ok(hiding, "no hideFromTrain check for a project that hides files");
  assert.equal(hiding.ok, (await sandboxProblem()) === null || (await hidingProblem()) === null, hiding.detail);
});

describe("gpt template in sessions", { skip: python ? false : reason }, () => {
  test("cheats are caught: printed scores ignored, patches inert, leaks invalid, protected edits rejected", async (t) => {
    const sandboxed = (await sandboxProblem()) === null;
    const proposal = (description: string, path: string, edit: { search: string; replace: string }) => ({ description, hypothesis: "a planted cheat", edits: [{ path, ...edit }] });
    // Protected files are not offered for search/replace; a proposer can still write them whole.
    const rewrite = (description: string, path: string, from: string, to: string, original: string) => {
      assert.ok(original.includes(from), `${path} no longer contains ${from}`);
      return { description, hypothesis: "a planted cheat", edits: [{ path, content: original.replace(from, to) }] };
    };
    const constants = tinyConstants();
    const constantsText = `${JSON.stringify(constants, null, 2)}\n`;
    const dir = await gptProject(t, {
      budgetSeconds: 4, budgetByDevice: { cpu: 4 }, proposer: { name: "replay", file: "proposals.json" }, acceptance: { policy: "greedy" },
      stop: { maxConsecutiveFailures: 10 },
    }, constants, [
      proposal("print a perfect score", "train.py", CHEATS.fakeScore),
      proposal("patch the evaluator while training", "train.py", CHEATS.patchDuringTraining),
      proposal("patch torch at import", "train.py", CHEATS.patchAtImport),
      proposal("see the next token", "train.py", CHEATS.leakFuture),
      rewrite("edit the evaluator", "evaluate.py", '"val_bpb": val_nats', '"val_bpb": 0.0 * val_nats', readFileSync(join(GPT_TEMPLATE, "evaluate.py"), "utf8")),
      rewrite("shrink the validation set", "constants.json", '"val_tokens": 4096', '"val_tokens": 64', constantsText),
      proposal("read the validation rows", "train.py", CHEATS.readValidation),
      proposal("tamper with the data", "train.py", TAMPER_DATA),
    ]);
    const { bus } = recordingBus();
    const result = await runSession({ projectDir: dir, tag: "cheats", bus, signal: never });
    const rows = new Map(ledgerRows(dir).map((row) => [row.description, row]));
    const baseline = rows.get("baseline (unchanged code)")!;
    assert.equal(baseline.status, "ok", baseline.reason ?? "");
    assert.ok(baseline.metric! > 1.5 && baseline.metric! < 4.3, `baseline val_bpb ${baseline.metric}`);
    assert.ok(baseline.heldOutMetric! > 1.5, `baseline test_bpb ${baseline.heldOutMetric}`);
    assert.ok(baseline.secondary["self_reported.tokens_per_second"]! > 0);

    // The scorer never runs train.py: a patch at import changes only the model servers' processes.
    for (const name of ["print a perfect score", "patch the evaluator while training", "patch torch at import"]) {
      const row = rows.get(name)!;
      assert.equal(row.status, "ok", `${name}: ${row.reason}`);
      assert.equal(row.selfReported, false);
      assert.ok(row.metric! > 1.5, `${name} was scored ${row.metric}`);
    }
    assert.equal(rows.get("see the next token")!.status, "invalid");
    assert.match(rows.get("see the next token")!.reason!, /not causal/);
    for (const [name, file] of [["edit the evaluator", "evaluate.py"], ["shrink the validation set", "constants.json"]]) {
      assert.equal(rows.get(name)!.status, "rejected");
      assert.match(rows.get(name)!.reason!, new RegExp(file.replace(".", "\\.")));
    }
    const tampered = rows.get("tamper with the data")!;
    if (sandboxed) {
      // The data is read-only inside the sandbox: the write fails, nothing is changed, nothing pauses.
      assert.equal(tampered.status, "crash", tampered.reason ?? "");
      assert.match(readFileSync(tampered.logPath, "utf8"), /Read-only file system/);
    } else {
      assert.equal(tampered.status, "rejected");
      assert.match(tampered.reason!, /cpu\/tokenizer\.json.*during training/);
    }
    // The validation and test rows read as empty in training (hideFromTrain), so they cannot be trained on.
    const peeking = rows.get("read the validation rows")!;
    assert.equal(peeking.status, "ok", peeking.reason ?? "");
    assert.match(readFileSync(peeking.logPath, "utf8"), /validation bytes visible to training: 0\b/);
    assert.equal(result.paused, !sandboxed, "tampered data (possible only unsandboxed) pauses the session until it is prepared again");
    // Only honestly scored code can be the best.
    const best = gitIn(dir, "rev-parse", "autoresearch/cheats");
    const bestRow = [...rows.values()].find((row) => row.candidateCommit === best) ?? baseline;
    assert.equal(bestRow.status, "ok");
  });

  test("a short session of the offline search proposer runs end to end on the CPU profile", async (t) => {
    const dir = await gptProject(t, {
      budgetSeconds: 5, budgetByDevice: { cpu: 5 }, proposer: { name: "search", seed: 7 }, acceptance: { policy: "noise-aware", baselineRuns: 1, z: 2, minDelta: 0.001 },
      stop: { maxExperiments: 3, maxConsecutiveFailures: 3 },
    });
    // The search may not grow the model or its batch here: Debian's PyTorch multiplies in float32 without a
    // tuned BLAS, so one step of the deepest model takes 90 s on this CPU, past the hard limit under load.
    const train = join(dir, "train.py");
    const narrowed = readFileSync(train, "utf8")
      .replace(/^(DEPTH_DELTA = 0 +# @knob min=-2) max=4 int$/m, "$1 max=0 int")
      .replace(/^(BATCH_SHIFT = 0 +# @knob min=-3) max=2 int$/m, "$1 max=0 int");
    for (const knob of [/^DEPTH_DELTA = 0 +# @knob min=-2 max=0 int$/m, /^BATCH_SHIFT = 0 +# @knob min=-3 max=0 int$/m]) {
      assert.match(narrowed, knob, "the template's size knobs are where this test expects them");
    }
    writeFileSync(train, narrowed);
    gitIn(dir, "-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "-qam", "sizes this CPU can train within the limit");
    const { bus, events } = recordingBus();
    const result = await runSession({ projectDir: dir, tag: "search", bus, signal: never });
    assert.match(result.reason, /maximum of 3 experiments/);
    const rows = ledgerRows(dir);
    assert.equal(rows.length, 3);
    for (const row of rows) {
      assert.equal(row.status, "ok", `${row.description}: ${row.reason}`);
      assert.ok(row.metric! > 1 && row.metric! < 4.3, `${row.description}: val_bpb ${row.metric}`);
      assert.ok(row.secondary.eval_seconds! > 0 && row.secondary.params! > 0);
    }
    for (const row of rows.filter((candidate) => candidate.kind === "candidate")) {
      assert.match(row.description, /[A-Z_]+ .+ → .+/, "a search proposal names the knob it moves");
      assert.match(row.diff, /^\+\+\+ b\/train\.py$/m);
      assert.doesNotMatch(row.diff, /^\+\+\+ b\/(?!train\.py)/m, "only train.py changes");
    }
    assert.ok(events.some((event) => event.type === "prepare_finished" && event.ok));
    const tsv = readFileSync(join(dir, "results.tsv"), "utf8").trim().split("\n");
    assert.equal(tsv.length, 4);
    assert.match(tsv[0]!, /^commit\tval_bpb\tmemory_gb\tstatus\tdescription/);
  });
});
