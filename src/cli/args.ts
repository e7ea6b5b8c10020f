// Flag parsing shared by the commands: node:util parseArgs in strict mode, with errors that say what to do.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.ts";

export type Options = NonNullable<ParseArgsConfig["options"]>;

export function parse<T extends Options>(command: string, argv: string[], options: T, maxPositionals = 0) {
  let parsed;
  try {
    parsed = parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, "")}`, `See \`autoresearch ${command} --help\`.`);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`${command}: unexpected argument "${parsed.positionals[maxPositionals]}"`, `See \`autoresearch ${command} --help\`.`);
  }
  return parsed;
}

export function positiveInteger(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new UsageError(`${command}: --${flag} must be a positive integer, got "${value}"`);
  return number;
}

export function positiveNumber(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new UsageError(`${command}: --${flag} must be a positive number, got "${value}"`);
  return number;
}

export function finiteNumber(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number)) throw new UsageError(`${command}: --${flag} must be a number, got "${value}"`);
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
  columns: number;
  cwd: string;
}
