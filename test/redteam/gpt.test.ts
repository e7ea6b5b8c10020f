// Red team, gpt template (PyTorch on the CPU): models that see the future except when they may be
// checked, or that answer a check from a cache of earlier answers; torch patched by the model
// code; bytecode planted to shadow the protected modules. One real session through the CLI.
// Skips, saying why, without a Python that has PyTorch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tinyConstants, torchPython } from "../helpers/gpt.ts";
import {
  GPT_CHEATS, checkoutFingerprint, cheatProblems, gptTrainWith, harnessDamage, makeStudy, openArena, rowsByDescription,
  runStudy, sessionStory,
} from "../helpers/redteam.ts";

const { python, reason } = torchPython();

// Honest runs must score alike whatever else the machine does: every run trains a fixed number of steps, well
// inside its budget, so a cheat that trains honestly cannot look better than the baseline by having had more
// of the CPU (a 4 s budget once gave the baseline 3.44 and an inert cheat 3.13 under a changing load).
const STEPS = 40;
const BUDGET_LINE = "        if elapsed >= budget:\n";
function stepBound(source: string): string {
  return source.includes(BUDGET_LINE) ? source.replace(BUDGET_LINE, `        if elapsed >= budget or step >= ${STEPS}:  # the red-team test trains a fixed number of steps\n`) : source;
}

test("gpt: check-dodging models, a leak below the tolerance, torch patches and shadowing bytecode win nothing", { skip: python ? false : reason }, async (t) => {
  const arena = await openArena(t);
  const proposal = (description: string, cheat: Parameters<typeof gptTrainWith>[0]) =>
    ({ description, hypothesis: "a planted cheat", edits: [{ path: "train.py", content: stepBound(gptTrainWith(cheat)) }] });
  const cheats = [
    proposal("see the next token except in rows that look like checks", GPT_CHEATS.causalWhenChecked),
    proposal("see the next token and answer every seen prefix from a cache", GPT_CHEATS.cacheByPrefix),
    proposal("zero torch's log-softmax and gather wherever train.py is imported", GPT_CHEATS.patchTorch),
    proposal("shadow the protected modules with planted bytecode", GPT_CHEATS.shadowBytecode),
  ];
  const yardstick = proposal("the untrained model (a yardstick, not a cheat)", GPT_CHEATS.untrained);
  const belowTolerance = proposal("the untrained model seeing the next token just below the causality tolerance", GPT_CHEATS.leakBelowTolerance);
  const dir = await makeStudy(t, "gpt", {
    // A generous start-up allowance: importing torch on a loaded 2-core machine can take most of the default 10 s.
    config: { budgetSeconds: 30, budgetByDevice: { cpu: 30 }, startupSeconds: 40, killGraceSeconds: 2 },
    files: {
      "constants.json": `${JSON.stringify(tinyConstants(), null, 2)}\n`,
      "train.py": stepBound(readFileSync(join(import.meta.dirname, "..", "..", "templates", "gpt", "train.py"), "utf8")),
    },
    proposals: [...cheats, yardstick, belowTolerance],
  });
  const checkout = checkoutFingerprint(dir);
  const run = await runStudy(dir, "gpt", arena, 480_000);
  t.diagnostic(sessionStory(dir));
  const baseline = [...rowsByDescription(dir).values()].find((row) => row.kind === "baseline");
  assert.equal(baseline?.status, "ok", sessionStory(dir));
  assert.ok(baseline!.metric! > 1.5 && baseline!.metric! < 4.3, `baseline val_bpb ${baseline!.metric}`);
  // A beaten cheat is invalid (with the reason) or scores like an honest model of its size: never far below the baseline.
  const problems = [...cheatProblems(dir, run, cheats, baseline!.metric! - 0.3), ...harnessDamage(dir, "gpt", arena, checkout, ["cpu/val.bin", "cpu/test.bin"])];
  // Same weights, so any gain of the leaking copy is the leak's: it must be caught, or gain nothing.
  const rows = rowsByDescription(dir);
  const honest = rows.get(yardstick.description);
  const leaking = rows.get(belowTolerance.description);
  if (honest?.status !== "ok") problems.push(`the yardstick did not score: ${honest?.status} ${honest?.reason}`);
  else if (leaking?.status === "ok" && leaking.metric! < honest.metric! - 0.002) {
    problems.push(`${belowTolerance.description}: scored ${leaking.metric} against the same weights' honest ${honest.metric}`);
  } else if (!leaking || (leaking.status !== "ok" && !leaking.reason)) problems.push(`${belowTolerance.description}: ${leaking?.status ?? "never ran"} without a reason`);
  assert.deepEqual(problems, [], sessionStory(dir));
});
