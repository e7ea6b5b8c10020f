// `autoresearch run --json`: every engine event as one JSON object per line, nothing else.
import type { EngineEvent, EventSubscriber } from "../events/types.ts";

/** Writes each event exactly as emitted (same keys, same order), one line per event. */
export function createJsonlPrinter(write: (chunk: string) => void): EventSubscriber {
  return (event: EngineEvent) => {
    // JSON.stringify never emits raw newlines (they are escaped inside strings), so one event stays one line.
    write(JSON.stringify(event) + "\n");
  };
}
