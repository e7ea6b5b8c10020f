import { EXIT, UsageError } from "../errors.ts";
import { EventBus } from "../events/types.ts";
import { runEmergencyExitHooks } from "../loop/emergency.ts";
import { runSession, type RunResult } from "../loop/session.ts";
import { createJsonlPrinter } from "../views/jsonl.ts";
import { createTerminalView } from "../views/terminal.ts";
import { parse, finiteNumber, positiveInteger, positiveNumber, type Command, type Io } from "./args.ts";
import { portFlag, startRunDashboard } from "./dashboard.ts";

export const RUN_HELP = `usage: autoresearch run [flags]

Runs the research loop in the current project until a stop rule fires or Ctrl-C.
Running it again on the same tag resumes the session.

  --tag T               session tag; its best lives on branch autoresearch/<T> (default: the latest session, or today's date)
  --max-experiments N   stop after N experiments in the session (baseline runs count)
  --max-hours H         stop starting experiments after H hours of this run
  --target X            stop once the best metric reaches X
  --slots N             experiments at once (one GPU each when GPUs are used; on a cluster, jobs in flight)
  --executor KIND       local (this machine) | slurm (one batch job per experiment) | kubernetes (one Job per
                        experiment; needs the config's "executor" section); overrides the config
  --proposer NAME       search | replay | llm | claude | codex | command (overrides the config)
  --unsandboxed         run the mutable code without the sandbox (full rights, network, held-out data readable);
                        needed only where bubblewrap cannot run, for proposers that write code
  --json                print the engine's event stream as JSON lines instead of the live view
  --dashboard           also serve the live web dashboard on 127.0.0.1 (its URL, with an access token, is printed)
  --port N              the dashboard's port (default: a free one)
  --project DIR         the project directory (default: the current directory)

examples:
  autoresearch run --max-experiments 30
  autoresearch run --tag mar5 --proposer llm --max-hours 8 --dashboard
  autoresearch run --executor slurm --slots 16
  autoresearch run --executor kubernetes --slots 16`;

export const runCommand: Command = {
  help: RUN_HELP,
  async run(argv: string[], io: Io) {
    const { values } = parse("run", argv, {
      tag: { type: "string" },
      "max-experiments": { type: "string" },
      "max-hours": { type: "string" },
      target: { type: "string" },
      slots: { type: "string" },
      executor: { type: "string" },
      proposer: { type: "string" },
      json: { type: "boolean" },
      unsandboxed: { type: "boolean" },
      project: { type: "string" },
      dashboard: { type: "boolean" },
      port: { type: "string" },
    });
    if (values.port !== undefined && !values.dashboard) throw new UsageError("run: --port only goes with --dashboard", "Add --dashboard, or leave --port out.");
    const port = portFlag("run", values.port);
    const executorKind = values.executor;
    if (executorKind !== undefined && executorKind !== "local" && executorKind !== "slurm" && executorKind !== "kubernetes") {
      throw new UsageError(`run: --executor "${executorKind}" is not an executor`, "Use --executor local (this machine), slurm (one Slurm batch job per experiment) or kubernetes (one Kubernetes Job per experiment).");
    }
    const dashboard = values.dashboard ? await startRunDashboard(io, values.project ?? io.cwd, port, Boolean(values.json)) : null;
    const result = await runWithViews(io, Boolean(values.json), (bus, signal) => {
      dashboard?.attach(bus);
      return runSession({
        projectDir: values.project ?? io.cwd,
        tag: values.tag,
        maxExperiments: positiveInteger("run", "max-experiments", values["max-experiments"]),
        maxHours: positiveNumber("run", "max-hours", values["max-hours"]),
        target: finiteNumber("run", "target", values.target),
        slots: positiveInteger("run", "slots", values.slots),
        executorKind,
        proposer: values.proposer,
        unsandboxed: Boolean(values.unsandboxed),
        bus,
        signal,
      });
    }).finally(() => dashboard?.close());
    return exitCodeFor(result);
  },
};

export function exitCodeFor(result: RunResult): number {
  if (result.interrupted) return EXIT.interrupted;
  return result.paused ? EXIT.paused : EXIT.ok;
}

/** Wires the views to a fresh event bus and Ctrl-C to an AbortSignal around one session. */
export async function runWithViews<T>(io: Io, json: boolean, body: (bus: EventBus, signal: AbortSignal) => Promise<T>): Promise<T> {
  const bus = new EventBus();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let stopView = () => {};
  if (json) {
    bus.subscribe(createJsonlPrinter(io.stdout, { backlogBytes: io.stdoutBacklog }));
  } else {
    const view = createTerminalView({ write: io.stdout, isTTY: io.isTTY, columns: io.columns > 0 ? io.columns : undefined, color: io.colour ?? false });
    bus.subscribe(view.subscriber);
    if (io.isTTY) timer = setInterval(() => view.render(), 250);
    stopView = () => view.stop();
  }
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts += 1;
    if (interrupts === 1) {
      io.stderr(`\n${signal}: stopping — running experiments are interrupted and recorded; press Ctrl-C again to quit at once\n`);
      controller.abort();
    } else {
      runEmergencyExitHooks();
      process.exit(EXIT.interrupted);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return await body(bus, controller.signal);
  } finally {
    if (timer) clearInterval(timer);
    stopView();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
