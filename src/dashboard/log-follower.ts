// Follows the log files of running experiments for the standalone dashboard, which has no
// event stream: each poll returns the complete lines written since the last one.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { safeLogText } from "../text/safe-text.ts";
import type { RunningExperiment } from "./store.ts";

/** At most this much is read per poll; a faster writer skips ahead. */
const MAX_READ_BYTES = 64 * 1024;

interface Followed {
  offset: number;
  decoder: StringDecoder;
  partial: string;
  /** The first line after a jump into the middle of the file is a fragment. */
  dropFirst: boolean;
}

export class LogFollower {
  #followed = new Map<number, Followed>();

  poll(running: readonly RunningExperiment[]): { id: number; lines: string[] }[] {
    const live = new Set(running.map((experiment) => experiment.id));
    for (const id of this.#followed.keys()) if (!live.has(id)) this.#followed.delete(id);
    const updates: { id: number; lines: string[] }[] = [];
    for (const experiment of running) {
      const lines = this.#read(experiment);
      if (lines.length > 0) updates.push({ id: experiment.id, lines });
    }
    return updates;
  }

  #read(experiment: RunningExperiment): string[] {
    let fd: number;
    try {
      fd = openSync(experiment.logPath, "r");
    } catch {
      // Not created yet: the row is committed before the job writes its log. Everything the log gets
      // from here on is new to the page, so follow it from its first byte once it appears.
      if (!this.#followed.has(experiment.id)) this.#followed.set(experiment.id, { offset: 0, decoder: new StringDecoder("utf8"), partial: "", dropFirst: false });
      return [];
    }
    try {
      const size = fstatSync(fd).size;
      let state = this.#followed.get(experiment.id);
      if (state === undefined) {
        // Start at the end: a page loads the tail so far with the experiment's detail.
        state = { offset: size, decoder: new StringDecoder("utf8"), partial: "", dropFirst: false };
        this.#followed.set(experiment.id, state);
      }
      if (size < state.offset) Object.assign(state, { offset: 0, partial: "", decoder: new StringDecoder("utf8") }); // truncated
      if (size - state.offset > MAX_READ_BYTES) Object.assign(state, { offset: size - MAX_READ_BYTES, partial: "", dropFirst: true, decoder: new StringDecoder("utf8") });
      const length = size - state.offset;
      if (length === 0) return [];
      const buffer = Buffer.alloc(length);
      const read = readSync(fd, buffer, 0, length, state.offset);
      state.offset += read;
      const text = state.partial + state.decoder.write(buffer.subarray(0, read));
      const lines = text.split("\n");
      state.partial = lines.pop() ?? "";
      if (state.dropFirst && lines.length > 0) {
        lines.shift();
        state.dropFirst = false;
      }
      return lines.map(safeLogText);
    } finally {
      closeSync(fd);
    }
  }
}
