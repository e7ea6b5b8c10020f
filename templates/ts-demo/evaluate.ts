// Protected: the scorer. It never runs model code: the harness starts model servers (serve.ts,
// each in its own sandbox, with the trained model but no data) and hands this process one pair of
// pipes per server in AUTORESEARCH_MODEL_SERVERS ("W,R W,R": write requests to W, read answers
// from R). The wire format is in protocol.ts; in short:
//
//   greeting: u32 GREETING, f64 parameter count
//   request:  u32 rows, u32 cols, rows*cols bytes
//   answer:   u32 rows, u32 cols, u32 256, rows*cols*256 float32 ln p(byte at column c | columns before c)
//
// This process sends only bytes of the splits, and computes the metric itself: it checks every
// answer (shape, finite, sums to 1), renormalises it, and scores bits per byte, -log2 p(actual),
// for every byte of the validation and test splits, each seen after the same (at most
// EVAL_CONTEXT_BYTES) bytes as before. Validation and test rows go out shuffled together, in an
// order drawn from the operating system's randomness. For CAUSALITY_CHECK_SHARE of the rows, a
// copy whose bytes from a random column on come from another row goes to a different replica, in a
// request of the same shape; up to that column both answers must agree, or the model is invalid.
// A model that looks at later bytes, remembers rows it saw, or answers differently per replica
// cannot tell which rows are checked, and disagrees with its other replica.
import { randomInt } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { Socket } from "node:net";
import { join } from "node:path";
import {
  CAUSALITY_CHECK_SHARE, CAUSALITY_TOLERANCE, DISTRIBUTION_TOLERANCE, EVAL_COLUMNS, EVAL_CONTEXT_BYTES, EVAL_ROWS,
  PROBABILITY_FLOOR, TEST_FILE, VAL_FILE,
} from "./constants.ts";
import { ANSWER_HEADER_BYTES, ByteReader, GREETING, GREETING_BYTES, REQUEST_HEADER_BYTES } from "./protocol.ts";

const VOCAB = 256;
const LN_FLOOR = Math.log(PROBABILITY_FLOOR);
/** Requests a server holds at once: the next one is there when it finishes, later ones are not yet sent. */
const IN_FLIGHT = 2;

/** The model's answers are wrong: the metrics file says invalid. */
class InvalidModel extends Error {}
/** A server stopped answering (the model crashed): no metrics, the evaluation fails. */
class ServerFailed extends Error {}

interface Split {
  name: string;
  text: Uint8Array;
  bits: number;
  scored: number;
}

interface Row {
  bytes: Uint8Array;
  replica: number;
  /** Scored rows: the split, where column 0 lies in it, and the first scored column. */
  split?: Split;
  start: number;
  scoreFrom: number;
  /** Rows of a causality check: the original and its altered copy. */
  check?: CausalityCheck;
}

interface CausalityCheck {
  /** Columns 0..agreeColumns-1 see the same bytes in both rows. */
  agreeColumns: number;
  /** Log-probabilities (floored) of those columns from the answer that came first, and its replica. */
  first?: { logProbs: Float32Array; replica: number };
}

interface Server {
  replica: number;
  requests: Socket;
  answers: ByteReader;
  parameterCount: number;
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`evaluate: ${name} is not set; run this through the autoresearch harness (the config's evaluate.serve starts the model servers).`);
    process.exit(1);
  }
  return value;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * Rows that score every byte of the split once: each row starts EVAL_CONTEXT_BYTES before its first
 * scored byte (or at the split's start), and the last row ends at the split's end.
 */
function scoredRows(split: Split): Row[] {
  const length = split.text.length;
  if (length < EVAL_COLUMNS) throw new Error(`the ${split.name} split holds ${length} bytes, fewer than one row (${EVAL_COLUMNS})`);
  const rows: Row[] = [];
  for (let next = 0; next < length; ) {
    const start = Math.min(Math.max(0, next - EVAL_CONTEXT_BYTES), length - EVAL_COLUMNS);
    rows.push({ bytes: split.text.slice(start, start + EVAL_COLUMNS), replica: 0, split, start, scoreFrom: next - start });
    next = start + EVAL_COLUMNS;
  }
  return rows;
}

/** A copy of `row` whose bytes from a random column on come from another row, the first of them different. */
function alteredCopy(row: Row, rows: Row[]): { copy: Row; agreeColumns: number } {
  const keep = randomInt(1, EVAL_COLUMNS);
  let donor = rows[randomInt(rows.length)];
  for (let tries = 0; tries < 64 && (donor === row || donor.bytes[keep] === row.bytes[keep]); tries++) donor = rows[randomInt(rows.length)];
  const bytes = row.bytes.slice();
  bytes.set(donor.bytes.subarray(keep), keep);
  return { copy: { bytes, replica: 0, start: 0, scoreFrom: EVAL_COLUMNS }, agreeColumns: keep + 1 };
}

/** Every row to send, as requests of EVAL_ROWS rows per replica, in a random order. */
function plan(splits: Split[], replicas: number): { batches: Row[][][]; checks: number } {
  const originals = shuffle(splits.flatMap(scoredRows));
  originals.forEach((row, i) => (row.replica = i % replicas));
  const perReplica: Row[][] = Array.from({ length: replicas }, () => []);
  for (const row of originals) perReplica[row.replica].push(row);
  const checks = Math.round(originals.length * CAUSALITY_CHECK_SHARE);
  for (const row of originals.slice(0, checks)) {
    const { copy, agreeColumns } = alteredCopy(row, originals);
    copy.replica = (row.replica + 1) % replicas;
    row.check = copy.check = { agreeColumns };
    perReplica[copy.replica].push(copy);
  }
  const batches = perReplica.map((rows, replica) => {
    // Fill the last request with unscored windows of the splits, so every request has the same shape.
    while (rows.length % EVAL_ROWS !== 0) {
      const split = splits[randomInt(splits.length)];
      const start = randomInt(split.text.length - EVAL_COLUMNS + 1);
      rows.push({ bytes: split.text.slice(start, start + EVAL_COLUMNS), replica, start, scoreFrom: EVAL_COLUMNS });
    }
    shuffle(rows);
    const requests: Row[][] = [];
    for (let i = 0; i < rows.length; i += EVAL_ROWS) requests.push(rows.slice(i, i + EVAL_ROWS));
    return requests;
  });
  return { batches, checks };
}

function encodeRequest(rows: Row[]): Buffer {
  const frame = Buffer.alloc(REQUEST_HEADER_BYTES + rows.length * EVAL_COLUMNS);
  frame.writeUInt32LE(rows.length, 0);
  frame.writeUInt32LE(EVAL_COLUMNS, 4);
  rows.forEach((row, r) => frame.set(row.bytes, REQUEST_HEADER_BYTES + r * EVAL_COLUMNS));
  return frame;
}

function describePosition(rows: Row[], r: number, c: number, replica: number): string {
  const row = rows[r];
  return `replica ${replica}, row ${r} column ${c} of a ${rows.length}x${EVAL_COLUMNS} request` +
    (row.split ? ` (${row.split.name} byte ${row.start + c})` : "");
}

/** Checks one answer, scores its scored columns, and records or compares its causality-check columns. */
function scoreAnswer(rows: Row[], values: Float32Array, replica: number): void {
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    const check = row.check;
    let firstLogProbs: Float32Array | undefined;
    if (check && !check.first) check.first = { logProbs: firstLogProbs = new Float32Array(check.agreeColumns * VOCAB), replica };
    for (let c = 0; c < EVAL_COLUMNS; c++) {
      const offset = (r * EVAL_COLUMNS + c) * VOCAB;
      let max = -Infinity;
      for (let v = 0; v < VOCAB; v++) {
        const value = values[offset + v];
        if (!Number.isFinite(value)) throw new InvalidModel(`${describePosition(rows, r, c, replica)}: the log-probability of byte ${v} is ${value}; every value must be finite`);
        if (value > max) max = value;
      }
      let sum = 0;
      for (let v = 0; v < VOCAB; v++) sum += Math.exp(values[offset + v] - max);
      if (Math.abs(sum * Math.exp(max) - 1) > DISTRIBUTION_TOLERANCE) {
        throw new InvalidModel(`${describePosition(rows, r, c, replica)}: the ${VOCAB} probabilities sum to ${sum * Math.exp(max)}, not 1`);
      }
      // Renormalised, and floored as scored.
      const logSum = max + Math.log(sum);
      if (row.split && c >= row.scoreFrom) {
        row.split.bits -= Math.max(values[offset + row.bytes[c]] - logSum, LN_FLOOR) / Math.LN2;
        row.split.scored++;
      }
      if (!check || c >= check.agreeColumns) continue;
      if (firstLogProbs) {
        for (let v = 0; v < VOCAB; v++) firstLogProbs[c * VOCAB + v] = Math.max(values[offset + v] - logSum, LN_FLOOR);
        continue;
      }
      const before = check.first!;
      for (let v = 0; v < VOCAB; v++) {
        const now = Math.fround(Math.max(values[offset + v] - logSum, LN_FLOOR));
        const then = before.logProbs[c * VOCAB + v];
        if (Math.abs(now - then) > CAUSALITY_TOLERANCE) {
          throw new InvalidModel(
            `replicas ${before.replica} and ${replica} disagree after the same ${c} bytes (column ${c}, byte ${v}: ` +
              `log-probability ${then.toFixed(4)} vs ${now.toFixed(4)}): the model's prediction depends on more than ` +
              `the bytes before it (later bytes of the row, or what it was asked before)`,
          );
        }
      }
    }
    if (check && !firstLogProbs) check.first = undefined; // compared; free it
  }
}

async function greet(server: Server): Promise<void> {
  const greeting = await server.answers.read(GREETING_BYTES);
  if (!greeting) throw new ServerFailed(`replica ${server.replica} ended before it loaded the model (its error is in the log above)`);
  if (greeting.readUInt32LE(0) !== GREETING) {
    throw new InvalidModel(`replica ${server.replica} did not start with the protocol's greeting (something else wrote to its stdout)`);
  }
  server.parameterCount = greeting.readDoubleLE(4);
}

async function run(server: Server, requests: Row[][]): Promise<void> {
  const { replica } = server;
  await greet(server);
  let sent = 0;
  const sendNext = () => {
    if (sent < requests.length) server.requests.write(encodeRequest(requests[sent++]));
  };
  for (let i = 0; i < IN_FLIGHT; i++) sendNext();
  for (let done = 0; done < requests.length; done++) {
    const rows = requests[done];
    const ended = () => new ServerFailed(`replica ${replica} stopped after ${done} of ${requests.length} answers (its error is in the log above)`);
    const header = await server.answers.read(ANSWER_HEADER_BYTES);
    if (!header) throw ended();
    const shape = [header.readUInt32LE(0), header.readUInt32LE(4), header.readUInt32LE(8)];
    if (shape[0] !== rows.length || shape[1] !== EVAL_COLUMNS || shape[2] !== VOCAB) {
      throw new InvalidModel(`replica ${replica} answered a ${shape.join("x")} array to a ${rows.length}x${EVAL_COLUMNS} request (expected ${rows.length}x${EVAL_COLUMNS}x${VOCAB})`);
    }
    const payload = await server.answers.read(rows.length * EVAL_COLUMNS * VOCAB * 4);
    if (!payload) throw ended();
    sendNext();
    const aligned = payload.byteOffset % 4 === 0 ? payload : Buffer.from(payload);
    const values = new Float32Array(aligned.buffer, aligned.byteOffset, payload.length / 4);
    scoreAnswer(rows, values, replica);
  }
}

function connect(): Server[] {
  const spec = requireEnv("AUTORESEARCH_MODEL_SERVERS").trim();
  if (!/^\d+,\d+( +\d+,\d+)*$/.test(spec)) {
    console.error(`evaluate: AUTORESEARCH_MODEL_SERVERS is "${spec}"; expected "W,R" file-descriptor pairs separated by spaces.`);
    process.exit(1);
  }
  return spec.split(/ +/).map((pair, replica) => {
    const [write, read] = pair.split(",").map(Number);
    const requests = new Socket({ fd: write, readable: false, writable: true });
    requests.on("error", () => undefined); // a dead server shows as the end of its answers
    const answers = new ByteReader(new Socket({ fd: read, readable: true, writable: false }));
    return { replica, requests, answers, parameterCount: Number.NaN };
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  const dataDir = requireEnv("AUTORESEARCH_DATA_DIR");
  const metricsFile = requireEnv("AUTORESEARCH_METRICS_FILE");
  const servers = connect();
  const val: Split = { name: "validation", text: new Uint8Array(readFileSync(join(dataDir, VAL_FILE))), bits: 0, scored: 0 };
  const test: Split = { name: "test", text: new Uint8Array(readFileSync(join(dataDir, TEST_FILE))), bits: 0, scored: 0 };
  if (servers.length < 2) {
    console.error("evaluate: only one model server, so each causality check goes to the server that answers the row it checks; a model that remembers what it was asked can pass them. Set evaluate.replicas to 2 or more.");
  }
  const { batches, checks } = plan([val, test], servers.length);
  try {
    await Promise.all(servers.map((server) => run(server, batches[server.replica])));
  } catch (error) {
    if (error instanceof ServerFailed) {
      console.error(`evaluate: ${error.message}`);
      process.exit(1);
    }
    if (!(error instanceof InvalidModel)) throw error;
    writeFileSync(metricsFile, JSON.stringify({ invalid: error.message }) + "\n");
    console.log(`invalid model: ${error.message}`);
    process.exit(0);
  }
  for (const split of [val, test]) {
    if (split.scored !== split.text.length) throw new Error(`scored ${split.scored} of the ${split.text.length} ${split.name} bytes (a bug in evaluate.ts)`);
  }
  for (const server of servers) server.requests.end();
  const metrics: Record<string, unknown> = {
    val_bpb: val.bits / val.scored,
    test_bpb: test.bits / test.scored,
    eval_seconds: (performance.now() - started) / 1000,
  };
  // The model server's own word: recorded, marked as such.
  const params = servers[0].parameterCount;
  if (Number.isFinite(params)) metrics.self_reported = { params };
  writeFileSync(metricsFile, JSON.stringify(metrics) + "\n");
  const rows = batches.reduce((sum, requests) => sum + requests.length * EVAL_ROWS, 0);
  console.log(
    `val_bpb ${(metrics.val_bpb as number).toFixed(4)} (evaluated in ${(metrics.eval_seconds as number).toFixed(1)}s: ` +
      `${rows} rows on ${servers.length} replicas, ${checks} of them causality checks)`,
  );
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error("evaluate: failed:", error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
