// `autoresearch run --json`: every engine event as one JSON object per line, nothing else.
import type { EngineEvent, EventSubscriber } from "../events/types.ts";
import { safeJson } from "../text/safe-text.ts";

/** Above this many bytes waiting in stdout, log lines are dropped (and counted) instead of queued. */
export const JSONL_HIGH_WATER_BYTES = 4 * 1024 * 1024;

export interface JsonlOptions {
  /** Bytes written but not yet taken by the reader (process.stdout.writableLength); without it nothing is dropped. */
  backlogBytes?: () => number;
  highWaterBytes?: number;
}

/**
 * Writes each event as emitted (same keys, same order), one line per event, without the committed
 * ledger row that `experiment_finished` and `decision` carry for in-process subscribers: it holds the
 * whole diff and the held-out metric (`autoresearch show <id>` prints it for a person).
 *
 * A slow reader must not make the harness buffer every log line in memory (a chatty train
 * step writes millions), and must not block the engine either: while the backlog is above the
 * high-water mark, `experiment_log` events are dropped and counted per experiment. Before that
 * experiment's next written log line (or its `experiment_finished`) one `experiment_log` line
 * says how many were dropped. Every other event is always written: there are few of them.
 */
export function createJsonlPrinter(write: (chunk: string) => void, options: JsonlOptions = {}): EventSubscriber {
  const highWater = options.highWaterBytes ?? JSONL_HIGH_WATER_BYTES;
  const dropped = new Map<number, number>();
  const print = (event: EngineEvent) => {
    // Newlines and C0 controls are escaped inside strings (one event stays one line); safeJson escapes
    // what JSON.stringify leaves raw (C1, bidi controls), so workload output is inert on a terminal too.
    write(safeJson(withoutRow(event)) + "\n");
  };
  const reportDropped = (id: number, at: string) => {
    const count = dropped.get(id);
    if (count === undefined) return;
    dropped.delete(id);
    print({ type: "experiment_log", at, id, line: `[autoresearch: ${count} log line(s) dropped here: the reader of --json fell behind; the full log is in .autoresearch/logs]` });
  };
  return (event: EngineEvent) => {
    if (event.type === "experiment_log") {
      if (options.backlogBytes && options.backlogBytes() > highWater) {
        dropped.set(event.id, (dropped.get(event.id) ?? 0) + 1);
        return;
      }
      reportDropped(event.id, event.at);
    } else if (event.type === "experiment_finished") {
      reportDropped(event.id, event.at);
    }
    print(event);
  };
}

function withoutRow(event: EngineEvent): EngineEvent {
  if (event.type !== "experiment_finished" && event.type !== "decision") return event;
  const { row: _row, ...rest } = event;
  return rest;
}
