// Starting a dashboard: the store over the project's ledger, the live feed, the HTTP server.
import type { SharedLedgerConfig } from "../config/ledger.ts";
import type { EventBus } from "../events/types.ts";
import { cachedStudyReader } from "../share/overview.ts";
import { webBundle } from "./bundle.ts";
import { LiveUpdates } from "./live.ts";
import { DEFAULT_QUERY } from "./query.ts";
import { startDashboardServer } from "./server.ts";
import { DashboardStore } from "./store.ts";
import { SseHub } from "./stream.ts";

export interface RunningDashboard {
  url: string;
  port: number;
  token: string;
  /** Feed the engine's events (inside `run`); without it the dashboard polls the ledger. */
  attach(bus: EventBus): void;
  close(): Promise<void>;
}

export interface DashboardOptions {
  stateDir: string;
  port?: number;
  token?: string;
  /** "poll": another process runs the loop (the standalone command); "events": call attach(bus). */
  feed: "poll" | "events";
  /** A shared study (the config's ledger section): the page shows its workers and every worker's experiments. */
  study?: SharedLedgerConfig | null;
}

export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const bundle = await webBundle();
  const store = new DashboardStore(options.stateDir);
  const hub = new SseHub();
  const live = new LiveUpdates(store, hub);
  store.refresh();
  // Reading a big session takes a moment: done before the URL is printed, not on the first view.
  store.overviewJson(null, DEFAULT_QUERY);
  const study = options.study ? cachedStudyReader(options.study) : undefined;
  const server = await startDashboardServer({ store, hub, bundle, port: options.port, token: options.token, study });
  if (options.feed === "poll") live.startPolling();
  let detach = () => {};
  return {
    url: server.url,
    port: server.port,
    token: server.token,
    attach(bus) {
      detach();
      detach = live.attach(bus);
    },
    async close() {
      detach();
      live.stop();
      await server.close();
      store.close();
    },
  };
}
