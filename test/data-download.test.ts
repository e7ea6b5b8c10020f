// Downloads against a real HTTP server on 127.0.0.1: resuming after a dropped connection,
// retries, checksums, the cache, and remote parquet shards as a data source.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { download } from "../src/data/download.ts";
import { readSource, expandTemplate } from "../src/data/sources.ts";
import { parquetFile, startFileServer } from "./helpers/gpt-data.ts";
import { tempDir } from "./helpers/ts-demo.ts";

const work = tempDir("data-download");
after(() => work.cleanup());
const payload = randomBytes(300_000);
const sha256 = createHash("sha256").update(payload).digest("hex");
let counter = 0;
const dest = () => join(work.path, `file-${++counter}.bin`);

test("a transfer cut mid-body resumes with a Range request and the file arrives whole", async (t) => {
  const server = await startFileServer({ files: { "/shard.bin": payload }, dropAfterBytes: 100_000, drops: 2 });
  t.after(() => server.close());
  const lines: string[] = [];
  const result = await download({ url: server.url("/shard.bin"), dest: dest(), sha256, retryDelayMs: 1, log: (line) => lines.push(line) });
  assert.deepEqual(readFileSync(result.path), payload);
  assert.equal(result.sha256, sha256);
  assert.equal(result.requests, 3);
  assert.deepEqual(server.requests.map((request) => request.range), [undefined, "bytes=100000-", "bytes=200000-"]);
  assert.match(lines.join("\n"), /attempt 1\/5 failed .*will resume from byte 100000/);
  assert.ok(!existsSync(`${result.path}.part`));
});

test("a server that ignores Range gets the whole file again, and the result is still right", async (t) => {
  const server = await startFileServer({ files: { "/f": payload }, dropAfterBytes: 50_000, drops: 1, ignoreRange: true });
  t.after(() => server.close());
  const result = await download({ url: server.url("/f"), dest: dest(), sha256, retryDelayMs: 1 });
  assert.deepEqual(readFileSync(result.path), payload);
  assert.equal(server.requests[1].range, "bytes=50000-");
});

test("a checksum mismatch fails after the retries, leaves no file, and says what to check", async (t) => {
  const server = await startFileServer({ files: { "/f": payload } });
  t.after(() => server.close());
  const target = dest();
  await assert.rejects(
    download({ url: server.url("/f"), dest: target, sha256: "0".repeat(64), attempts: 2, retryDelayMs: 1 }),
    /after 2 attempts: sha256 is [0-9a-f]{64}, expected 0{64}.*update the sha256 in constants\.json/,
  );
  assert.ok(!existsSync(target) && !existsSync(`${target}.part`));
  assert.equal(server.requests.length, 2);
});

test("a server that keeps dropping gives up after the attempts, keeping the part for next time", async (t) => {
  const server = await startFileServer({ files: { "/f": payload }, dropAfterBytes: 1000, drops: 100 });
  t.after(() => server.close());
  const target = dest();
  await assert.rejects(download({ url: server.url("/f"), dest: target, attempts: 3, retryDelayMs: 1 }), /after 3 attempts: .*resumed/);
  assert.equal(readFileSync(`${target}.part`).length, 3000);
});

test("404 is not retried; a cached file with the right checksum is not downloaded again", async (t) => {
  const server = await startFileServer({ files: { "/f": payload } });
  t.after(() => server.close());
  await assert.rejects(download({ url: server.url("/missing"), dest: dest(), retryDelayMs: 1 }), /HTTP 404.*check the URL/);
  assert.equal(server.requests.length, 1);
  const target = dest();
  await download({ url: server.url("/f"), dest: target, sha256 });
  const again = await download({ url: server.url("/f"), dest: target, sha256 });
  assert.equal(again.cached, true);
  assert.equal(server.requests.length, 2);
  writeFileSync(target, "corrupted");
  const repaired = await download({ url: server.url("/f"), dest: target, sha256 });
  assert.equal(repaired.cached, false);
  assert.deepEqual(readFileSync(target), payload);
});

test("remote parquet shards by URL template are downloaded into the cache once and read as documents", async (t) => {
  const shards = { "/data/shard_00000.parquet": parquetFile(["alpha", "beta"]), "/data/shard_00001.parquet": parquetFile(["gamma"], { compression: "zstd" }) };
  const server = await startFileServer({ files: shards, dropAfterBytes: 40, drops: 1 });
  t.after(() => server.close());
  const downloaded = new Map<string, { sha256: string; bytes: number }>();
  const ctx = { projectDir: work.path, cacheDir: join(work.path, "cache"), log: () => {}, retryDelayMs: 1, downloaded };
  const template = server.url("/data/shard_{index:05d}.parquet");
  assert.equal(expandTemplate(template, 1), server.url("/data/shard_00001.parquet"));
  const read = async () => {
    const documents: string[] = [];
    for await (const text of readSource({ type: "remote-parquet", url_template: template, indices: [0, 1], column: "text" }, ctx)) documents.push(text);
    return documents;
  };
  assert.deepEqual(await read(), ["alpha", "beta", "gamma"]);
  const requestsAfterFirst = server.requests.length;
  assert.equal(requestsAfterFirst, 3, "two shards, one of them resumed once");
  assert.deepEqual(await read(), ["alpha", "beta", "gamma"]);
  assert.equal(server.requests.length, requestsAfterFirst, "the second read comes from the cache");
  assert.equal(downloaded.get(server.url("/data/shard_00000.parquet"))?.sha256, createHash("sha256").update(shards["/data/shard_00000.parquet"]).digest("hex"));
});
