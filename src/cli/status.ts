import { reportSettingsOf, sessionFinalizeReport } from "../finalize/report.ts";
import { promoteReport, promoteSummary } from "../finalize/promote.ts";
import { cascadeCounts } from "../loop/cascade.ts";
import { survivalSummary } from "../finalize/render.ts";
import { safeJson, safeLine, safeText } from "../text/safe-text.ts";
import { formatDelta, formatDuration, formatFlags, formatMetric } from "../views/format.ts";
import { isolationLines } from "../views/lines.ts";
import { ranOnSummary } from "../views/ran-on.ts";
import { studyStatusLines } from "../views/study.ts";
import { pooledBaselinesIfShared, studyOverviewIfShared } from "../share/lazy.ts";
import { lockHolder, sessionState } from "../loop/lock.ts";
import { summarize } from "../loop/summary.ts";
import { bestRunCount, noiseOf, stateFromLedger } from "../loop/reducer.ts";
import { sigmaInterval } from "../stats/intervals.ts";
import { parse, type Command, type Io } from "./args.ts";
import { openLedgerReadOnly, pickSession } from "./project.ts";

export const statusCommand: Command = {
  help: `usage: autoresearch status [--tag T] [--json] [--project DIR]

Where a session stands: running, stopped or paused (and why), experiments kept, discarded and failed,
baseline → best with the experiment and commit that holds it, the noise σ, experiments per hour, where
the experiments ran (each machine or cluster node and its device's model, with how many ran there), what
runs now, experiments flagged for review, and the session's isolation. In a shared study (README
"Research together") also the whole study: its best per device class, and every worker with its
experiments, what it runs now and which best it builds on.

  --tag T         the session (default: the latest)
  --json          machine-readable
  --project DIR   the project directory (default: the current directory)

examples:
  autoresearch status
  autoresearch status --tag mar5 --json`,
  async run(argv: string[], io: Io) {
    const { values } = parse("status", argv, { tag: { type: "string" }, json: { type: "boolean" }, project: { type: "string" } });
    const { ledger, paths } = openLedgerReadOnly(values.project ?? io.cwd);
    try {
      const session = pickSession(ledger, values.tag);
      const rows = ledger.listExperiments({ tag: session.tag, order: "asc" });
      const first = rows[0]?.startedAt ? Date.parse(rows[0].startedAt) : Date.now();
      const last = rows.at(-1)?.finishedAt ?? rows.at(-1)?.startedAt;
      const elapsedMs = (last ? Date.parse(last) : Date.now()) - first;
      const summary = summarize(ledger, session.tag, elapsedMs);
      const running = rows.filter((row) => row.status === "running");
      const holder = session.state === "running" ? lockHolder(paths.lockFile, session.tag) : null;
      const costUsd = rows.reduce((sum, row) => sum + (row.usage?.costUsd ?? 0), 0);
      const tokens = rows.reduce((sum, row) => sum + (row.usage ? row.usage.inputTokens + row.usage.outputTokens : 0), 0);
      // A shared study's session: the whole study too (every worker, the bests, who builds on which).
      const study = await studyOverviewIfShared((session.config as { ledger?: unknown }).ledger, { limit: 0 });
      const status = {
        ...summary, branch: session.branch, state: sessionState(session.state, holder), harnessPid: holder,
        stopReason: session.stopReason, isolation: session.isolation, baseCommit: session.baseCommit,
        flagged: rows.filter((row) => row.flags.length > 0).map((row) => ({ id: row.id, flags: row.flags })), bestExperimentId: session.bestExperimentId, running: running.map((row) => ({ id: row.id, device: row.device, description: row.description, startedAt: row.startedAt })),
        llm: { tokens, costUsd }, sessions: ledger.listSessions().map((known) => known.tag),
        finalized: sessionFinalizeReport(session, rows),
        promoted: promoteReport(session.tag, rows, reportSettingsOf(session.config)),
        cascade: cascadeCounts(rows),
        // In a shared study σ pools the other workers' baselines of this worker's device class, as its decisions do.
        noise: noiseBasis(session, rows, await pooledBaselinesIfShared(study, paths.stateDir)),
        // Where the experiments ran: each machine (node) and device model, with how many ran there.
        ranOn: ranOnSummary(rows),
        study,
      };
      if (values.json) {
        io.stdout(`${safeJson(status, 2)}\n`);
        return 0;
      }
      const improvement = summary.baseline !== null && summary.best !== null ? summary.best - summary.baseline : null;
      const lines = [
        `session ${session.tag} on ${session.branch}: ${status.state}${session.stopReason && !holder ? ` (${safeLine(session.stopReason)})` : ""}`,
        `  experiments ${summary.experiments}: ${summary.kept} kept, ${summary.discarded} discarded, ${summary.failed} failed; ${running.length} running`,
        `  baseline ${formatMetric(summary.baseline)} → best ${formatMetric(summary.best)} (${formatDelta(improvement)})${session.bestExperimentId ? ` from experiment ${session.bestExperimentId}` : ""}, commit ${session.bestCommit.slice(0, 7)}`,
        `  noise σ ${noiseText(status.noise.pooledWorkers > 0 ? status.noise.sigma : summary.noiseSigma, status.noise)}; ${summary.experimentsPerHour.toFixed(1)} experiments/hour`,
        ...(status.ranOn ? [`  ran on ${status.ranOn}`] : []),
        ...(status.finalized ? [`  finalized: ${survivalSummary(status.finalized)}`] : []),
        ...(status.promoted ? [`  promoted: ${promoteSummary(status.promoted)}`] : []),
        ...(status.cascade ? [`  cascade: ${status.cascade.smokeStages} smoke stages (${formatDuration(status.cascade.smokeMs)}): ${status.cascade.failed} failed, ${status.cascade.screened} clearly bad, ${status.cascade.passed} ran in full`] : []),
        ...(tokens > 0 ? [`  LLM: ${tokens} tokens, $${costUsd.toFixed(4)}`] : []),
        ...running.map((row) => `  running #${row.id} on ${row.device}: ${safeLine(row.description)}`),
        ...(status.flagged.length > 0 ? [`  ⚑ flagged for review: ${status.flagged.map((item) => `#${item.id} (${formatFlags(item.flags)})`).join(", ")}; see autoresearch show <id>`] : []),
        ...isolationLines(session.isolation, false),
        ...(status.study ? studyStatusLines(status.study, Date.now()) : []),
        ...(status.sessions.length > 1 ? [`  other sessions: ${status.sessions.filter((tag) => tag !== session.tag).join(", ")}`] : []),
      ];
      io.stdout(`${safeText(lines.join("\n"))}\n`);
      return 0;
    } finally {
      ledger.close();
    }
  },
};

interface NoiseBasis {
  /** Runs and degrees of freedom behind the pooled σ, and its 95% interval. */
  samples: number;
  degreesOfFreedom: number;
  interval: { low: number; high: number } | null;
  /** How many fresh runs the best's value is the mean of. */
  bestRuns: number;
  /** The pooled σ itself, and how many other workers' baseline groups it pools (a shared study; 0 otherwise). */
  sigma: number | null;
  pooledWorkers: number;
}

/** What the session's σ and best rest on, from its rows: the same pooling the decisions use (loop/reducer.ts). */
function noiseBasis(session: Parameters<typeof stateFromLedger>[0], rows: Parameters<typeof stateFromLedger>[1], elsewhere: number[][] = []): NoiseBasis {
  const state = stateFromLedger(session, rows);
  const noise = noiseOf({ ...state, noiseGroups: [...elsewhere, ...state.noiseGroups] });
  const interval = noise.sigma === null ? null : sigmaInterval(noise.sigma, noise.degreesOfFreedom);
  return {
    samples: noise.samples, degreesOfFreedom: noise.degreesOfFreedom, interval: interval && { low: interval.low, high: interval.high }, bestRuns: bestRunCount(state),
    sigma: noise.sigma, pooledWorkers: elsewhere.length,
  };
}

function noiseText(sigma: number | null, basis: NoiseBasis): string {
  if (sigma === null) return "unknown (needs two runs of the same code)";
  const interval = basis.interval ? `, 95% [${formatMetric(basis.interval.low)}, ${formatMetric(basis.interval.high)}]` : "";
  const pooled = basis.pooledWorkers > 0 ? `, with ${basis.pooledWorkers} other worker${basis.pooledWorkers === 1 ? "'s" : "s'"} baseline runs of its device class` : "";
  return `${formatMetric(sigma)} from ${basis.samples} runs (${basis.degreesOfFreedom} df${interval}${pooled}); best from ${basis.bestRuns} run${basis.bestRuns === 1 ? "" : "s"}`;
}
