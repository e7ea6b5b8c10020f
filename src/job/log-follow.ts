// `autoresearch job --log -`: the job's log goes to a private file as usual (the runner caps it, phases
// append to it) and is copied to this process's stdout as it grows. Where stdout is all that comes back
// (a Kubernetes pod's log), the log is then there live, in order, and complete once the job ends.
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";

const FOLLOW_INTERVAL_MS = 200;

export interface FollowedLog {
  /** The file the job writes its log to. */
  path: string;
  /** Copies what is left, stops following and removes the file (once; later calls do nothing). */
  stop(): void;
}

export function followLog(write: (text: string) => void): FollowedLog {
  const dir = mkdtempSync(join(tmpdir(), "autoresearch-job-log-"));
  const path = join(dir, "job.log");
  closeSync(openSync(path, "a"));
  const fd = openSync(path, "r");
  const decoder = new StringDecoder("utf8");
  const buffer = Buffer.alloc(64 * 1024);
  const drain = () => {
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) return;
      write(decoder.write(buffer.subarray(0, read)));
    }
  };
  const timer = setInterval(drain, FOLLOW_INTERVAL_MS);
  let stopped = false;
  return {
    path,
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      drain();
      const rest = decoder.end();
      if (rest) write(rest);
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
