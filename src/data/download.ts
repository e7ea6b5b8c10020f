// Downloads a file to a cache: resumes an interrupted transfer with an HTTP Range request,
// retries with backoff, gives up on a stalled connection, and checks the SHA-256. The file
// appears under its final name only when complete (and verified when a checksum is given).
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { get as httpGet, type IncomingMessage } from "node:http";
import { get as httpsGet } from "node:https";
import { dirname } from "node:path";
import { hashFile } from "../guard/checksums.ts";

export interface DownloadOptions {
  url: string;
  dest: string;
  /** Expected SHA-256 (hex). Without it the file is accepted and its hash returned. */
  sha256?: string;
  attempts?: number;
  /** The wait before retry n is retryDelayMs * 2^(n-1). */
  retryDelayMs?: number;
  /** A connection that delivers nothing for this long is dropped and retried. */
  idleTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface DownloadResult {
  path: string;
  sha256: string;
  bytes: number;
  /** Requests made (1 when it went through at once; 0 when the cache had it). */
  requests: number;
  cached: boolean;
}

export class DownloadError extends Error {
  override name = "DownloadError";
}

/** A failure retrying cannot fix (404, 403, ...). */
class PermanentError extends DownloadError {}

export async function download(options: DownloadOptions): Promise<DownloadResult> {
  const { url, dest } = options;
  const attempts = options.attempts ?? 5;
  const retryDelayMs = options.retryDelayMs ?? 2000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const log = options.log ?? (() => {});
  mkdirSync(dirname(dest), { recursive: true });

  if (existsSync(dest)) {
    const sha256 = await sha256File(dest);
    if (!options.sha256 || sha256 === options.sha256) return { path: dest, sha256, bytes: statSync(dest).size, requests: 0, cached: true };
    log(`download: cached ${dest} does not match its checksum; downloading it again`);
    rmSync(dest);
  }

  const partial = `${dest}.part`;
  let requests = 0;
  let lastError: unknown = null;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await delay(retryDelayMs * 2 ** (attempt - 2));
    requests++;
    try {
      await fetchInto(url, partial, idleTimeoutMs);
    } catch (error) {
      if (error instanceof PermanentError) throw error;
      lastError = error;
      const have = existsSync(partial) ? statSync(partial).size : 0;
      log(`download: ${url}: attempt ${attempt}/${attempts} failed (${describe(error)}); ${have > 0 ? `will resume from byte ${have}` : "will retry"}`);
      continue;
    }
    const sha256 = await sha256File(partial);
    if (options.sha256 && sha256 !== options.sha256) {
      rmSync(partial, { force: true });
      lastError = new DownloadError(`sha256 is ${sha256}, expected ${options.sha256}`);
      log(`download: ${url}: attempt ${attempt}/${attempts}: ${(lastError as Error).message}; downloading from the start`);
      continue;
    }
    renameSync(partial, dest);
    return { path: dest, sha256, bytes: statSync(dest).size, requests, cached: false };
  }
  const checksum = lastError instanceof DownloadError && /^sha256 is/.test(lastError.message);
  throw new DownloadError(
    `could not download ${url} after ${attempts} attempts: ${describe(lastError)}. ` +
      (checksum
        ? "The server sends different bytes than the pinned checksum: check the URL, or update the sha256 in constants.json if the file was meant to change."
        : "Check the URL and the network, then run prepare again; what arrived so far is kept and resumed."),
  );
}

/** One request: resume from what `partial` already holds when the server honours Range. */
async function fetchInto(url: string, partial: string, idleTimeoutMs: number): Promise<void> {
  const have = existsSync(partial) ? statSync(partial).size : 0;
  const response = await request(url, have > 0 ? { range: `bytes=${have}-` } : {}, idleTimeoutMs);
  const status = response.statusCode ?? 0;
  if (status === 416 && have > 0) {
    // Nothing past what we hold: the partial file is already whole (the checksum decides).
    response.resume();
    return;
  }
  if (status < 200 || status >= 300) {
    response.resume();
    const message = `HTTP ${status} ${response.statusMessage ?? ""}`.trim();
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      throw new PermanentError(`could not download ${url}: ${message}; check the URL in constants.json`);
    }
    throw new DownloadError(message);
  }
  let offset = 0;
  let total: number | null = null;
  if (status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(response.headers["content-range"] ?? ""));
    if (!range || Number(range[1]) !== have) {
      response.resume();
      throw new DownloadError(`the server answered the range request with ${response.headers["content-range"] ?? "no Content-Range"}`);
    }
    offset = have;
    if (range[3] !== "*") total = Number(range[3]);
  } else if (response.headers["content-length"] !== undefined) {
    total = Number(response.headers["content-length"]);
  }
  // Each chunk goes to disk as it arrives, so a cut connection loses nothing that was received.
  const fd = openSync(partial, offset > 0 ? "a" : "w");
  let written = offset;
  try {
    await new Promise<void>((resolve, reject) => {
      response.on("data", (chunk: Buffer) => {
        writeSync(fd, chunk);
        written += chunk.length;
      });
      response.on("end", resolve);
      response.on("error", (error) => reject(new DownloadError(`the connection failed after ${written} bytes (${error.message})`)));
      response.on("close", () => {
        if (!response.complete) reject(new DownloadError(`the connection closed after ${written} bytes`));
      });
    });
  } finally {
    closeSync(fd);
  }
  if (total !== null && written !== total) throw new DownloadError(`the connection ended after ${written} of ${total} bytes`);
}

/** GET with redirects followed (dataset hosts redirect to a CDN) and a timeout on silence. */
function request(url: string, headers: Record<string, string>, idleTimeoutMs: number, redirects = 5): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith("https:") ? httpsGet : httpGet;
    const req = get(url, { headers }, (response) => {
      const location = response.headers.location;
      if (location && [301, 302, 303, 307, 308].includes(response.statusCode ?? 0)) {
        response.resume();
        if (redirects === 0) return reject(new DownloadError(`too many redirects from ${url}`));
        return resolve(request(new URL(location, url).href, headers, idleTimeoutMs, redirects - 1));
      }
      response.setTimeout(idleTimeoutMs, () => response.destroy(new DownloadError(`no data for ${idleTimeoutMs / 1000}s`)));
      resolve(response);
    });
    req.setTimeout(idleTimeoutMs, () => req.destroy(new DownloadError(`no response for ${idleTimeoutMs / 1000}s`)));
    req.on("error", reject);
  });
}

/** The data code's name for the guard's streamed sha256 of a file. */
export const sha256File = hashFile;

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message !== error.message ? `${error.message}: ${cause.message}` : error.message;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
