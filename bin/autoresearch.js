#!/usr/bin/env node
// Entry point. Plain JavaScript so that it can explain itself on any Node: the
// engine is TypeScript run by Node's built-in type stripping and needs Node >=22.13.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import nodeModule from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const [major, minor] = process.versions.node.split(".").map(Number);
const supported = major > 22 || (major === 22 && minor >= 13);

if (!supported) {
  // A clone that ran `npm install` carries Node 24 from the `node` dev dependency.
  const bundled = join(root, "node_modules", "node", "bin", "node");
  if (existsSync(bundled)) {
    const result = spawnSync(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
    process.exit(result.status ?? 1);
  }
  process.stderr.write(
    `autoresearch needs Node >=22.13 (this is ${process.version}).\n` +
      `Install Node 24 LTS, or run \`npm install\` in ${root} to get it as a dev dependency.\n`,
  );
  process.exit(2);
}

if (!process.features?.typescript) {
  // Node 22.13–22.17 strips types only behind a flag.
  const result = spawnSync(process.execPath, ["--experimental-strip-types", "--no-warnings", fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(result.status ?? 1);
}

// Node's compile cache keeps the type-stripped, compiled modules between runs (in the temp directory,
// checked against each file's content): about half of what a quick command like `status` costs to start.
nodeModule.enableCompileCache?.();

const { runCli } = await import("../src/cli/main.ts");
await runCli();
