// The `autoresearch` command: dispatch to one small module per command, loaded when called, and the one top-level catch.
import { environmentErrorFrom, EXIT, UserError } from "../errors.ts";
import type { Io } from "./args.ts";
import { COMMANDS, usage } from "./commands.ts";

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.stdout(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "--version" || name === "-v" || name === "version") {
    io.stdout(`${await version()}\n`);
    return EXIT.ok;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    io.stderr(`autoresearch: unknown command "${name}"\n${usage()}`);
    return EXIT.usage;
  }
  try {
    // Only the called command's module is loaded (and what it imports).
    const command = await entry.load();
    if (rest.includes("--help") || rest.includes("-h")) {
      io.stdout(`${command.help}\n`);
      return EXIT.ok;
    }
    return await command.run(rest, io);
  } catch (thrown) {
    const error = environmentErrorFrom(thrown) ?? thrown;
    if (error instanceof UserError) {
      io.stderr(`autoresearch ${name}: ${error.message}\n`);
      if (error.hint) io.stderr(`${error.hint}\n`);
      return error.exitCode;
    }
    io.stderr(`autoresearch ${name}: unexpected error (a bug; please report it with this output)\n${(error as Error)?.stack ?? String(error)}\n`);
    return EXIT.failure;
  }
}

async function version(): Promise<string> {
  const { readFileSync } = await import("node:fs");
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** Runs the CLI as a process: real stdio, exit code, Ctrl-C handled by the commands that run long. */
export async function runCli(): Promise<void> {
  const io: Io = {
    stdout: (text) => process.stdout.write(text),
    stdoutBacklog: () => process.stdout.writableLength,
    stderr: (text) => process.stderr.write(text),
    isTTY: Boolean(process.stdout.isTTY),
    columns: process.stdout.columns ?? 100,
    cwd: process.cwd(),
  };
  process.exitCode = await main(process.argv.slice(2), io);
}
