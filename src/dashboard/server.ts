// The dashboard's HTTP server: 127.0.0.1 only, every request needs the access token (from the
// printed URL, then a cookie), read-only JSON over the store, and the live stream.
//
// GET /                                   the page (sets the token cookie)
// GET /api/overview?tag=T&...             Overview: the sessions, one session's snapshot, its first table page
// GET /api/sessions                       { sessions, problem }
// GET /api/sessions/:tag                  SessionSnapshot: summary, chart points, running experiments
// GET /api/sessions/:tag/experiments?...  RowPage (sort, order, status, text, offset, limit)
// GET /api/experiments/:id                ExperimentDetail: diff, metrics, rationale, log tail
// GET /api/study                          StudyView: a shared study's workers, bests and every worker's experiments (null: not shared)
// GET /api/stream                         Server-Sent Events of StreamMessage
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { EnvironmentError } from "../errors.ts";
import type { StudyView } from "./api.ts";
import type { WebBundle } from "./bundle.ts";
import { liveCsp, renderPage } from "./page.ts";
import { parseRowQuery } from "./query.ts";
import type { DashboardStore } from "./store.ts";
import type { SseHub } from "./stream.ts";

export interface DashboardServerOptions {
  store: DashboardStore;
  hub: SseHub;
  bundle: WebBundle;
  /** 0 (default) lets the system choose a free port. */
  port?: number;
  /** Generated when absent. */
  token?: string;
  title?: string;
  /** A shared study's overview (read from its database); absent for a local project. */
  study?: () => Promise<StudyView>;
}

export interface DashboardServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

export const HOST = "127.0.0.1";

export function newToken(): string {
  return randomBytes(24).toString("base64url");
}

export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const token = options.token ?? newToken();
  const state = { port: 0 };
  const server = createServer((request, response) => {
    try {
      handle(request, response, options, token, state.port);
    } catch (error) {
      sendJson(response, 500, { error: `the dashboard failed to answer: ${(error as Error).message}` });
    }
  });
  await listen(server, options.port ?? 0);
  state.port = (server.address() as AddressInfo).port;
  return {
    url: `http://${HOST}:${state.port}/?token=${token}`,
    port: state.port,
    token,
    close: () => new Promise((resolve) => {
      // Streams end gracefully so their last messages arrive; stragglers are cut after a second.
      options.hub.close();
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 1000).unref();
    }),
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(error.code === "EADDRINUSE"
        ? new EnvironmentError(`port ${port} on ${HOST} is already in use`, "Pick another with --port N, or leave --port out to get a free one.")
        : error);
    });
    server.listen(port, HOST, () => resolve());
  });
}

function handle(request: IncomingMessage, response: ServerResponse, options: DashboardServerOptions, token: string, port: number): void {
  const url = new URL(request.url ?? "/", `http://${HOST}`);
  if (request.method !== "GET" && request.method !== "HEAD") {
    sendText(response, 405, "the dashboard is read-only: only GET requests are answered\n");
    return;
  }
  const cookieName = `autoresearch_token_${port}`;
  const access = checkToken(request, url, token, cookieName);
  if (access !== "ok") {
    const status = access === "missing" ? 401 : 403;
    sendText(response, status, `${status === 401 ? "this dashboard needs its access token" : "wrong access token"}: open the full URL that \`autoresearch dashboard\` (or \`run --dashboard\`) printed, the one ending in ?token=…\n`);
    return;
  }
  const { store } = options;
  const path = url.pathname;
  if (path === "/favicon.ico") {
    response.writeHead(204).end();
    return;
  }
  if (path === "/") {
    const nonce = randomBytes(16).toString("base64");
    response.writeHead(200, {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy": liveCsp(nonce),
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      // Later requests (the page's own, or a bookmark without the token) authenticate by cookie.
      "Set-Cookie": `${cookieName}=${token}; HttpOnly; SameSite=Strict; Path=/`,
    });
    response.end(renderPage(options.bundle, { title: options.title ?? "autoresearch dashboard", nonce }));
    return;
  }
  if (path === "/api/stream") {
    options.hub.add(request, response, { kind: "hello", version: store.version });
    return;
  }
  if (path === "/api/study") {
    // null, not 404: the page asks on every load, and a browser logs each 404 as an error.
    if (!options.study) sendJson(response, 200, "null");
    else void options.study().then((study) => sendJson(response, 200, study), (error: Error) => sendJson(response, 500, { error: error.message }));
    return;
  }
  let answer: [number, unknown];
  try {
    answer = apiAnswer(store, path, url.searchParams);
  } catch (error) {
    // Bad query parameters and malformed escapes in a path are the caller's mistake.
    if (!(error instanceof RangeError || error instanceof URIError)) throw error;
    answer = [400, { error: error.message }];
  }
  sendJson(response, ...answer);
}

function apiAnswer(store: DashboardStore, path: string, params: URLSearchParams): [number, unknown] {
  if (path === "/api/sessions") return [200, { sessions: store.sessions(), problem: store.problem }];
  if (path === "/api/overview") return [200, store.overviewJson(params.get("tag"), parseRowQuery(params))];
  const session = /^\/api\/sessions\/([^/]+)(\/experiments)?$/.exec(path);
  if (session) {
    const tag = decodeURIComponent(session[1]);
    const found = session[2] === undefined ? store.snapshot(tag) : store.page(tag, parseRowQuery(params));
    return found === null ? [404, { error: `no session "${tag}"` }] : [200, found];
  }
  const experiment = /^\/api\/experiments\/(\d+)$/.exec(path);
  if (experiment) {
    const detail = store.detail(Number(experiment[1]));
    return detail === null ? [404, { error: `no experiment ${experiment[1]}` }] : [200, detail];
  }
  return [404, { error: `nothing at ${path}` }];
}

function checkToken(request: IncomingMessage, url: URL, token: string, cookieName: string): "ok" | "missing" | "wrong" {
  const header = request.headers.authorization;
  const candidates = [
    url.searchParams.get("token"),
    header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : null,
    cookieValue(request.headers.cookie, cookieName),
  ].filter((value): value is string => value !== null && value !== "");
  if (candidates.length === 0) return "missing";
  return candidates.some((candidate) => sameSecret(candidate, token)) ? "ok" : "wrong";
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of header?.split(";") ?? []) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return value.join("=");
  }
  return null;
}

/** `body` is sent as JSON; a string is taken to be JSON already. */
function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" });
  response.end(typeof body === "string" ? body : JSON.stringify(body));
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" });
  response.end(text);
}
