// A protected measure script: runs the build with OUT_DIR set to the experiment's output directory
// (the checkout is read-only in the sandbox), then writes the gzipped size of everything it built.
//   usage: node measure/size.js METRIC COMMAND [ARGS...]
//   e.g.   node measure/size.js bundle_bytes node build.js
const { spawnSync } = require("node:child_process");
const { readdirSync, readFileSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");
const { gzipSync } = require("node:zlib");
const [metric, command, ...args] = process.argv.slice(2);
const { AUTORESEARCH_METRICS_FILE: metricsFile, ...env } = process.env;
const out = process.env.AUTORESEARCH_OUTPUT_DIR;
const build = spawnSync(command, args, { env: { ...env, OUT_DIR: out }, stdio: ["ignore", "inherit", "inherit"] });
if (build.status !== 0) {
  console.error(`the build failed (${build.status ?? build.signal ?? build.error})`);
  process.exit(1);
}
let files = 0;
let bytes = 0;
for (const entry of readdirSync(out, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile()) continue;
  files += 1;
  bytes += gzipSync(readFileSync(join(entry.parentPath, entry.name))).length;
}
if (files === 0) {
  console.error(`the build wrote nothing to OUT_DIR (${out})`);
  process.exit(1);
}
writeFileSync(metricsFile, JSON.stringify({ [metric]: bytes, files }));
console.log(`${metric}: ${bytes} (${files} files, gzipped)`);
