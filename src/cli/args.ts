// Flag parsing shared by the commands: node:util parseArgs in strict mode, with errors that say what to do.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.ts";
import { closest } from "./suggest.ts";

export type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * The flags and positionals of one command. Messages leave out the command's name: the top-level
 * catch prints "autoresearch <command>: " before them.
 */
export function parse<T extends Options>(command: string, argv: string[], options: T, maxPositionals = 0) {
  const seeHelp = `See \`autoresearch ${command} --help\`.`;
  // Unknown flags first, in our words (parseArgs' own text quotes unevenly and suggests nothing).
  const { tokens } = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind !== "option" || Object.hasOwn(options, token.name)) continue;
    const typed = token.rawName;
    const known = Object.keys(options).map((name) => `--${name}`);
    const guess = typed.startsWith("--") ? closest(typed, known) : null;
    const listed = known.length > 0 ? `its flags are ${known.join(", ")}` : "it takes no flags";
    throw new UsageError(`unknown flag ${typed}${guess ? `; did you mean ${guess}?` : ""}`, `${command}: ${listed}. ${seeHelp}`);
  }
  let parsed;
  try {
    parsed = parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(flagProblem(error as Error & { code?: string }, options), seeHelp);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument "${parsed.positionals[maxPositionals]}"${maxPositionals === 0 ? ` (${command} takes only flags)` : ""}`, seeHelp);
  }
  return parsed;
}

/** parseArgs' strict-mode error about a known flag (a missing or an unwanted value), in our words. */
function flagProblem(error: Error & { code?: string }, options: Options): string {
  const name = /'(--?[^ ']+)/.exec(error.message)?.[1]?.replace(/^-+/, "");
  const flag = name === undefined ? undefined : Object.hasOwn(options, name) ? name : Object.keys(options).find((key) => options[key]!.short === name);
  if (flag !== undefined && error.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    return options[flag]!.type === "string" ? `--${flag} needs a value, e.g. --${flag} VALUE` : `--${flag} is a switch and takes no value`;
  }
  return error.message.replace(/^TypeError \[[A-Z_]+\]: /, "");
}

/** A positional number such as `show <id>`: named as the positional it is, not as a flag. */
export function positionalId(name: string, value: string, where: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new UsageError(`<${name}> must be a positive whole number, got "${value}"`, where);
  return number;
}

export function positiveInteger(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new UsageError(`--${flag} must be a positive integer, got "${value}"`, `See \`autoresearch ${command} --help\`.`);
  return number;
}

export function positiveNumber(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new UsageError(`--${flag} must be a positive number, got "${value}"`, `See \`autoresearch ${command} --help\`.`);
  return number;
}

export function finiteNumber(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number)) throw new UsageError(`--${flag} must be a number, got "${value}"`, `See \`autoresearch ${command} --help\`.`);
  return number;
}

/** What a command module exports; its one-line summary lives in the table in commands.ts. */
export interface Command {
  help: string;
  run(argv: string[], io: Io): Promise<number>;
}

export interface Io {
  stdout: (text: string) => void;
  /** Bytes written to stdout that its reader has not taken yet (run --json drops log lines above a mark). */
  stdoutBacklog?: () => number;
  stderr: (text: string) => void;
  isTTY: boolean;
  /** Terminal width; 0 or less when unknown (some terminals report 0). */
  columns: number;
  cwd: string;
  /** Colour in the live view: NO_COLOR, FORCE_COLOR and --no-color decided (colourWanted in main.ts); off when absent. */
  colour?: boolean;
}
