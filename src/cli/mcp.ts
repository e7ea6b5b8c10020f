import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { createResearchServer } from "../mcp/server.ts";
import { parse, type Command, type Io } from "./args.ts";
import { findProjectDir } from "./project.ts";

export const mcpCommand: Command = {
  help: `usage: autoresearch mcp [--tag T] [--unsandboxed] [--project DIR]

Serves the Model Context Protocol on stdin/stdout. Tools: status, results, show_experiment,
run_experiment (your working-tree change of the mutable files, run and judged by the harness),
append_notebook. Register it with your agent, e.g.: claude mcp add autoresearch -- npx autoresearch mcp

  --tag T         the session (default: the latest, or a new one named after today)
  --unsandboxed   run the agent's experiments without the sandbox (needed only where bubblewrap cannot run)
  --project DIR   the project directory (default: the current directory)

example (Claude Code, in the project directory):
  claude mcp add autoresearch -- npx autoresearch mcp`,
  async run(argv: string[], io: Io) {
    const { values } = parse("mcp", argv, { tag: { type: "string" }, unsandboxed: { type: "boolean" }, project: { type: "string" } });
    const controller = new AbortController();
    const { server, idle } = createResearchServer({ projectDir: findProjectDir(values.project ?? io.cwd), tag: values.tag, signal: controller.signal, unsandboxed: Boolean(values.unsandboxed) });
    const closed = new Promise<void>((resolve) => {
      server.server.onclose = resolve;
    });
    // The client ends the session by closing our stdin (then SIGTERM): interrupt a running
    // experiment so it is recorded as interrupted and its processes are gone before we exit.
    const shutDown = () => {
      controller.abort();
      void server.close();
    };
    process.stdin.once("end", shutDown);
    process.once("SIGTERM", shutDown);
    process.once("SIGINT", shutDown);
    await server.connect(new StdioServerTransport());
    await closed;
    await idle();
    return 0;
  },
};
