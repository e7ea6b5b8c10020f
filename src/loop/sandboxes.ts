// What each phase of an experiment may see and write, when the session is sandboxed:
//   train   the candidate (read-only), the training data (held-out files absent), its output dir (writable)
//   serve   the candidate and the trained output (both read-only); no data at all
//   scorer  the candidate, the output (read-only) and all prepared data; writes only its metrics dir
// Each also gets the interpreters and the private /tmp and HOME of the sandbox (sandbox/bwrap.ts).
import { EnvironmentError } from "../errors.ts";
import type { ResearchConfig } from "../config/load.ts";
import type { SlotDevice } from "../executors/devices.ts";
import type { IsolationLabel } from "../ledger/types.ts";
import { gpuDeviceNodes, interpreterPaths, sandboxProblem, type SandboxSpec } from "../sandbox/index.ts";
import { harnessHome } from "./environment.ts";
import type { SessionContext } from "./context.ts";

/** How a session isolates the mutable code. */
export type Isolation =
  | { sandboxed: true; network: boolean; readOnly: string[] }
  | { sandboxed: false; reason: string };

/** Proposers that write arbitrary code; without a sandbox they run only with --unsandboxed. */
const CODE_WRITING_PROPOSERS = new Set(["llm", "claude", "codex", "command"]);

/** "sandbox", "sandbox+network" or "unsandboxed": what every view shows. */
export function isolationLabel(isolation: Isolation): IsolationLabel {
  if (!isolation.sandboxed) return "unsandboxed";
  return isolation.network ? "sandbox+network" : "sandbox";
}

/**
 * Decides the session's isolation: the sandbox where this machine can make one; otherwise
 * unsandboxed with a warning for proposers that only turn knobs or replay the user's own patches,
 * and a refusal for proposers that write code, unless the user passed --unsandboxed.
 */
export async function chooseIsolation(config: ResearchConfig, options: { unsandboxed: boolean; writesCode: boolean; env: NodeJS.ProcessEnv }): Promise<{ isolation: Isolation; warning: string | null }> {
  if (options.unsandboxed) {
    return { isolation: { sandboxed: false, reason: "--unsandboxed" }, warning: "unsandboxed (--unsandboxed): the mutable code runs with your full rights, can read the held-out data, and can reach the network" };
  }
  const problem = await sandboxProblem();
  if (problem) {
    if (options.writesCode || CODE_WRITING_PROPOSERS.has(config.proposer.name)) {
      const whose = options.writesCode ? "the agent's" : `the ${config.proposer.name} proposer's`;
      throw new EnvironmentError(
        `cannot sandbox ${whose} code on this machine: ${problem}`,
        "Install bubblewrap (apt-get install bubblewrap) and allow user namespaces, or pass --unsandboxed to run proposed code with your full rights. `autoresearch doctor` checks this.",
      );
    }
    return { isolation: { sandboxed: false, reason: problem }, warning: `unsandboxed: ${problem}. The ${config.proposer.name} proposer only changes what you let it, but training runs with your full rights.` };
  }
  const readOnly = [
    ...interpreterPaths({ path: options.env.PATH ?? "", python: options.env.AUTORESEARCH_PYTHON, home: options.env.HOME, excluded: [config.projectDir, harnessHome()] }),
    ...config.sandbox.readOnly,
  ];
  const network = config.sandbox.network;
  return { isolation: { sandboxed: true, network, readOnly }, warning: network ? "sandbox.network is on: sandboxed phases can reach the network" : null };
}

interface PhasePaths {
  worktree: string;
  outputDir: string;
}

function base(ctx: SessionContext, slot: SlotDevice, isolation: Extract<Isolation, { sandboxed: true }>, paths: PhasePaths): SandboxSpec {
  const { sandbox } = ctx.config;
  return {
    cwd: paths.worktree,
    readOnly: [...isolation.readOnly, paths.worktree],
    writable: [],
    network: isolation.network,
    devices: gpuDeviceNodes(slot.device),
    limits: { tmpMb: sandbox.tmpMb, maxFileMb: sandbox.maxFileMb, maxProcesses: sandbox.maxProcesses, memoryMb: sandbox.memoryMb },
  };
}

export function trainSandbox(ctx: SessionContext, slot: SlotDevice, paths: PhasePaths): SandboxSpec | undefined {
  if (!ctx.isolation.sandboxed) return undefined;
  const spec = base(ctx, slot, ctx.isolation, paths);
  return { ...spec, writable: [paths.outputDir], data: { dir: ctx.paths.dataDir, hidden: ctx.hiddenFromTrain } };
}

export function serveSandbox(ctx: SessionContext, slot: SlotDevice, paths: PhasePaths): SandboxSpec | undefined {
  if (!ctx.isolation.sandboxed) return undefined;
  const spec = base(ctx, slot, ctx.isolation, paths);
  return { ...spec, readOnly: [...spec.readOnly, paths.outputDir] };
}

/** The scorer runs protected code, but in a sandbox too: it can write nothing but its metrics, and reach nothing. */
export function scorerSandbox(ctx: SessionContext, slot: SlotDevice, paths: PhasePaths & { metricsDir: string }): SandboxSpec | undefined {
  if (!ctx.isolation.sandboxed) return undefined;
  const spec = base(ctx, slot, ctx.isolation, paths);
  return { ...spec, readOnly: [...spec.readOnly, paths.outputDir], writable: [paths.metricsDir], data: { dir: ctx.paths.dataDir, hidden: [] } };
}

/** The sandbox settings that matter for `status` and the ledger, in one line. */
export function describeIsolation(config: ResearchConfig, isolation: Isolation): string {
  if (!isolation.sandboxed) return `unsandboxed (${isolation.reason})`;
  const memory = config.sandbox.memoryMb ? `, ${config.sandbox.memoryMb} MiB` : "";
  return `sandbox (bubblewrap${isolation.network ? ", network ON" : ", no network"}${memory}, ≤ ${config.sandbox.maxProcesses} processes)`;
}
