// Reading the end of a (possibly huge) log file for error messages and live views.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { safeLogText } from "./safe-text.ts";

/**
 * The last `maxLines` lines (default 40) of the file, reading at most its last `maxBytes`
 * (default 8 KB), control characters made visible (text/safe-text.ts). A missing or unreadable file
 * gives "" — there is simply nothing to show yet.
 */
export function readLogTail(logPath: string, options: { maxLines?: number; maxBytes?: number } = {}): string {
  const maxLines = options.maxLines ?? 40;
  const maxBytes = options.maxBytes ?? 8 * 1024;
  let fd: number;
  try {
    fd = openSync(logPath, "r");
  } catch {
    return "";
  }
  let text: string;
  let startedMidFile: boolean;
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    let read = 0;
    while (read < length) {
      const bytes = readSync(fd, buffer, read, length - read, size - length + read);
      if (bytes === 0) break;
      read += bytes;
    }
    text = buffer.subarray(0, read).toString("utf8");
    startedMidFile = size > length;
  } finally {
    closeSync(fd);
  }
  let lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  // The first line of a window that starts mid-file is a fragment (maybe a broken UTF-8 character): drop it.
  if (startedMidFile && lines.length > 1) lines = lines.slice(1);
  return safeLogText(lines.slice(-maxLines).join("\n"));
}
