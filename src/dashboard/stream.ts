// The live stream to browsers: Server-Sent Events, one JSON StreamMessage per event.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { StreamMessage } from "./api.ts";

const HEARTBEAT_MS = 15_000;

export class SseHub {
  #clients = new Set<ServerResponse>();
  #heartbeat: NodeJS.Timeout;

  constructor() {
    // Comments keep idle connections open through proxies and let us notice closed ones.
    this.#heartbeat = setInterval(() => this.#send(": ping\n\n"), HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  get size(): number {
    return this.#clients.size;
  }

  /** `hello` goes first: it lets a page tell whether what it loaded is still current. */
  add(request: IncomingMessage, response: ServerResponse, hello: StreamMessage): void {
    response.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    // The browser reconnects after a second if the server restarts; the page then reloads its data.
    response.write(`retry: 1000\ndata: ${JSON.stringify(hello)}\n\n`);
    this.#clients.add(response);
    request.on("close", () => this.#clients.delete(response));
  }

  broadcast(message: StreamMessage): void {
    if (this.#clients.size > 0) this.#send(`data: ${JSON.stringify(message)}\n\n`);
  }

  close(): void {
    clearInterval(this.#heartbeat);
    for (const client of this.#clients) client.end();
    this.#clients.clear();
  }

  #send(text: string): void {
    for (const client of this.#clients) {
      if (client.writableEnded || client.destroyed) this.#clients.delete(client);
      else client.write(text);
    }
  }
}
