// Few typed errors, one exit-code table, one top-level catch (src/cli/main.ts).

export const EXIT = {
  ok: 0,
  failure: 1,       // unexpected error (a bug): the stack is printed
  usage: 2,         // bad flags or arguments
  config: 3,        // the config file or project is wrong
  environment: 4,   // a tool is missing (git, node, python) or the machine can't do it
  paused: 5,        // the session paused itself (K consecutive failures, proposer down)
  interrupted: 130, // Ctrl-C
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the user can act on: printed as one line (plus an optional hint), no stack. */
export class UserError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  constructor(message: string, options: { exitCode?: ExitCode; hint?: string } = {}) {
    super(message);
    this.name = "UserError";
    this.exitCode = options.exitCode ?? EXIT.failure;
    this.hint = options.hint;
  }
}

export class UsageError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: EXIT.usage, hint });
    this.name = "UsageError";
  }
}

export class ConfigError extends UserError {
  /** Each problem as "file: path.to.field: what is wrong, what was expected". */
  readonly problems: string[];
  constructor(problems: string[], hint?: string) {
    super(problems.join("\n"), { exitCode: EXIT.config, hint });
    this.name = "ConfigError";
    this.problems = problems;
  }
}

export class EnvironmentError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: EXIT.environment, hint });
    this.name = "EnvironmentError";
  }
}
