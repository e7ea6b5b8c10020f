// Waiting for a file another machine writes: a timer always (a shared filesystem such as NFS reports nothing
// of another host's writes), and where the filesystem does report changes (inotify: a local disk, a
// single-node cluster), the moment the file is created or renamed into place.
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";

export interface FileWait {
  /** Resolves after `ms`, or earlier when the file may have appeared. */
  next(ms: number): Promise<void>;
  close(): void;
}

export function waitForFile(path: string): FileWait {
  const name = basename(path);
  let poke: (() => void) | null = null;
  let missed = false; // it changed while nobody waited: the next wait ends at once
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name) return;
      if (poke) poke();
      else missed = true;
    });
    watcher.on("error", () => {
      watcher?.close();
      watcher = null;
    });
  } catch {
    watcher = null; // no such directory yet, or no watches left: the timer alone
  }
  return {
    next(ms) {
      if (missed) {
        missed = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          poke = null;
          resolve();
        };
        const timer = setTimeout(done, ms);
        poke = done;
      });
    },
    close() {
      poke?.();
      watcher?.close();
      watcher = null;
    },
  };
}
