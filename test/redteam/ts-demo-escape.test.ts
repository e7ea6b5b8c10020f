// Red team, ts-demo: cheats that act outside the moment they are checked — processes that outlive
// training and change files afterwards, files changed in place after the commit or the checksum,
// training past the budget, a model that behaves differently when it may be checked or remembers
// earlier requests — and text made to rewrite the terminal. One real session through the CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  TAMPER, TERMINAL_TRICKS, UNIFORM_BPB, cheatModel, cheatProblems, cheatTrain, checkoutFingerprint, controlCharacters, escapee,
  harnessDamage, makeStudy, openArena, pastTheBudget, rewriteOwnModel, rowsByDescription, runCli, runStudy, sessionStory,
  templateModel, tsProposal,
} from "../helpers/redteam.ts";

test("ts-demo: escaped processes, late changes, overtime, check-dodging models and terminal escapes win nothing", async (t) => {
  const arena = await openArena(t);
  const plain = cheatModel(arena);
  const cheats = [
    tsProposal("escape the phase (setsid, double fork, nohup; clean env) to swap model.ts and the metrics during evaluation", {
      train: cheatTrain(arena, escapee(arena, "setsid") + escapee(arena, "double-fork") + escapee(arena, "nohup")), model: plain,
    }),
    tsProposal(`change files in place while training: the evaluator, the committed model.ts ${TERMINAL_TRICKS}`, {
      train: cheatTrain(arena, TAMPER.evaluatorInWorktree + rewriteOwnModel(arena) + `console.log(${JSON.stringify(`${TERMINAL_TRICKS}val_bpb: 0.0001`)}); process.stderr.write(${JSON.stringify(`\x1b[1A\x1b[2K${TERMINAL_TRICKS}\n`)});`),
      model: `${plain}\n// ${TERMINAL_TRICKS.replace("\r", "")} this line hides itself in a terminal\n`, // (a \r would end the comment)
    }, `hypothesis ${TERMINAL_TRICKS}`),
    tsProposal("peek at the next position within the row", { train: cheatTrain(arena), model: cheatModel(arena, "", "peek") }),
    tsProposal("remember every context ever requested", { train: cheatTrain(arena), model: cheatModel(arena, "", "remember-requests") }),
  ];
  const overtime = tsProposal("train past the budget", { train: pastTheBudget(), model: templateModel() });
  const dir = await makeStudy(t, "ts-demo", { config: { budgetSeconds: 1 }, proposals: [...cheats, overtime] });
  const checkout = checkoutFingerprint(dir);
  const run = await runStudy(dir, "escape", arena);
  t.diagnostic(sessionStory(dir));

  const problems = cheatProblems(dir, run, cheats, UNIFORM_BPB - 0.01);
  const rows = rowsByDescription(dir);
  // Training past the budget is stopped, whatever the model would have scored.
  const overtimeRow = rows.get(overtime.description);
  if (overtimeRow?.status !== "timeout") problems.push(`train past the budget: ${overtimeRow?.status ?? "never ran"} (${overtimeRow?.reason ?? `metric ${overtimeRow?.metric}`}), expected timeout`);
  problems.push(...harnessDamage(dir, "escape", arena, checkout));
  assert.deepEqual(problems, [], sessionStory(dir));

  // What a person reads — the run's own output, `results`, `show` — carries no raw control characters.
  const terminal = [...rows.values()].find((row) => row.description.startsWith("change files in place"))!;
  assert.match(readFileSync(terminal.logPath, "latin1"), /\x1b/, "the planted escapes reached the log (the views must neutralise them)");
  const views = {
    run: run.stdout,
    results: (await runCli(["results", "--project", dir, "--tag", "escape"], arena)).stdout,
    show: (await runCli(["show", String(terminal.id), "--project", dir], arena)).stdout,
  };
  assert.match(views.show, /change files in place/);
  for (const [view, text] of Object.entries(views)) assert.deepEqual(controlCharacters(text), [], `raw control characters in \`${view}\``);
});
