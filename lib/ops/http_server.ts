/**
 * The operator's HTTP listener: `GET /metrics` for Prometheus, `GET /healthz` for load balancers
 * and orchestrators, the JSON inspection API under `/v1/`, and the operator console at `GET /`.
 * It runs beside the TCP server, never on its path: it reads the counters the server keeps
 * anyway, and walks the index in slices that leave the protocol its turns.
 *
 * `/v1/` is open on a loopback address; with a token set, it requires `Authorization: Bearer
 * <token>`; on any other address without a token, it answers 401 to everything. The console
 * follows the same rules: served where `/v1/` is open or wants a token (the page then asks for
 * it; the page itself holds no data), 401 where `/v1/` is closed. `/metrics` and `/healthz` stay
 * open: they say nothing about the packages.
 *
 * @module
 */

import { errorMessage } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { formatHostPort } from "../util/net.ts";
import { hasBearerToken, inspectionAccess } from "./bearer_token.ts";
import { CONSOLE_PATHS, consoleResponse } from "./console.ts";
import { HttpError, jsonResponse, textResponse } from "./http_responses.ts";
import type { InspectionHandler, RequestTarget } from "./inspection_api.ts";
import { METRICS_CONTENT_TYPE } from "./metrics.ts";

/** Options for {@linkcode serveHttp}. */
export interface HttpServerOptions {
  /** The address to listen on. */
  hostname: string;
  /** The HTTP port to listen on; 0 picks a free one. */
  port: number;
  /** Renders the body of `GET /metrics`, such as with {@linkcode renderMetrics}. */
  render: () => string;
  /** Whether the server accepts connections: `GET /healthz` answers 200 while true, 503 after. */
  healthy: () => boolean;
  /**
   * What `GET /v1/health` reports, for load balancers: 200 only for `leader` (a leader with a
   * valid lease) and `standalone` (no PostgreSQL), and only while
   * {@linkcode HttpServerOptions.healthy}; 503 for the rest. Default: `standalone`.
   */
  role?: () => HealthRole;
  /** Answers the requests under `/v1/`, such as {@linkcode createInspectionApi}'s handler. */
  inspection: InspectionHandler;
  /** The bearer token `/v1/` requires; see {@linkcode inspectionAccess}. */
  token?: string;
  /** Where a request that fails unexpectedly is logged (it is answered 500). */
  logger: Logger;
}

/** The role `GET /v1/health` reports; see {@linkcode HttpServerOptions.role}. */
export type HealthRole = "leader" | "standby" | "candidate" | "standalone";

/** The path of the load balancers' health check, open without a token: it tells only the role. */
const HEALTH_PATH = "/v1/health";

/** Methods `/metrics`, `/healthz` and the console answer (`HEAD`: some load balancers probe so). */
const READ_METHODS = "GET, HEAD";

const CLOSED_CONSOLE = "The console is closed like /v1/: the listener is not on a loopback " +
  "address and the server has no PKGINDEX_HTTP_TOKEN.\n";

/**
 * Starts the HTTP listener and returns it once it is listening. It answers `GET /metrics` with
 * `render()`, `GET /healthz` with `200 ok` or `503 shutting down`, `GET /v1/health` with the
 * role (200 only on a leader with a valid lease or a process without PostgreSQL; no token
 * needed), `/v1/` with `inspection` (behind the token rules), `GET /` and the console's files
 * with {@linkcode consoleResponse} (behind the same rules), other methods on those paths with 405
 * and an `Allow` header, and
 * anything else with 404. A request that fails unexpectedly is logged and answered 500 with a
 * JSON sentence, never a stack trace. Throws when the address cannot be listened on. Stop it
 * with `shutdown()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveHttp } from "./http_server.ts";
 * import { createLogger } from "../util/log.ts";
 *
 * const http = serveHttp({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   render: () => "",
 *   healthy: () => true,
 *   inspection: () => Promise.resolve(new Response("{}")),
 *   logger: createLogger(),
 * });
 * assert.equal(await (await fetch(`http://127.0.0.1:${http.addr.port}/healthz`)).text(), "ok\n");
 * await http.shutdown();
 * ```
 */
export function serveHttp(options: HttpServerOptions): Deno.HttpServer<Deno.NetAddr> {
  const { hostname, port, render, healthy, inspection, token, logger } = options;
  const role = options.role ?? (() => "standalone");
  let access: ReturnType<typeof inspectionAccess> = "closed";
  const handler = (request: Request): Response | Promise<Response> => {
    const target = requestTarget(request.url);
    const { path } = target;
    if (path === HEALTH_PATH) {
      if (request.method !== "GET" && request.method !== "HEAD") {
        return textResponse(405, "method not allowed\n", { allow: READ_METHODS });
      }
      const now = role();
      const serving = (now === "leader" || now === "standalone") && healthy();
      return jsonResponse({ role: now }, { status: serving ? 200 : 503 });
    }
    if (path === "/v1" || path.startsWith("/v1/")) {
      if (access === "open" || (access === "token" && hasBearerToken(request, token!))) {
        return inspection(request, target);
      }
      return new HttpError(
        401,
        access === "token"
          ? "Send the server's PKGINDEX_HTTP_TOKEN as 'Authorization: Bearer <token>'."
          : "The inspection API is closed: the listener is not on a loopback address and the " +
            "server has no PKGINDEX_HTTP_TOKEN.",
        { "www-authenticate": 'Bearer realm="pkgindex"' },
      ).response();
    }
    const isConsole = CONSOLE_PATHS.includes(path);
    if (!isConsole && path !== "/metrics" && path !== "/healthz") {
      return textResponse(404, "not found\n");
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return textResponse(405, "method not allowed\n", { allow: READ_METHODS });
    }
    if (isConsole) {
      if (access !== "closed") return consoleResponse(path, access);
      return textResponse(401, CLOSED_CONSOLE);
    }
    if (path === "/metrics") {
      return new Response(render(), { headers: { "content-type": METRICS_CONTENT_TYPE } });
    }
    return healthy() ? textResponse(200, "ok\n") : textResponse(503, "shutting down\n");
  };
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname,
      port,
      onListen() {},
      onError(error) {
        logger.error(`An HTTP request failed: ${errorMessage(error)}`);
        return jsonResponse({ error: "The server failed to answer; its log says why." }, {
          status: 500,
        });
      },
    }, handler);
  } catch (error) {
    throw new Error(
      `Cannot listen on ${formatHostPort(hostname, port)} for HTTP: ${errorMessage(error)}`,
      { cause: error },
    );
  }
  access = inspectionAccess(server.addr.hostname, token);
  return server;
}

/**
 * The path and query of an absolute request URL, exactly as sent: a package called `..` or
 * `a%2Fb` must reach the API as such, so nothing is decoded or normalized here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestTarget } from "./http_server.ts";
 *
 * assert.deepEqual(requestTarget("http://127.0.0.1:9090/v1/packages/gtk+3?limit=5"), {
 *   path: "/v1/packages/gtk+3",
 *   query: "limit=5",
 * });
 * assert.deepEqual(requestTarget("http://localhost/v1/packages/.."), { path: "/v1/packages/..", query: "" });
 * ```
 */
export function requestTarget(url: string): RequestTarget {
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  if (pathStart === -1) return { path: "/", query: "" };
  const question = url.indexOf("?", pathStart);
  return question === -1
    ? { path: url.slice(pathStart), query: "" }
    : { path: url.slice(pathStart, question), query: url.slice(question + 1) };
}
