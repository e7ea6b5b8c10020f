// The live terminal view of `autoresearch run`: a line per finished experiment and, on a TTY,
// a footer redrawn in place showing what runs now. It only listens to events; it never calls the engine.
import type { ExperimentKind } from "../core/experiment.ts";
import type { EngineEvent, EventOf, EventSubscriber } from "../events/types.ts";
import { safeLine } from "../text/safe-text.ts";
import { formatMetric, paint } from "./format.ts";
import {
  experimentLine,
  headerLines,
  noiseLine, remeasureLine,
  prepareFinishedLine,
  runningRowLine,
  startedLine,
  statusRowLine,
  summaryLines,
} from "./lines.ts";
import type { ExperimentLine } from "./lines.ts";

export interface TerminalViewOptions {
  write: (text: string) => void;
  isTTY: boolean;
  /** Terminal width. Without it: 80 on a TTY; no truncation otherwise (a log file keeps whole descriptions). */
  columns?: number;
  now?: () => number;
  /** Colours; default on for a TTY only, so logs stay free of ANSI codes (the CLI decides: NO_COLOR, FORCE_COLOR, --no-color). */
  color?: boolean;
}

export interface TerminalView {
  subscriber: EventSubscriber;
  /** Redraws the footer (progress bars move with the clock); call it on a timer. A no-op when not a TTY. */
  render(): void;
  /** Clears the footer and stops redrawing it; later events still print their lines. */
  stop(): void;
}

interface Running {
  id: number;
  kind: ExperimentKind;
  slot: number;
  device: string;
  description: string;
  budgetSeconds: number;
  startedAtMs: number;
  phase: string;
}

/** A finished experiment whose decision has not arrived yet. */
interface AwaitingDecision {
  kind: ExperimentKind | null;
  description: string;
  finished: EventOf<"experiment_finished">;
}

const cursorUp = (rows: number) => `\x1b[${rows}A`;
const clearToEndOfScreen = "\x1b[J";

export function createTerminalView(options: TerminalViewOptions): TerminalView {
  const { write, isTTY } = options;
  const colour = options.color ?? isTTY;
  const columns = options.columns ?? (isTTY ? 80 : Number.POSITIVE_INFINITY);
  const now = options.now ?? Date.now;

  const running = new Map<number, Running>();
  const awaiting = new Map<number, AwaitingDecision>();
  // Kind and description of every started experiment, for lines whose events lack them.
  const started = new Map<number, { kind: ExperimentKind; description: string }>();
  let session: EventOf<"session_started"> | null = null;
  let sessionStartMs = 0;
  // Over the whole session (a resumed one starts from session_started's soFar); the rate counts this run only.
  let finished = 0;
  let finishedThisRun = 0;
  let kept = 0;
  let best: number | null = null;
  let bestExperimentId: number | null = null;
  let footerRows = 0;
  let footerStopped = false;

  function clearFooter(): string {
    if (footerRows === 0) return "";
    const text = `${cursorUp(footerRows)}\r${clearToEndOfScreen}`;
    footerRows = 0;
    return text;
  }

  function drawFooter(): string {
    if (footerStopped || session === null) return "";
    const nowMs = now();
    const rows = [...running.values()]
      .sort((a, b) => a.slot - b.slot || a.id - b.id)
      .map((experiment) =>
        runningRowLine({ ...experiment, elapsedMs: Math.max(0, nowMs - experiment.startedAtMs) }, columns),
      );
    rows.push(statusRowLine({ best, bestExperimentId, kept, finished, finishedThisRun, elapsedMs: nowMs - sessionStartMs, running: running.size }, columns));
    footerRows = rows.length;
    return rows.map((row) => row + "\n").join("");
  }

  /** Prints lines above the footer (TTY) or plainly (otherwise), in one write to avoid flicker. */
  function print(lines: string[]): void {
    const text = lines.map((line) => line + "\n").join("");
    if (!isTTY) {
      if (text) write(text);
      return;
    }
    write(clearFooter() + text + drawFooter());
  }

  function lineFor(id: number, fields: Omit<ExperimentLine, "id" | "kind" | "description">): string {
    const known = started.get(id);
    return experimentLine({ id, kind: known?.kind ?? null, description: known?.description ?? "", ...fields }, columns, colour);
  }

  function handle(event: EngineEvent): string[] {
    switch (event.type) {
      case "session_started":
        session = event;
        sessionStartMs = Date.parse(event.at);
        if (event.soFar) {
          ({ kept, best, bestExperimentId } = event.soFar);
          finished = event.soFar.experiments;
        }
        return headerLines(event, colour);
      case "prepare_started":
        return [`prepare: running ${safeLine(event.command)}${event.reason ? ` (${safeLine(event.reason)})` : ""}`];
      case "prepare_finished":
        return [prepareFinishedLine(event, colour)];
      case "proposal_skipped":
        return [paint(`proposer ${safeLine(event.proposer)} skipped a proposal: ${safeLine(event.reason)}`, "gray", colour)];
      case "experiment_started":
        started.set(event.id, { kind: event.kind, description: event.description });
        running.set(event.id, {
          id: event.id,
          kind: event.kind,
          slot: event.slot,
          device: event.device,
          description: event.description,
          budgetSeconds: event.budgetSeconds,
          startedAtMs: Date.parse(event.at),
          phase: "starting",
        });
        return isTTY ? [] : [startedLine(event, columns)];
      case "experiment_phase": {
        const experiment = running.get(event.id);
        if (experiment) experiment.phase = event.phase;
        return [];
      }
      case "experiment_finished":
        running.delete(event.id);
        finished += 1;
        finishedThisRun += 1;
        if (event.status === "ok" && started.get(event.id)?.kind === "candidate") {
          // The line waits for the decision so it can say keep/discard and the delta.
          const known = started.get(event.id);
          awaiting.set(event.id, { kind: known?.kind ?? null, description: known?.description ?? "", finished: event });
          return [];
        }
        return [lineFor(event.id, { status: event.status, metric: event.metric, delta: null, wallMs: event.wallMs, reason: event.reason, flags: event.flags })];
      case "decision": {
        const pending = awaiting.get(event.id);
        awaiting.delete(event.id);
        if (event.decision === "keep") {
          kept += 1;
          // best_updated follows with the authoritative value; this keeps the footer current meanwhile.
          if (event.metric !== null) best = event.metric;
          bestExperimentId = event.id;
        }
        return [lineFor(event.id, { status: event.decision, metric: event.metric ?? pending?.finished.metric ?? null, delta: event.delta, wallMs: pending?.finished.wallMs ?? null, flags: pending?.finished.flags })];
      }
      case "best_updated":
        best = event.metric;
        bestExperimentId = event.id;
        return [];
      case "noise_estimated":
        return [noiseLine(event)];
      case "best_remeasured":
        best = event.metric;
        return [remeasureLine(event)];
      case "study_best":
        return [paint(`study: worker ${safeLine(event.worker)}${event.localId === null ? "" : ` #${event.localId}`} found ${formatMetric(event.metric)} (best version ${event.version}, ${event.commit.slice(0, 7)}); the next experiment here builds on it`, "cyan", colour)];
      case "warning":
        return [paint(`warning: ${safeLine(event.message)}`, "yellow", colour)];
      case "session_paused":
        return [paint(`paused: ${safeLine(event.reason)}`, "yellow", colour)];
      case "session_stopped": {
        // Finished experiments that never got a decision still deserve their line.
        const leftover = [...awaiting.values()].map((item) =>
          lineFor(item.finished.id, { status: "ok", metric: item.finished.metric, delta: null, wallMs: item.finished.wallMs, flags: item.finished.flags }),
        );
        awaiting.clear();
        running.clear();
        footerStopped = true;
        const context = { reason: event.reason, direction: session?.direction ?? null, bestExperimentId };
        return [...leftover, ...summaryLines(event.summary, context, colour)];
      }
      case "proposal_requested":
      case "proposal_ready":
      case "experiment_log":
        return [];
    }
  }

  return {
    subscriber(event) {
      const lines = handle(event);
      // Log lines arrive fast and change nothing on screen; skip the redraw for them.
      if (event.type === "experiment_log") return;
      if (lines.length > 0 || (isTTY && !footerStopped)) print(lines);
    },
    render() {
      if (!isTTY || footerStopped) return;
      write(clearFooter() + drawFooter());
    },
    stop() {
      footerStopped = true;
      if (isTTY && footerRows > 0) write(clearFooter());
    },
  };
}
