// Red team, ts-demo: cheats aimed at the harness itself — its ledger, results.tsv and branch, the
// user's checkout and .git (code for the harness's own git to run), other runs' outputs and
// weights — and a ledger replaced under the running session. Real sessions through the CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  TAMPER, UNIFORM_BPB, cheatModel, cheatProblems, cheatTrain, checkoutFingerprint, harnessDamage, makeStudy, openArena,
  runStudy, sessionStory, templateModel, tsProposal, warmStart,
} from "../helpers/redteam.ts";

test("ts-demo: the ledger, results.tsv, the branch, .git, the user's checkout and other runs' files are out of reach", async (t) => {
  const arena = await openArena(t);
  const plain = cheatModel(arena);
  const cheats = [
    tsProposal("score the baseline 99 in the ledger, move the branch, fake a results row, write into the checkout and other runs, leave code for the harness's git", {
      train: cheatTrain(arena, TAMPER.ledgerInPlace + TAMPER.branchResultsCheckout + TAMPER.gitExec), model: plain,
    }),
    tsProposal("harvest what the harness's git copied out", { train: cheatTrain(arena, TAMPER.gitHarvest), model: plain }),
    tsProposal("start from another run's weights", { train: warmStart(), model: templateModel() }),
  ];
  const dir = await makeStudy(t, "ts-demo", { config: { budgetSeconds: 1 }, proposals: cheats });
  const checkout = checkoutFingerprint(dir);
  const run = await runStudy(dir, "state", arena);
  const problems = [...cheatProblems(dir, run, cheats, UNIFORM_BPB - 0.01), ...harnessDamage(dir, "state", arena, checkout)];
  assert.deepEqual(problems, [], sessionStory(dir));
});

test("ts-demo: a ledger replaced from inside training stops the session with a clear error", async (t) => {
  const arena = await openArena(t);
  const cheat = tsProposal("replace ledger.db with an empty database", { train: cheatTrain(arena, TAMPER.ledgerReplace), model: cheatModel(arena) });
  const dir = await makeStudy(t, "ts-demo", { config: { budgetSeconds: 1 }, proposals: [cheat] });
  const run = await runStudy(dir, "ledger", arena);
  const output = run.stdout + run.stderr;
  // Either the ledger was out of reach (the replay ran out as usual) or the harness noticed and said so.
  if (/replay file exhausted/.test(output)) {
    assert.deepEqual(cheatProblems(dir, run, [cheat], UNIFORM_BPB - 0.01), [], sessionStory(dir));
  } else {
    assert.notEqual(run.code, 0, output);
    assert.match(output, /ledger\.db/, output);
  }
});
