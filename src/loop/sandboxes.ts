// Whether a session's jobs run sandboxed: chosen once when the session opens, carried by every job
// spec (job/sandboxes.ts says what each phase may see and write).
import { EnvironmentError } from "../errors.ts";
import type { ResearchConfig } from "../config/load.ts";
import type { IsolationLabel } from "../core/session.ts";
import { harnessHome } from "../project/paths.ts";
import { interpreterPaths, sandboxProblem } from "../sandbox/index.ts";

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
