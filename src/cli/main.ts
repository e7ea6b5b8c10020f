// The `autoresearch` command: dispatch to one small module per command, loaded when called, and the one top-level catch.
import { WriteStream } from "node:tty";
import { environmentErrorFrom, EXIT, UserError } from "../errors.ts";
import type { Io } from "./args.ts";
import { COMMANDS, usage } from "./commands.ts";
import { closest } from "./suggest.ts";

/** Flags every command takes, wherever they stand; main takes them out before the command parses. */
export const GLOBAL_FLAGS = ["--no-color", "--help", "--version"] as const;

export async function main(argv: string[], io: Io): Promise<number> {
  if (argv.includes("--no-color")) {
    io = { ...io, colour: false };
    argv = argv.filter((arg) => arg !== "--no-color");
  }
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h") {
    io.stdout(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "--version" || name === "-V" || name === "-v" || name === "version") {
    io.stdout(`${await version()}\n`);
    return EXIT.ok;
  }
  if (name === "help") return rest[0] === undefined ? (io.stdout(usage()), EXIT.ok) : main([rest[0], "--help"], io);
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    const guess = name.startsWith("-") ? null : closest(name, Object.keys(COMMANDS));
    const what = name.startsWith("-") ? `unknown flag ${name} (before a command only --help, --version and --no-color)` : `unknown command "${name}"`;
    io.stderr(`autoresearch: ${what}${guess ? `; did you mean "${guess}"?` : ""}\n${usage()}`);
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
      // Messages may name the command themselves ("show: ..."); it is said once.
      const message = error.message.startsWith(`${name}: `) ? error.message.slice(name.length + 2) : error.message;
      io.stderr(`autoresearch ${name}: ${message}\n`);
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

/**
 * Whether the live view may colour its output, as Node's util.styleText decides for a stream:
 * FORCE_COLOR forces it (FORCE_COLOR=0 forbids it), else NO_COLOR (non-empty), NODE_DISABLE_COLORS
 * or TERM=dumb turn it off, else a terminal that can show colours gets them. --no-color wins over all.
 */
export function colourWanted(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  const depth = WriteStream.prototype.getColorDepth.call(null, env);
  return env.FORCE_COLOR !== undefined ? depth > 2 : isTTY && depth > 2;
}

/** Runs the CLI as a process: real stdio, exit code, Ctrl-C handled by the commands that run long. */
export async function runCli(): Promise<void> {
  const isTTY = Boolean(process.stdout.isTTY);
  const io: Io = {
    stdout: (text) => process.stdout.write(text),
    stdoutBacklog: () => process.stdout.writableLength,
    stderr: (text) => process.stderr.write(text),
    isTTY,
    // 0 is "unknown": a pipe, or a terminal that reports no size (some do report 0).
    columns: process.stdout.columns || 0,
    cwd: process.cwd(),
    colour: colourWanted(process.env, isTTY),
  };
  process.exitCode = await main(process.argv.slice(2), io);
}
