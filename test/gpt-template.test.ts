// The gpt template run the way the harness runs it, without the engine or its sandbox: real node
// and Python processes (train, two model servers, the scorer), PyTorch on the CPU, the Brown corpus. Runs once with PyTorch 1.x and once with 2.x
// (CI: Debian's python3-torch, and a venv that .ci/run makes from a local torch wheel); a
// generation with no interpreter is skipped, saying why.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CHEATS, copyGptTemplate, evaluateWithServers, runNode, tinyConstants, torchLegs, trainWith } from "./helpers/gpt.ts";
import { REPO_ROOT, tempDir } from "./helpers/ts-demo.ts";

const FAKE_SERVER = join(REPO_ROOT, "test", "helpers", "gpt_fake_server.py");
/** Model servers that answer without a model (see gpt_fake_server.py), one mode per replica. */
const fakeServers = (...modes: string[]) => modes.map((mode) => ["run-python.ts", FAKE_SERVER, mode]);

// Once per PyTorch generation: 1.x takes the by-hand attention and norm, 2.x SDPA and F.rms_norm.
for (const { name, python, version, reason } of torchLegs()) describe(`gpt template on ${name}${version ? ` (${version})` : ""}`, { skip: python ? false : reason }, () => {
  const work = tempDir("gpt-template");
  const project = join(work.path, "project");
  const dataDir = join(work.path, "data");
  let untrained: Record<string, unknown>;
  let untrainedOutput: string;
  let trained: Record<string, unknown>;

  before(async () => {
    mkdirSync(project);
    copyGptTemplate(project, tinyConstants());
    const prepared = await runNode(project, ["prepare.ts"], { AUTORESEARCH_DATA_DIR: dataDir, AUTORESEARCH_SPLIT_SECRET: "c0".repeat(32) });
    assert.equal(prepared.code, 0, prepared.stderr);
  });
  after(() => work.cleanup());

  let runs = 0;
  /** Steps of the "trained" model: about what 8 s made on a quiet 2-core machine. */
  const TRAIN_STEPS = 40;

  async function trainAndEvaluate(dir: string, budgetSeconds: number, data = dataDir) {
    const outputDir = join(work.path, `out-${++runs}`);
    const env = { AUTORESEARCH_DATA_DIR: data, AUTORESEARCH_OUTPUT_DIR: outputDir, AUTORESEARCH_BUDGET_SECONDS: String(budgetSeconds), AUTORESEARCH_DEVICE: "cpu", AUTORESEARCH_PYTHON: python! };
    const train = await runNode(dir, ["run-python.ts", "train.py"], env);
    assert.equal(train.code, 0, `train failed:\n${train.stdout.slice(-2000)}\n${train.stderr}`);
    return { train, outputDir, ...(await evaluate(dir, outputDir, data)) };
  }

  async function evaluate(dir: string, outputDir: string, data: string, servers?: string[][]) {
    const metricsFile = join(work.path, `metrics-${++runs}.json`);
    return evaluateWithServers(dir, { dataDir: data, outputDir, metricsFile, python: python! }, servers);
  }

  function variant(name: string, files: Record<string, string>): string {
    const dir = join(work.path, name);
    mkdirSync(dir);
    copyGptTemplate(dir, tinyConstants());
    for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
    return dir;
  }

  test("prepare writes a manifest that lists every data file", () => {
    const manifest = JSON.parse(readFileSync(join(dataDir, "manifest.json"), "utf8"));
    assert.deepEqual(Object.keys(manifest.profiles), ["cpu"]);
    assert.deepEqual(Object.keys(manifest.files).sort(), ["cpu/test.bin", "cpu/tokenizer.json", "cpu/train_000.bin", "cpu/val.bin"]);
    assert.equal(manifest.profiles.cpu.val.rows, 4096 / 64);
  });

  test("an untrained model scores near a uniform guess; a fixed number of training steps scores clearly better", async () => {
    const first = await trainAndEvaluate(project, 0);
    untrained = first.metrics!;
    untrainedOutput = first.outputDir;
    // Bounded by steps, not seconds: a loaded machine makes fewer steps in a time budget, so this copy
    // of train.py stops after TRAIN_STEPS steps, with a budget it never reaches.
    const stepped = variant("stepped", { "train.py": trainWith({ search: "        if elapsed >= budget:\n            break", replace: `        if step >= ${TRAIN_STEPS}:\n            break` }) });
    const result = await trainAndEvaluate(stepped, 3600);
    assert.equal(result.evaluation.code, 0, result.evaluation.stderr);
    trained = result.metrics!;
    assert.ok(untrained && trained);
    // 512 tokens of ~2 bytes each: a uniform guess is ~9 bits per token, ~4.3 bits per byte.
    assert.ok((untrained.val_bpb as number) > 3.8, `untrained val_bpb ${untrained.val_bpb}`);
    assert.ok((trained.val_bpb as number) < (untrained.val_bpb as number) - 0.6, `trained ${trained.val_bpb} vs untrained ${untrained.val_bpb}`);
    assert.ok((trained.test_bpb as number) < (untrained.test_bpb as number) - 0.6);
    assert.doesNotMatch(result.evaluation.stdout + result.evaluation.stderr, /test/i, "the held-out score is never printed");
    const report = trained.self_reported as Record<string, number>;
    for (const key of ["tokens_per_second", "num_steps", "train_seconds", "peak_memory_mb"]) assert.ok(report[key] > 0, `self_reported.${key} = ${report[key]}`);
    assert.equal(report.num_steps, TRAIN_STEPS);
    // Half of the 64 validation and 64 test rows, each against an altered copy sent to the other server.
    assert.equal(trained.causality_rows, 64);
    assert.ok(report.params! > 0, "the servers' parameter count is recorded as self-reported");
    assert.ok(existsSync(join(result.outputDir, "model.pt")) && existsSync(join(result.outputDir, "model_args.json")));
  });

  test("importing train.py does not train", async () => {
    const outputDir = join(work.path, "import-only");
    const result = spawnSync(python!, ["-c", "import train; print('imported', callable(train.build_model))"], {
      cwd: project, encoding: "utf8", env: { ...process.env, AUTORESEARCH_DATA_DIR: dataDir, AUTORESEARCH_OUTPUT_DIR: outputDir, AUTORESEARCH_BUDGET_SECONDS: "5" },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), "imported True");
    assert.ok(!existsSync(outputDir), "importing wrote a checkpoint");
  });

  test("a train.py that prints a score or patches the evaluator's functions while training changes nothing", async () => {
    const printing = await trainAndEvaluate(variant("fake-score", { "train.py": trainWith(CHEATS.fakeScore) }), 3);
    assert.match(printing.train.stdout, /val_bpb:\s+0\.000100/);
    assert.ok((printing.metrics!.val_bpb as number) > 1, `the evaluator scored ${printing.metrics!.val_bpb} (${printing.metrics!.invalid ?? "valid"})`);
    const patching = await trainAndEvaluate(variant("patch-training", { "train.py": trainWith(CHEATS.patchDuringTraining) }), 3);
    assert.equal(patching.evaluation.code, 0, patching.evaluation.stderr);
    assert.ok((patching.metrics!.val_bpb as number) > 1, `the evaluator scored ${patching.metrics!.val_bpb}`);
  });

  test("a train.py that patches torch when imported changes only its own model server, not the score", async () => {
    const { metrics } = await trainAndEvaluate(variant("patch-import", { "train.py": trainWith(CHEATS.patchAtImport) }), 1);
    assert.equal(metrics!.invalid, undefined);
    // Had the patch reached the scorer, every log-probability would be 0 and val_bpb 0; an honest score of a
    // briefly trained model is far above that (how far depends on how much training fits in a second: not asserted).
    assert.ok((metrics!.val_bpb as number) > 1.5, `the scorer scored ${metrics!.val_bpb}`);
  });

  test("a model that sees the next token is invalid, however low its loss", async () => {
    const { metrics } = await trainAndEvaluate(variant("leak", { "train.py": trainWith(CHEATS.leakFuture) }), 4);
    assert.match(String(metrics!.invalid), /not causal: changing the tokens after position \d+ .* changed its log-probabilities/);
  });

  test("models that see the next token except when they could tell a check are invalid", async () => {
    // Both beat the evaluator that ran the model in its own process (val_bpb ~0.03 and ~0.09 there):
    // one was causal in the check's smaller batch, the other made a row and its altered copy agree.
    for (const cheat of ["peekUnlessSmallBatch", "peekWithPrefixCache"] as const) {
      const { metrics, servers } = await trainAndEvaluate(variant(cheat, { "train.py": trainWith(CHEATS[cheat]) }), 0);
      assert.match(String(metrics!.invalid), /not causal: .* by up to [\d.]+ .*the row went to model server (0, its altered copy to 1|1, its altered copy to 0)\)$/, cheat);
      for (const server of servers) assert.equal(server.code, 0, `${cheat}: a server did not exit at the end of its input: ${server.stderr}`);
    }
  });

  test("the scorer computes the loss itself and takes no answer it cannot check", async () => {
    const uniform = await evaluate(project, untrainedOutput, dataDir, fakeServers("uniform", "uniform"));
    assert.equal(uniform.evaluation.code, 0, uniform.evaluation.stderr);
    assert.ok(Math.abs((uniform.metrics!.val_loss as number) - Math.log(512)) < 1e-5, `all-zero logits scored val_loss ${uniform.metrics!.val_loss}`);
    assert.equal((uniform.metrics!.self_reported as Record<string, number>).params, 1234);
    for (const [modes, reason] of [
      [["uniform", "nan"], /^model server 1 answered logits that are not finite/],
      [["uniform", "shape"], /^model server 1 answered logits of shape \(\d+, 63, 512\) to a request of \(\d+, 64\); expected/],
      [["uniform", "exit"], /^model server 1 closed its pipe instead of (sending an answer|reading a request)/],
      [["peek", "peek"], /^the model is not causal/],
      [["peek-extreme", "peek-extreme"], /^the model is not causal/],
    ] as const) {
      const { metrics } = await evaluate(project, untrainedOutput, dataDir, fakeServers(...modes));
      assert.match(String(metrics!.invalid), reason, modes.join(", "));
      assert.equal(metrics!.val_bpb, undefined, modes.join(", "));
    }
    const alone = await evaluate(project, untrainedOutput, dataDir, fakeServers("uniform"));
    assert.notEqual(alone.evaluation.code, 0);
    assert.match(alone.evaluation.stderr, /causality check needs two model servers/);
  });

  test("evaluate.py rejects data that no longer matches the manifest: a shard, the tokenizer", async () => {
    for (const [name, tamper] of [
      ["shard", (dir: string) => {
        const path = join(dir, "cpu", "train_000.bin");
        const bytes = readFileSync(path);
        bytes[100] ^= 1;
        writeFileSync(path, bytes);
      }],
      ["tokenizer", (dir: string) => {
        const path = join(dir, "cpu", "tokenizer.json");
        writeFileSync(path, readFileSync(path, "utf8").replace('"merges":[[', '"merges":[ ['));
      }],
    ] as const) {
      const copy = join(work.path, `data-${name}`);
      cpSync(dataDir, copy, { recursive: true });
      tamper(copy);
      const { metrics } = await evaluate(project, untrainedOutput, copy, fakeServers("uniform", "uniform"));
      const file = name === "shard" ? "cpu/train_000.bin" : "cpu/tokenizer.json";
      assert.equal(metrics!.invalid, `the prepared data does not match its manifest (changed: ${file}); prepare the data again`);
    }
  });

  test("run-python.ts tries AUTORESEARCH_PYTHON first", async () => {
    const wrapper = join(work.path, "python-wrapper.sh");
    writeFileSync(wrapper, `#!/bin/sh\necho wrapper-used >&2\nexec ${python} "$@"\n`, { mode: 0o755 });
    const result = await runNode(project, ["run-python.ts", "-c", "print('ok')"], { AUTORESEARCH_PYTHON: wrapper });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), "ok");
    assert.match(result.stderr, /wrapper-used/);
  });
});
