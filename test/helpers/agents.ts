// Stand-in coding agents for tests: a temp bin directory with `claude`, `codex` and `fake-agent`
// executables (test/helpers/fake-agent.ts), each playing the steps of a JSON script.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { FakeRecord, FakeStep } from "./fake-agent.ts";

export type { FakeRecord, FakeStep } from "./fake-agent.ts";

const FAKE_AGENT = join(import.meta.dirname, "fake-agent.ts");

export interface FakeAgents {
  binDir: string;
  /** A shell command line that runs the generic fake agent (for the `command` proposer). */
  commandLine: string;
  /** Every invocation so far, oldest first. */
  calls(): FakeRecord[];
}

/** Writes the script and the executables; everything is removed when the test ends. */
export function fakeAgents(t: TestContext, steps: FakeStep[]): FakeAgents {
  const binDir = mkdtempSync(join(tmpdir(), "autoresearch-fake-agents-"));
  t.after(() => rmSync(binDir, { recursive: true, force: true }));
  const scriptPath = join(binDir, "script.json");
  writeFileSync(scriptPath, JSON.stringify({ steps }));
  for (const agent of ["claude", "codex", "fake-agent"]) {
    const role = agent === "fake-agent" ? "command" : agent;
    const path = join(binDir, agent);
    writeFileSync(path, `#!/bin/sh\nexec '${process.execPath}' '${FAKE_AGENT}' ${role} '${scriptPath}' "$@"\n`);
    chmodSync(path, 0o755);
  }
  return {
    binDir,
    commandLine: `'${join(binDir, "fake-agent")}' --some-flag`,
    calls: () => {
      const file = `${scriptPath}.calls.jsonl`;
      if (!existsSync(file)) return [];
      return readFileSync(file, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as FakeRecord);
    },
  };
}

/** Puts the fakes first on PATH for this test (the harness finds `claude` and `codex` there). */
export function useFakesOnPath(t: TestContext, agents: FakeAgents): void {
  const before = process.env.PATH;
  process.env.PATH = `${agents.binDir}:${before ?? ""}`;
  t.after(() => {
    process.env.PATH = before;
  });
}

export const FINAL_MESSAGE = (description: string, hypothesis: string) => `I changed the file.\n\nDESCRIPTION: ${description}\nHYPOTHESIS: ${hypothesis}\n`;
