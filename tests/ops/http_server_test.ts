import { strictEqual, throws } from "node:assert/strict";
import { renderMetrics } from "../../lib/ops/metrics.ts";
import { serveMetrics } from "../../lib/ops/http_server.ts";
import { PackageIndex } from "../../lib/index/package_index.ts";
import { serve, type ServeOptions } from "../../lib/server/server.ts";
import { createLogger } from "../../lib/util/log.ts";
import { parseExposition } from "../support/exposition.ts";

const quiet = createLogger({ level: "error", write: () => {} });

/** Starts a pkgindex server and its metrics listener on ephemeral ports of 127.0.0.1. */
function start(options: ServeOptions) {
  const index = new PackageIndex();
  const server = serve({ hostname: "127.0.0.1", port: 0, index, logger: quiet, ...options });
  const metrics = serveMetrics({
    hostname: "127.0.0.1",
    port: 0,
    render: () => renderMetrics({ stats: server.stats, index }),
    healthy: () => true,
  });
  return {
    server,
    metrics,
    url: (path: string) => `http://127.0.0.1:${metrics.addr.port}${path}`,
    async scrape(): Promise<Map<string, number>> {
      const response = await fetch(`http://127.0.0.1:${metrics.addr.port}/metrics`);
      strictEqual(response.status, 200);
      strictEqual(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      return parseExposition(await response.text());
    },
    async stop(): Promise<void> {
      await server.shutdown();
      await metrics.shutdown();
    },
  };
}

/** Reads from `conn` until `length` bytes arrived or it ends, and returns them as text. */
async function readText(conn: Deno.Conn, length: number): Promise<string> {
  const bytes = new Uint8Array(length);
  let received = 0;
  while (received < length) {
    const count = await conn.read(bytes.subarray(received));
    if (count === null) break;
    received += count;
  }
  return new TextDecoder().decode(bytes.subarray(0, received));
}

Deno.test("GET /metrics reports exact counters after known traffic", async () => {
  const service = start({ maxLineBytes: 32, maxConnections: 1, idleTimeout: 0 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: service.server.addr.port });
  const requests = "INDEX|gmp|\nINDEX|isl|gmp\nINDEX|cloog|gmp,isl,nope\nINDEX|cloog|gmp,isl\n" +
    "QUERY|isl|\nQUERY|zzz|\nREMOVE|gmp|\nREMOVE|zzz|\nBOGUS\n" + "QUERY|" + "x".repeat(40) + "|\n";
  const replies = "OK\nOK\nFAIL\nOK\nOK\nFAIL\nFAIL\nOK\nERROR\nERROR\n";
  await conn.write(new TextEncoder().encode(requests));
  strictEqual(await readText(conn, replies.length), replies);
  // The limit is one connection, so a second one is closed as soon as it is accepted.
  const rejected = await Deno.connect({ hostname: "127.0.0.1", port: service.server.addr.port });
  strictEqual(await readText(rejected, 1), "");
  rejected.close();

  const samples = await service.scrape();
  const expected: Record<string, number> = {
    "pkgindex_connections_open": 1,
    "pkgindex_connections_total": 1,
    "pkgindex_connections_rejected_total": 1,
    "pkgindex_idle_timeouts_total": 0,
    'pkgindex_requests_total{command="INDEX",result="OK"}': 3,
    'pkgindex_requests_total{command="INDEX",result="FAIL"}': 1,
    'pkgindex_requests_total{command="INDEX",result="ERROR"}': 0,
    'pkgindex_requests_total{command="REMOVE",result="OK"}': 1,
    'pkgindex_requests_total{command="REMOVE",result="FAIL"}': 1,
    'pkgindex_requests_total{command="REMOVE",result="ERROR"}': 0,
    'pkgindex_requests_total{command="QUERY",result="OK"}': 1,
    'pkgindex_requests_total{command="QUERY",result="FAIL"}': 1,
    'pkgindex_requests_total{command="QUERY",result="ERROR"}': 0,
    "pkgindex_malformed_requests_total": 2,
    "pkgindex_overlong_lines_total": 1,
    "pkgindex_received_bytes_total": requests.length,
    "pkgindex_sent_bytes_total": replies.length,
    "pkgindex_packages": 3,
    "pkgindex_dependency_edges": 3,
  };
  for (const [key, value] of Object.entries(expected)) strictEqual(samples.get(key), value, key);
  conn.close();
  await service.stop();
});

Deno.test("GET /metrics counts a connection closed by the idle timeout", async () => {
  const service = start({ idleTimeout: 0.05 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: service.server.addr.port });
  strictEqual(await readText(conn, 1), "");
  conn.close();
  const samples = await service.scrape();
  strictEqual(samples.get("pkgindex_idle_timeouts_total"), 1);
  strictEqual(samples.get("pkgindex_connections_total"), 1);
  await service.stop();
});

Deno.test("GET /healthz answers 200 ok while healthy and 503 once shutdown starts", async () => {
  let healthy = true;
  const metrics = serveMetrics({
    hostname: "127.0.0.1",
    port: 0,
    render: () => "",
    healthy: () => healthy,
  });
  const url = `http://127.0.0.1:${metrics.addr.port}/healthz`;
  const up = await fetch(url);
  strictEqual(up.status, 200);
  strictEqual(await up.text(), "ok\n");
  healthy = false;
  const down = await fetch(url);
  strictEqual(down.status, 503);
  strictEqual(await down.text(), "shutting down\n");
  const probe = await fetch(url, { method: "HEAD" });
  strictEqual(probe.status, 503, "HEAD probes answer like GET");
  await probe.body?.cancel();
  await metrics.shutdown();
});

Deno.test("the metrics listener answers 404 to any other path or method", async () => {
  const service = start({});
  for (const [method, path] of [["GET", "/"], ["GET", "/metricsz"], ["POST", "/metrics"]]) {
    const response = await fetch(service.url(path!), { method: method! });
    strictEqual(response.status, 404, `${method} ${path}`);
    strictEqual(await response.text(), "not found\n");
  }
  await service.stop();
});

Deno.test("serveMetrics names the address when the port is taken", () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  throws(
    () => serveMetrics({ hostname: "127.0.0.1", port, render: () => "", healthy: () => true }),
    new RegExp(
      `^Error: Cannot listen on 127\\.0\\.0\\.1:${port} for metrics: Address already in use`,
    ),
  );
  listener.close();
});
