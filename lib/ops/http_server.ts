/**
 * The operator's HTTP listener: `GET /metrics` for Prometheus and `GET /healthz` for load
 * balancers and orchestrators. It runs beside the TCP server, never on its path: a scrape reads
 * the counters the server already keeps.
 *
 * @module
 */

import { errorMessage } from "../util/errors.ts";
import { formatHostPort } from "../util/net.ts";
import { METRICS_CONTENT_TYPE } from "./metrics.ts";

/** Options for {@linkcode serveMetrics}. */
export interface MetricsServerOptions {
  /** The address to listen on. */
  hostname: string;
  /** The HTTP port to listen on; 0 picks a free one. */
  port: number;
  /** Renders the body of `GET /metrics`, such as with {@linkcode renderMetrics}. */
  render: () => string;
  /** Whether the server accepts connections: `GET /healthz` answers 200 while true, 503 after. */
  healthy: () => boolean;
}

/**
 * Starts the metrics and health listener and returns it once it is listening. It answers
 * `GET /metrics` with `render()`, `GET /healthz` with `200 ok` or `503 shutting down` (and `HEAD`
 * of either, as some load balancers probe), and anything else with 404. Throws when the address cannot be listened on. Stop it with
 * `shutdown()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveMetrics } from "./http_server.ts";
 *
 * const metrics = serveMetrics({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   render: () => "",
 *   healthy: () => true,
 * });
 * assert.equal(await (await fetch(`http://127.0.0.1:${metrics.addr.port}/healthz`)).text(), "ok\n");
 * await metrics.shutdown();
 * ```
 */
export function serveMetrics(options: MetricsServerOptions): Deno.HttpServer<Deno.NetAddr> {
  const { hostname, port, render, healthy } = options;
  try {
    return Deno.serve({ hostname, port, onListen() {} }, (request) => {
      const readOnly = request.method === "GET" || request.method === "HEAD";
      const path = readOnly ? new URL(request.url).pathname : undefined;
      if (path === "/metrics") {
        return new Response(render(), { headers: { "content-type": METRICS_CONTENT_TYPE } });
      }
      if (path === "/healthz") {
        return healthy() ? text(200, "ok\n") : text(503, "shutting down\n");
      }
      return text(404, "not found\n");
    });
  } catch (error) {
    throw new Error(
      `Cannot listen on ${formatHostPort(hostname, port)} for metrics: ${errorMessage(error)}`,
      {
        cause: error,
      },
    );
  }
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}
