// Where the page gets its data: the live server (fetch + Server-Sent Events), or the data
// embedded in a static report. The rest of the UI cannot tell them apart.
import type { ExperimentDetail, ExperimentRow, Overview, ReportData, ReportDetails, RowPage, RowQuery, StreamMessage, StudyView } from "../api.ts";
import { queryRows, queryToParams } from "../query.ts";

export type ConnectionState = "connecting" | "live" | "offline" | "static";

export interface StreamHandlers {
  /** The first message after each (re)connection is a hello with the server's data version. */
  message(message: StreamMessage): void;
  state(state: ConnectionState): void;
}

export interface DataSource {
  live: boolean;
  generatedAt: string | null;
  /** The sessions and one of them (`tag`, else the latest) with the first table page for `query`. */
  overview(tag: string | null, query: RowQuery): Promise<Overview>;
  page(tag: string, query: RowQuery): Promise<RowPage>;
  detail(id: number): Promise<ExperimentDetail | null>;
  /** A shared study's whole record; null for a project whose ledger is not shared. */
  study(): Promise<StudyView | null>;
  subscribe(handlers: StreamHandlers): void;
}

export function httpSource(token: string | null): DataSource {
  const withToken = (path: string) => (token ? `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : path);
  async function get<T>(path: string): Promise<T | null> {
    const response = await fetch(withToken(path), { cache: "no-store" });
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }
  return {
    live: true,
    generatedAt: null,
    overview: async (tag, query) => {
      const params = queryToParams(query);
      if (tag !== null) params.set("tag", tag);
      return (await get<Overview>(`/api/overview?${params}`))!;
    },
    page: async (tag, query) => (await get<RowPage>(`/api/sessions/${encodeURIComponent(tag)}/experiments?${queryToParams(query)}`)) ?? { total: 0, offset: 0, rows: [] },
    detail: (id) => get<ExperimentDetail>(`/api/experiments/${id}`),
    study: () => get<StudyView>("/api/study"),
    subscribe(handlers) {
      handlers.state("connecting");
      const events = new EventSource(withToken("/api/stream"));
      events.onopen = () => handlers.state("live");
      events.onerror = () => handlers.state(events.readyState === EventSource.CLOSED ? "offline" : "connecting");
      events.onmessage = (event) => handlers.message(JSON.parse(event.data as string) as StreamMessage);
    },
  };
}

/** `details` is called on the first detail shown (parsing them all up front would slow the first view). */
export function staticSource(data: ReportData, details: () => ReportDetails): DataSource {
  let joined: { rows: Map<number, ExperimentRow>; details: ReportDetails } | null = null;
  const detail = (id: number): ExperimentDetail | null => {
    joined ??= { rows: new Map(Object.values(data.rows).flat().map((row) => [row.id, row])), details: details() };
    const row = joined.rows.get(id);
    const extra = joined.details[String(id)];
    return row && extra ? { ...row, ...extra } : null;
  };
  return {
    live: false,
    generatedAt: data.generatedAt,
    overview: async (tag, query) => {
      const shown = tag !== null && data.snapshots[tag] ? tag : data.sessions.at(-1)?.tag;
      return {
        version: 0,
        sessions: data.sessions,
        problem: data.sessions.length === 0 ? "this report holds no session" : null,
        snapshot: shown === undefined ? null : data.snapshots[shown],
        page: shown === undefined ? null : queryRows(data.rows[shown] ?? [], query),
      };
    },
    page: async (tag, query) => queryRows(data.rows[tag] ?? [], query),
    detail: async (id) => detail(id),
    study: async () => data.study ?? null,
    subscribe: (handlers) => handlers.state("static"),
  };
}
