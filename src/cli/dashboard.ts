import { existsSync } from "node:fs";
import { join } from "node:path";
import { startDashboard, type RunningDashboard } from "../dashboard/dashboard.ts";
import { EXIT, UsageError, UserError } from "../errors.ts";
import { CONFIG_FILE, projectPaths } from "../project/paths.ts";
import { projectStudy } from "../share/overview.ts";
import { parse, type Command, type Io } from "./args.ts";
import { findProjectDir } from "./project.ts";

export const dashboardCommand: Command = {
  help: `usage: autoresearch dashboard [--port N] [--project DIR]

Serves the dashboard until Ctrl-C: the progress chart, the running experiments with their logs,
the experiment table (click one for its diff), the session summary, every session of the project;
in a shared study also its workers, which best each builds on, and every worker's experiments.
It only reads the ledger, so it can run beside \`autoresearch run\` (or use \`run --dashboard\`).
The printed URL carries an access token; requests without it are refused.

  --port N        the port on 127.0.0.1 (default: a free one)
  --project DIR   the project directory (default: the current directory)

example:
  autoresearch dashboard --port 8080`,
  async run(argv: string[], io: Io) {
    const { values } = parse("dashboard", argv, { port: { type: "string" }, project: { type: "string" } });
    const port = portFlag("dashboard", values.port);
    const paths = projectPaths(findProjectDir(values.project ?? io.cwd));
    if (!existsSync(join(paths.projectDir, CONFIG_FILE)) && !existsSync(paths.stateDir)) {
      throw new UserError(`${paths.projectDir} is not an autoresearch project (no ${CONFIG_FILE})`, {
        exitCode: EXIT.config,
        hint: "Run the dashboard inside a project, or point at one with --project DIR.",
      });
    }
    const dashboard = await startDashboard({ stateDir: paths.stateDir, port, feed: "poll", study: projectStudy(paths.projectDir) });
    io.stdout(`dashboard: ${dashboard.url}\n(read-only; it follows the ledger of ${paths.projectDir}. Ctrl-C stops it.)\n`);
    const signal = await untilSignal();
    await dashboard.close();
    io.stderr(`\n${signal}: dashboard stopped\n`);
    return EXIT.ok;
  },
};

/** The dashboard inside `run --dashboard`: fed by the engine's events once attached to its bus. */
export async function startRunDashboard(io: Io, projectDir: string, port: number | undefined, json: boolean): Promise<RunningDashboard> {
  const paths = projectPaths(findProjectDir(projectDir));
  const dashboard = await startDashboard({ stateDir: paths.stateDir, port, feed: "events", study: projectStudy(paths.projectDir) });
  (json ? io.stderr : io.stdout)(`dashboard: ${dashboard.url}\n`);
  return dashboard;
}

export function portFlag(command: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`${command}: --port must be a port number from 0 to 65535 (0: any free port), got "${value}"`);
  return port;
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve(signal);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
