/**
 * A pkgindex server with its HTTP listener, in this process, on ephemeral ports: tests feed it
 * over TCP and ask it over real HTTP.
 *
 * @module
 */

import { PackageIndex } from "../../lib/index/package_index.ts";
import { serveHttp } from "../../lib/ops/http_server.ts";
import { createInspectionApi, type InspectionOptions } from "../../lib/ops/inspection_api.ts";
import { renderMetrics } from "../../lib/ops/metrics.ts";
import { serve, type ServeOptions, type Server } from "../../lib/server/server.ts";
import { exchange, recordingLogger } from "./test_server.ts";

/** Options for {@linkcode startService}. */
export interface ServiceOptions {
  /** The index to serve. Default: a new, empty one. */
  index?: PackageIndex;
  /** Options of the protocol server (its address is always 127.0.0.1:0). */
  serve?: ServeOptions;
  /** The address of the HTTP listener. Default: 127.0.0.1. */
  httpHost?: string;
  /** The token `/v1/` requires. */
  token?: string;
  /** What the inspection API is asked besides the index and the server. */
  inspection?: Partial<InspectionOptions>;
}

/** An answer over HTTP: its status, its headers, and its body as text. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: string;
}

/** A running server and HTTP listener, with ways to talk to both. */
export interface Service {
  index: PackageIndex;
  server: Server;
  /** Everything the server logged. */
  log: string[];
  /** The URL of `path` on the HTTP listener (via 127.0.0.1). */
  url(path: string): string;
  /** Sends `lines` over one TCP connection and returns the replies. */
  feed(lines: string): Promise<string>;
  /** Makes an HTTP request and reads the whole answer. */
  request(path: string, init?: RequestInit): Promise<HttpAnswer>;
  /** `GET path`, expecting JSON: the status and the parsed body. */
  getJson(path: string, init?: RequestInit): Promise<{ status: number; json: unknown }>;
  /** Stops the HTTP listener and the server. */
  stop(): Promise<void>;
}

/** Runs `body` with a service started with `options`, and always stops the service afterwards. */
export async function withService(
  body: (service: Service) => Promise<void>,
  options: ServiceOptions = {},
): Promise<void> {
  const service = startService(options);
  try {
    await body(service);
  } finally {
    await service.stop();
  }
}

/** Starts a server and its HTTP listener on ephemeral ports. */
export function startService(options: ServiceOptions = {}): Service {
  const index = options.index ?? new PackageIndex();
  const logger = recordingLogger();
  const server = serve({ logger, index, ...options.serve, hostname: "127.0.0.1", port: 0 });
  const http = serveHttp({
    hostname: options.httpHost ?? "127.0.0.1",
    port: 0,
    render: () => renderMetrics({ stats: server.stats, index }),
    healthy: () => true,
    inspection: createInspectionApi({
      index,
      server,
      maxLineBytes: options.serve?.maxLineBytes ?? 65536,
      ...options.inspection,
    }),
    ...(options.token === undefined ? {} : { token: options.token }),
    logger,
  });
  const url = (path: string) => `http://127.0.0.1:${http.addr.port}${path}`;
  const request = async (path: string, init?: RequestInit): Promise<HttpAnswer> => {
    const response = await fetch(url(path), init);
    return { status: response.status, headers: response.headers, body: await response.text() };
  };
  return {
    index,
    server,
    log: logger.lines,
    url,
    feed: (lines) => exchange(server.addr.port, lines),
    request,
    async getJson(path, init) {
      const answer = await request(path, init);
      return { status: answer.status, json: JSON.parse(answer.body) };
    },
    async stop() {
      await http.shutdown();
      await server.shutdown();
    },
  };
}
