// The command table. Each command lives in its own file.
import type { Io } from "./args.ts";
import { dashboardCommand } from "./dashboard.ts";
import { demoCommand } from "./demo.ts";
import { doctorCommand } from "./doctor.ts";
import { initCommand } from "./init.ts";
import { mcpCommand } from "./mcp.ts";
import { reportCommand } from "./report.ts";
import { resultsCommand } from "./results.ts";
import { runCommand } from "./run.ts";
import { showCommand } from "./show.ts";
import { statusCommand } from "./status.ts";

export interface Command {
  summary: string;
  help: string;
  run(argv: string[], io: Io): Promise<number>;
}

export const COMMANDS: Record<string, Command> = {
  init: initCommand,
  run: runCommand,
  status: statusCommand,
  results: resultsCommand,
  show: showCommand,
  dashboard: dashboardCommand,
  report: reportCommand,
  demo: demoCommand,
  doctor: doctorCommand,
  mcp: mcpCommand,
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return `usage: autoresearch <command> [flags]\n\ncommands:\n${lines.join("\n")}\n\n\`autoresearch <command> --help\` shows a command's flags.\n`;
}
