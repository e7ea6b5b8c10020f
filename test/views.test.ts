import { test } from "node:test";
import assert from "node:assert/strict";
import type { EngineEvent } from "../src/events/types.ts";
import { createJsonlPrinter } from "../src/views/jsonl.ts";
import { createTerminalView } from "../src/views/terminal.ts";
import { formatDelta, formatDuration, formatMetric, progressBar, stripAnsi } from "../src/views/format.ts";
import { formatRanOn, ranOnColumnNeeded, ranOnSummary } from "../src/views/ran-on.ts";
import { decided, finished, scriptedSession, scriptedSummary, sessionStarted, sessionStartMs, started } from "./helpers/events.ts";
import { Screen } from "./helpers/screen.ts";

function plainView(columns?: number) {
  let output = "";
  const view = createTerminalView({ write: (text) => { output += text; }, isTTY: false, columns, now: () => sessionStartMs });
  return { view, output: () => output, lines: () => output.split("\n").filter((line) => line !== "") };
}

function lineOf(lines: string[], id: number, status: string): string {
  const found = lines.find((line) => line.startsWith(`#${id} `) && line.includes(` ${status} `));
  assert.ok(found, `no "${status}" line for #${id} in:\n${lines.join("\n")}`);
  return found;
}

test("not a TTY: one readable line per experiment, summary at the end, and no ANSI codes", () => {
  const { view, output, lines } = plainView();
  for (const event of scriptedSession()) view.subscriber(event);

  assert.doesNotMatch(output(), /\x1b/, "a log file must not contain escape codes");
  const all = lines();
  const header = all.slice(0, 5).join("\n");
  assert.match(header, /session mar5/);
  assert.match(header, /autoresearch\/mar5/);
  assert.match(header, /val_bpb \(lower is better\) · policy noise-aware/);
  assert.match(header, /2 slots on cuda:0, cuda:1/);
  assert.ok(all.includes("prepare: done in 4.2s (3 files)"));
  assert.ok(all.some((line) => line.startsWith("#3 ") && line.includes("started") && line.includes("increase learning rate")));

  assert.match(lineOf(all, 1, "ok"), /1\.023400 .* 5m02s\s+\[baseline\] baseline$/, "a baseline run prints when it finishes; it gets no keep/discard");
  const kept = lineOf(all, 3, "keep");
  assert.match(kept, /1\.011100\s+-0\.0123\s+5m02s\s+increase learning rate to 0\.04$/);
  assert.match(lineOf(all, 4, "discard"), /1\.015000\s+\+0\.0039\s+5m02s\s+swap GELU/);
  assert.match(lineOf(all, 5, "crash"), /12\.3s\s+fuse attention kernels \(train exited with code 1\)$/);
  assert.match(lineOf(all, 6, "rejected"), /edit the evaluator \(changed protected file evaluate\.py\)/);
  assert.ok(all.includes("noise: σ = 0.001200 over 2 baseline runs (baseline 1.024000)"));
  assert.ok(all.includes("warning: the proposer returned an empty diff; asking again"));

  const summary = all.slice(all.findIndex((line) => line.includes("stopped:"))).join("\n");
  assert.match(summary, /session mar5 stopped: reached stop\.maxExperiments \(6\)/);
  assert.match(summary, /experiments\s+6 \(kept 2, discarded 2, failed 2\)/);
  assert.match(summary, /1\.023400 → 1\.011100 \(-0\.0123, -1\.20%, better\)/);
  assert.match(summary, /keep rate\s+33\.3%/);
  assert.match(summary, /12\.0 experiments\/hour over 30m00s/);
  assert.match(summary, /best commit\s+c3c3c3c3/);
  assert.match(summary, /autoresearch results/);
  assert.match(summary, /autoresearch show 3/, "points at the best experiment");
});

test("a shared study's worker hearing of another's new best prints one line saying so", () => {
  const { view, lines } = plainView();
  view.subscriber(sessionStarted());
  view.subscriber({ type: "study_best", at: sessionStarted().at, version: 5, worker: "vm-4f2a", localId: 12, commit: "25aefb2c0ffee", metric: 1.208749 });
  view.subscriber({ type: "study_best", at: sessionStarted().at, version: 1, worker: "vm-4f2a", localId: null, commit: "0123456789", metric: 4.5 });
  assert.deepEqual(lines().filter((line) => line.startsWith("study:")), [
    "study: worker vm-4f2a #12 found 1.208749 (best version 5, 25aefb2); the next experiment here builds on it",
    "study: worker vm-4f2a found 4.500000 (best version 1, 0123456); the next experiment here builds on it",
  ]);
});

test("an ok experiment's line waits for its decision; a crash prints at once", () => {
  const { view, lines } = plainView();
  view.subscriber(sessionStarted());
  view.subscriber(started(3, 10, "wider MLP"));
  view.subscriber(finished(3, 40, "ok", 0.98, 30_000));
  assert.ok(!lines().some((line) => line.startsWith("#3 ") && !line.includes("started")), "printed before the decision");
  view.subscriber(decided(3, 40, "discard", 0.98, 0.97, 0.01));
  assert.match(lineOf(lines(), 3, "discard"), /0\.980000\s+\+0\.0100\s+30\.0s\s+wider MLP/);

  view.subscriber(started(4, 41, "bad idea"));
  view.subscriber(finished(4, 45, "timeout", null, 375_000, "ran past the budget"));
  assert.match(lineOf(lines(), 4, "timeout"), /—\s+6m15s\s+bad idea \(ran past the budget\)/);
});

test("a finished experiment that never got a decision is still listed when the session stops", () => {
  const { view, lines } = plainView();
  view.subscriber(sessionStarted());
  view.subscriber(started(7, 10, "confirm the wider MLP", "confirmation"));
  view.subscriber(finished(7, 40, "ok", 0.97, 30_000));
  const summary = { tag: "mar5", experiments: 1, kept: 0, discarded: 0, failed: 0, baseline: null, best: null, bestCommit: null, noiseSigma: null, elapsedSeconds: 60, experimentsPerHour: 60 };
  view.subscriber({ type: "session_stopped", at: new Date(sessionStartMs + 60_000).toISOString(), reason: "interrupted by the user (Ctrl-C)", summary });
  assert.match(lineOf(lines(), 7, "ok"), /0\.970000 .*\[confirm\] confirm the wider MLP/);
  assert.ok(lines().some((line) => /autoresearch show <id>/.test(line)), "no best id known, so a placeholder");
});

test("long descriptions are cut to the terminal width", () => {
  const { view, lines } = plainView(60);
  const long = "rewrite the attention block to use grouped query attention with eight key value heads ".repeat(3);
  view.subscriber(sessionStarted());
  view.subscriber(started(9, 1, long));
  view.subscriber(finished(9, 2, "crash", null, 900, "train exited with code 1"));
  const experimentLines = lines().filter((line) => line.startsWith("#9 "));
  assert.equal(experimentLines.length, 2);
  for (const line of experimentLines) {
    assert.ok([...line].length <= 60, `longer than 60 columns: ${line}`);
    assert.ok(line.endsWith("…"), `not marked as cut: ${line}`);
  }
});

test("TTY: the footer shows a progress bar that advances with the clock, redrawn in place", () => {
  const screen = new Screen();
  let clock = sessionStartMs;
  const view = createTerminalView({ write: (text) => screen.write(text), isTTY: true, columns: 100, now: () => clock, color: false });
  view.subscriber(sessionStarted());
  view.subscriber(started(3, 0, "increase learning rate to 0.04"));
  view.subscriber({ type: "experiment_phase", at: new Date(sessionStartMs).toISOString(), id: 3, phase: "train" });

  const footerRow = () => {
    const rows = screen.text().filter((line) => line.includes("#3 "));
    assert.equal(rows.length, 1, `expected one row for #3, got:\n${screen.text().join("\n")}`);
    return rows[0];
  };
  const filledCells = (row: string) => [...row].filter((character) => character === "█").length;

  clock = sessionStartMs + 60_000;
  view.render();
  const early = footerRow();
  assert.match(early, /\[1\] cuda:1\s+#3\s+train\s+/);
  assert.match(early, /1m00s\/5m00s/);
  assert.equal(filledCells(early), 4, "60 s of 300 s is a fifth of the 20-cell bar");

  clock = sessionStartMs + 150_000;
  view.render();
  view.render();
  const later = footerRow();
  assert.match(later, /2m30s\/5m00s/);
  assert.equal(filledCells(later), 10);
  assert.ok(screen.text().some((line) => /best — · kept 0\/0 .* 1 running/.test(line)), screen.text().join("\n"));

  // A finished line lands above the footer; the experiment's row leaves the footer.
  view.subscriber(finished(3, 302, "ok", 1.0111, 302_000));
  view.subscriber(decided(3, 302, "keep", 1.0111, 1.0234, -0.0123));
  const shown = screen.text();
  const keepIndex = shown.findIndex((line) => /^#3 .* keep .*-0\.0123/.test(line));
  const statusIndex = shown.findIndex((line) => /· \d+ running$/.test(line));
  assert.ok(keepIndex >= 0 && statusIndex > keepIndex, `finished line should sit above the footer:\n${shown.join("\n")}`);
  assert.match(shown[statusIndex], /best 1\.011100 \(#3\) · kept 1\/1 \(100\.0%\) · [\d.]+\/h · 0 running/);
  assert.ok(!shown.some((line) => line.includes("█")), "no progress bar once nothing runs");

  view.stop();
  const afterStop = screen.text();
  assert.ok(!afterStop.some((line) => /· \d+ running$/.test(line)), `footer left behind:\n${afterStop.join("\n")}`);
  assert.match(afterStop[afterStop.length - 1], /^#3 .* keep /);
  view.render();
  assert.deepEqual(screen.text(), afterStop, "render() after stop() must not draw again");
});

test("TTY: a resumed session's footer starts from its best and counts, and the rate counts this run only", () => {
  const screen = new Screen();
  let clock = sessionStartMs;
  const view = createTerminalView({ write: (text) => screen.write(text), isTTY: true, columns: 120, now: () => clock, color: false });
  view.subscriber({ ...sessionStarted(), resumed: true, soFar: { experiments: 12, kept: 3, best: 0.9876, bestExperimentId: 9 } } as EngineEvent);
  view.subscriber(started(13, 0, "narrower MLP"));
  clock = sessionStartMs + 60_000;
  view.render();
  const footer = () => screen.text().find((line) => /· \d+ running$/.test(line)) ?? "";
  assert.match(footer(), /^ ?best 0\.987600 \(#9\) · kept 3\/12 \(25\.0%\) · 0\.0\/h · 1 running$/, screen.text().join("\n"));
  view.subscriber(finished(13, 60, "ok", 1.2, 60_000));
  view.subscriber(decided(13, 60, "discard", 1.2, 0.9876, 0.2124));
  assert.match(footer(), /best 0\.987600 \(#9\) · kept 3\/13 \(23\.1%\) · 60\.0\/h · 0 running/, "one finished in the run's first minute: 60/h, not 13");
  view.stop();
});

test("TTY: footer rows stay within the width, statuses are coloured, and the summary replaces the footer", () => {
  const screen = new Screen();
  let raw = "";
  const view = createTerminalView({ write: (text) => { raw += text; screen.write(text); }, isTTY: true, columns: 50, now: () => sessionStartMs + 30_000 });
  view.subscriber(sessionStarted());
  view.subscriber(started(2, 0, "a very long description of a change that will not fit in fifty columns"));
  view.render();
  const footer = screen.text().filter((line) => line.includes("#2 ") || /· \d+ running$/.test(line));
  assert.equal(footer.length, 2, screen.text().join("\n"));
  for (const line of footer) assert.ok([...line].length < 50, `footer row wraps at 50 columns: ${line}`);

  for (const event of scriptedSession().slice(1)) view.subscriber(event);
  assert.match(raw, /\x1b\[32mkeep/, "keep is green");
  assert.match(raw, /\x1b\[31mcrash/, "crash is red");
  const shown = screen.text().map(stripAnsi);
  assert.ok(!shown.some((line) => /· \d+ running$/.test(line)), "no footer after the session stopped");
  assert.match(shown[shown.length - 1], /autoresearch show 3/);
});

test("JSONL: one line per event that parses back to the same event, keys in emitted order", () => {
  const events: EngineEvent[] = [
    ...scriptedSession(),
    { type: "experiment_log", at: new Date(sessionStartMs).toISOString(), id: 9, line: "a line with\na newline and \"quotes\"" },
  ];
  let output = "";
  const print = createJsonlPrinter((chunk) => { output += chunk; });
  for (const event of events) print(event);

  assert.ok(output.endsWith("\n"));
  const lines = output.slice(0, -1).split("\n");
  assert.equal(lines.length, events.length);
  lines.forEach((line, index) => {
    const parsed = JSON.parse(line);
    assert.deepEqual(parsed, events[index]);
    assert.deepEqual(Object.keys(parsed), Object.keys(events[index]));
  });
});

test("formatting: metrics, deltas, durations and bars read the way the views print them", () => {
  assert.equal(formatMetric(0.98765432), "0.987654");
  assert.equal(formatMetric(12.345678), "12.34568");
  assert.equal(formatMetric(1.0234), "1.023400", "same decimals either side of 1.0, so columns align");
  assert.equal(formatMetric(1234.56789), "1234.5679");
  assert.equal(formatMetric(null), "—");
  assert.equal(formatDelta(-0.0123), "-0.0123");
  assert.equal(formatDelta(0.000045), "+0.000045");
  assert.equal(formatDuration(31_200), "31.2s");
  assert.equal(formatDuration(302_000), "5m02s");
  assert.equal(formatDuration(59_960), "1m00s");
  assert.equal(formatDuration(7_500_000), "2h05m");
  assert.equal(progressBar(0.5, 10), "█████░░░░░");
  assert.equal(progressBar(3, 4), "████", "over budget stays full, never wider");
});

test("workload and proposer text with escape sequences never reaches the terminal raw: it shows, inert", () => {
  const hostile = "lr 0.04\x1b[2K\x1b[1A\r\x1b]0;pwned\x07\u202eevil\x9b2J";
  const events: EngineEvent[] = [
    { ...sessionStarted(), metric: "val_bpb\x1b[8m" } as EngineEvent,
    { type: "prepare_started", at: sessionStarted().at, command: "python prepare.py\x1b[2J" },
    started(3, 0, hostile),
    { type: "experiment_log", at: sessionStarted().at, id: 3, line: "step 1\x1b[2J\x1b[H\x1b[8mhidden" },
    { type: "experiment_phase", at: sessionStarted().at, id: 3, phase: "train" },
    finished(3, 10, "crash", null, 10_000, "train said \x1b[1A\x1b[2Kall good\nkeep"),
    { type: "proposal_skipped", at: sessionStarted().at, proposer: "llm", reason: "bad edit \x1b[31mred" },
    { type: "warning", at: sessionStarted().at, message: "from a log: \x1b]8;;http://x\x07link" },
    { type: "study_best", at: sessionStarted().at, version: 4, worker: "w\x1b[2Jx", localId: 7, commit: "abcdef0123456789", metric: 1.5 },
    { type: "session_stopped", at: sessionStarted().at, reason: "stopped \x1b[?25l", summary: scriptedSummary },
  ];
  // Not a TTY: no escape byte at all.
  const { view, output } = plainView();
  for (const event of events) view.subscriber(event);
  assert.doesNotMatch(output(), /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
  assert.match(output(), /lr 0\.04␛\[2K␛\[1A ␛\]0;pwned␇⟨U\+202E⟩evil⟨U\+009B⟩2J/, "the attempt is visible");
  assert.match(output(), /train said ␛\[1A␛\[2Kall good keep/, "a reason cannot start a line of its own");

  // A TTY: the only escape sequences are the view's own colours and cursor moves.
  let raw = "";
  const screen = new Screen();
  const tty = createTerminalView({ write: (text) => { raw += text; screen.write(text); }, isTTY: true, columns: 200, now: () => sessionStartMs + 5_000 });
  for (const event of events.slice(0, 5)) tty.subscriber(event);
  tty.render();
  for (const event of events.slice(5)) tty.subscriber(event);
  const ownSequences = /\x1b\[(?:\d+m|\d+A|J)/g;
  assert.doesNotMatch(raw.replace(ownSequences, ""), /[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
  assert.ok(screen.text().map(stripAnsi).some((line) => line.includes("#3 ") && line.includes("␛[2K")), screen.text().join("\n"));
  assert.ok(!raw.includes("hidden"), "live log lines are not printed by the terminal view");
});

test("the header states each device kind's budget and start-up allowance, past which a run is a timeout", () => {
  const one = plainView();
  one.view.subscriber({ ...sessionStarted(), trainLimits: [{ kind: "cuda", budgetSeconds: 300, startupSeconds: 25, timeoutSeconds: 325 }] } as EngineEvent);
  assert.ok(one.lines().includes("  budget  5m00s + 25.0s start-up per run (hard limit 5m25s)"), one.output());
  const two = plainView();
  two.view.subscriber({
    ...sessionStarted(),
    trainLimits: [{ kind: "cuda", budgetSeconds: 300, startupSeconds: 25, timeoutSeconds: 325 }, { kind: "cpu", budgetSeconds: 60, startupSeconds: 13, timeoutSeconds: 73 }],
  } as EngineEvent);
  assert.ok(two.lines().includes("  budget  cuda 5m00s + 25.0s start-up · cpu 1m00s + 13.0s start-up per run"), two.output());
});

test("where experiments ran: a column for a cluster or several machines, one summary line, the GPU's model for a GPU run", () => {
  const here = { device: "cpu", ranOn: { host: "laptop", deviceName: "Intel(R) Core(TM) i7" } };
  const node = (host: string, slurmJobId?: string) => ({ device: "cuda:0", ranOn: { host, deviceName: "NVIDIA H100 80GB HBM3", ...(slurmJobId ? { slurmJobId } : {}) } });
  const unknown = { device: "cuda:1", ranOn: null };
  assert.equal(formatRanOn(here), "laptop", "a CPU run: the machine");
  assert.equal(formatRanOn(node("gpu7")), "gpu7 · NVIDIA H100 80GB HBM3");
  assert.equal(formatRanOn({ device: "cuda:0", ranOn: { host: "gpu7", deviceName: null } }), "gpu7 · cuda:0", "no model to read: the device asked for");
  assert.equal(formatRanOn(unknown), "—");
  assert.equal(ranOnColumnNeeded([here, here, unknown]), false, "one machine: said once, not on every row");
  assert.equal(ranOnColumnNeeded([node("gpu7"), node("gpu8")]), true, "two machines");
  assert.equal(ranOnColumnNeeded([node("gpu7", "4242")]), true, "a cluster's job");
  assert.equal(ranOnSummary([node("gpu8"), node("gpu7"), node("gpu7"), unknown]), "gpu7 · NVIDIA H100 80GB HBM3 ×2, gpu8 · NVIDIA H100 80GB HBM3 ×1");
  assert.equal(ranOnSummary([unknown]), null);
});
