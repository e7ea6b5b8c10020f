// Turns the config's `proposer` section into a Proposer.
import { resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { createReplayProposer } from "./replay.ts";
import { createSearchProposer } from "./search.ts";
import type { Proposer, ProposerConfig } from "./types.ts";
import { createLlmProposer } from "./llm/proposer.ts";
import { createAgentProposerFromConfig } from "./agents/proposer.ts";

export const PROPOSER_NAMES = ["search", "replay", "llm", "claude", "codex", "command"] as const;

/** Throws a ConfigError (a UserError) for an unknown name or a missing/broken replay file. */
export function createProposer(config: ProposerConfig, projectDir: string): Proposer {
  switch (config.name) {
    case "search":
      return createSearchProposer({ seed: config.seed });
    case "replay":
      if (!config.file) {
        throw new ConfigError(
          [`proposer.file: missing; the replay proposer needs the path of a JSON file of proposals, relative to the project root`],
          `Set proposer.file in the config, e.g. "proposer": {"name": "replay", "file": "replay.json"}.`,
        );
      }
      return createReplayProposer({ file: resolve(projectDir, config.file) });
    case "llm":
      return createLlmProposer(config, projectDir);
    case "claude":
    case "codex":
    case "command":
      return createAgentProposerFromConfig(config, projectDir);
    default:
      throw new ConfigError(
        [`proposer.name: unknown proposer "${config.name}"; expected one of: ${PROPOSER_NAMES.join(", ")}`],
        `Set proposer.name in the config to one of: ${PROPOSER_NAMES.join(", ")}.`,
      );
  }
}
