// The command table. Each command lives in its own module, imported only when it is called:
// `--version`, `status` or `show` never pay for the MCP SDK, the AI SDK or the dashboard.
import type { Command } from "./args.ts";

export interface CommandEntry {
  /** The line in `autoresearch --help`; here, not in the module, so the list needs no import. */
  summary: string;
  load(): Promise<Command>;
}

export const COMMANDS: Record<string, CommandEntry> = {
  init: { summary: "create a research project (a git repo) from a template", load: async () => (await import("./init.ts")).initCommand },
  run: { summary: "run the research loop (resumes an existing tag)", load: async () => (await import("./run.ts")).runCommand },
  status: { summary: "where a session stands (--json for scripts)", load: async () => (await import("./status.ts")).statusCommand },
  results: { summary: "the experiment table (--json, --tsv)", load: async () => (await import("./results.ts")).resultsCommand },
  show: { summary: "one experiment: description, diff, metrics, decision, log tail", load: async () => (await import("./show.ts")).showCommand },
  finalize: { summary: "what survived a session: re-score baseline vs best, ablate each keep, a clean branch of the keeps that mattered", load: async () => (await import("./finalize.ts")).finalizeCommand },
  promote: { summary: "do the gains hold at a longer budget? re-run the top k keeps and the baseline there, each gain with its interval at both", load: async () => (await import("./promote.ts")).promoteCommand },
  dashboard: { summary: "a live web dashboard of the project's sessions on 127.0.0.1 (read-only)", load: async () => (await import("./dashboard.ts")).dashboardCommand },
  report: { summary: "a self-contained HTML report plus progress.png/.svg of the progress chart", load: async () => (await import("./report.ts")).reportCommand },
  demo: { summary: "a short real research session on the bundled ts-demo workload (no GPU, no API key)", load: async () => (await import("./demo.ts")).demoCommand },
  doctor: { summary: "check Node, git, the sandbox, and (where the project needs them) Python and PyTorch", load: async () => (await import("./doctor.ts")).doctorCommand },
  mcp: { summary: "serve MCP over stdio so an agent (Claude Code, Codex, Cursor) can drive a session", load: async () => (await import("./mcp.ts")).mcpCommand },
  job: { summary: "run one experiment job from its spec (.autoresearch/runs/<id>/job.json): what executors run where the GPU is", load: async () => (await import("./job.ts")).jobCommand },
  share: { summary: "host a study for many machines: share init --db postgres://... --remote <git url>", load: async () => (await import("./share.ts")).shareCommand },
  join: { summary: "join a shared study: clone its base, register this machine as a worker", load: async () => (await import("./share.ts")).joinCommand },
  completion: { summary: "a completion script for bash, zsh or fish (commands and their flags)", load: async () => (await import("./completion.ts")).completionCommand(COMMANDS) },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return `usage: autoresearch <command> [flags]\n\ncommands:\n${lines.join("\n")}\n\n\`autoresearch <command> --help\` shows a command's flags and an example.\n` +
    `flags for every command: --no-color (or NO_COLOR=1); \`autoresearch --version\` (-V) prints the version.\n`;
}
