// Red team, ts-demo: cheats aimed at the harness itself — its ledger, results.tsv and branch, the
// user's checkout and .git (code for the harness's own git to run), other runs' outputs and
// weights — and a ledger replaced under the running session. Real sessions through the CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  TAMPER, UNIFORM_BPB, cheatModel, cheatProblems, cheatTrain, checkoutFingerprint, harnessDamage, makeStudy, openArena,
  runCli, runStudy, sessionStory, templateModel, tsProposal, warmStart,
} from "../helpers/redteam.ts";
import { gitIn } from "../helpers/project.ts";

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
  t.diagnostic(sessionStory(dir));
  const problems = [...cheatProblems(dir, run, cheats, UNIFORM_BPB - 0.01), ...harnessDamage(dir, "state", arena, checkout)];
  assert.deepEqual(problems, [], sessionStory(dir));
});

// The harness's own checks are what is left where the sandbox is off (--unsandboxed, or a machine without
// one), so they are tested there: the only place a workload can reach the branch and the ledger.
test("ts-demo, unsandboxed: a moved branch is put back and a replaced ledger stops the session with a clear error", async (t) => {
  const arena = await openArena(t);
  const cheats = [
    tsProposal("move the session branch to this candidate", { train: cheatTrain(arena, TAMPER.moveBranch), model: cheatModel(arena) }),
    tsProposal("replace ledger.db with an empty database", { train: cheatTrain(arena, TAMPER.ledgerReplace), model: `${cheatModel(arena)}\n` }),
  ];
  const dir = await makeStudy(t, "ts-demo", { config: { budgetSeconds: 1 }, proposals: cheats });
  const baselineCommit = gitIn(dir, "rev-parse", "HEAD");
  const run = await runCli(["run", "--project", dir, "--tag", "self", "--unsandboxed"], arena);
  const output = run.stdout + run.stderr;
  // Experiment 2 (after the baseline) moved the branch: its log says so.
  const log = join(dir, ".autoresearch", "logs", "2.log");
  assert.ok(existsSync(log), `experiment 2 never ran:\n${output}`);
  assert.match(readFileSync(log, "utf8"), /CHEAT update-ref refs\/heads\/autoresearch\/self: exit 0/, "the branch cheat ran");
  assert.equal(gitIn(dir, "rev-parse", "autoresearch/self"), baselineCommit, "the moved branch was put back at the best");
  assert.notEqual(run.code, 0, output);
  assert.match(output, /ledger\.db was replaced|ledger\.db .*(deleted|replaced)/, output);
  assert.match(output, /The session stopped/, "the session said it stopped");
});
