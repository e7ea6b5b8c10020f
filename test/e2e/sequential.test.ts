// The sequential decision through the real engine (git, sandboxed jobs, SQLite) on a workload whose
// truth is known: baselines, a candidate decided after its runs, the new best re-measured with fresh runs
// whose mean becomes the best, a harmful change dropped after one run, and what `status` says σ rests on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { acceptanceSchema } from "../../src/config/schema.ts";
import { runSession } from "../../src/loop/session.ts";
import { Ledger } from "../../src/ledger/sqlite.ts";
import { CLI, gitIn, ledgerRows, recordingBus } from "../helpers/project.ts";
import { makeNoisyProject, noisyConfig, scoreOf, seedProposal, valueProposal } from "../helpers/noisy-workload.ts";

const never = new AbortController().signal;

const defaults = acceptanceSchema.parse({});
const fresh = defaults.remeasureRuns;

test(`sequential: four baselines, a 10σ gain kept and its value replaced by the mean of ${fresh} fresh runs, a harmful change dropped at once`, async (t) => {
  // The null change comes after the baselines, the gain and its re-measures; its seed is one whose draws at the
  // ids it may take stay within 1σ of the best, so it is not a lucky keep.
  const nullFrom = 4 + 1 + fresh + 1;
  const ids = Array.from({ length: 2 * defaults.maxRuns + 1 }, (_, index) => nullFrom + index);
  const quietSeed = Array.from({ length: 500 }, (_, index) => index + 1)
    .find((seed) => ids.every((id) => Math.abs(scoreOf(-1, seed, id) - (10 - 1)) < 0.1))!;
  assert.ok(quietSeed !== undefined, "a quiet seed exists");
  const dir = makeNoisyProject(t, [
    valueProposal("value to -1 (a real gain)", -1),
    seedProposal(`seed to ${quietSeed} (no effect)`, quietSeed),
    valueProposal("value to 0.5 (harmful)", 0.5),
  ]);
  writeFileSync(join(dir, "autoresearch.config.json"), `${JSON.stringify({ ...noisyConfig(), acceptance: {} }, null, 2)}\n`);
  gitIn(dir, "commit", "-qam", "the default acceptance policy");
  const { bus, events } = recordingBus();
  await runSession({ projectDir: dir, tag: "t", bus, signal: never });

  const rows = ledgerRows(dir);
  const trace = rows.map((row) => `${row.id} ${row.kind} ${row.status} ${row.metric} ${row.decision} ${row.rationale}`).join("\n");
  const kinds = rows.map((row) => `${row.id}:${row.kind}`);
  const remeasures = Array.from({ length: fresh }, (_, index) => `${6 + index}:remeasure`);
  assert.deepEqual(kinds.slice(0, 5 + fresh), ["1:baseline", "2:baseline", "3:baseline", "4:baseline", "5:candidate", ...remeasures], trace);
  const gain = rows.find((row) => row.id === 5)!;
  assert.equal(gain.decision, "keep", trace);
  assert.match(gain.rationale!, new RegExp(`t\\(3 df\\) .*best from 4 runs; run 1 of at most ${defaults.maxRuns}`));
  const afterKeep = rows.filter((row) => row.kind === "remeasure").slice(0, fresh);
  assert.deepEqual(afterKeep.map((row) => row.confirms), Array(fresh).fill(5), "all re-measure the kept experiment");
  assert.ok(afterKeep.every((row) => row.candidateCommit === gain.candidateCommit && row.decision === null));

  const harmful = rows.find((row) => row.description.startsWith("value to 0.5"))!;
  assert.equal(harmful.decision, "discard", trace);
  assert.match(harmful.rationale!, /futility/);
  assert.equal(rows.filter((row) => row.kind === "confirmation" && row.confirms === harmful.id).length, 0, "dropped after its one run");
  const noEffect = rows.find((row) => row.description.startsWith("seed to"))!;
  assert.equal(noEffect.decision, "discard", trace);

  const ledger = Ledger.open(join(dir, ".autoresearch"), { readOnly: true });
  const session = ledger.getSession("t")!;
  ledger.close();
  // The best's value is the mean of every fresh run of its code: those after the keep and the periodic ones.
  const allFresh = rows.filter((row) => row.kind === "remeasure" && row.confirms === 5 && row.status === "ok");
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const freshMean = mean(afterKeep.map((row) => row.metric!));
  assert.equal(session.bestExperimentId, 5);
  assert.ok(Math.abs(session.bestMetric! - mean(allFresh.map((row) => row.metric!))) < 1e-12, `the best is the fresh runs' mean, not the winning run's ${gain.metric}`);
  assert.ok(events.some((event) => event.type === "best_remeasured" && event.runs === fresh && Math.abs(event.metric - freshMean) < 1e-12));

  const status = execFileSync(process.execPath, [CLI, "status"], { cwd: dir, encoding: "utf8" });
  assert.match(status, new RegExp(`noise σ [0-9.]+ from \\d+ runs \\(\\d+ df, 95% \\[[0-9.]+, [0-9.]+\\]\\); best from ${allFresh.length} runs`));
});
