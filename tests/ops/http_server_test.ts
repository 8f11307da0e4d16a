import assert, { strictEqual, throws } from "node:assert/strict";
import { type HealthRole, serveHttp } from "../../lib/ops/http_server.ts";
import { createLogger } from "../../lib/util/log.ts";
import { parseExposition } from "../support/exposition.ts";
import { recordingLogger } from "../support/test_server.ts";
import { type Service, startService } from "../support/http_service.ts";

const quiet = createLogger({ level: "error", write: () => {} });

async function scrape(service: Service): Promise<Map<string, number>> {
  const response = await service.request("/metrics");
  strictEqual(response.status, 200);
  strictEqual(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  return parseExposition(response.body);
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
  const service = startService({ serve: { maxLineBytes: 32, maxConnections: 1, idleTimeout: 0 } });
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

  const samples = await scrape(service);
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
  const service = startService({ serve: { idleTimeout: 0.05 } });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: service.server.addr.port });
  strictEqual(await readText(conn, 1), "");
  conn.close();
  const samples = await scrape(service);
  strictEqual(samples.get("pkgindex_idle_timeouts_total"), 1);
  strictEqual(samples.get("pkgindex_connections_total"), 1);
  await service.stop();
});

Deno.test("GET /healthz answers 200 ok while healthy and 503 once shutdown starts", async () => {
  let healthy = true;
  const http = serveHttp({
    hostname: "127.0.0.1",
    port: 0,
    render: () => "",
    healthy: () => healthy,
    inspection: () => Promise.resolve(new Response("{}")),
    logger: quiet,
  });
  const url = `http://127.0.0.1:${http.addr.port}/healthz`;
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
  await http.shutdown();
});

Deno.test("GET /v1/health answers 200 only for a leader with a valid lease or a standalone server, without a token", async () => {
  let healthy = true;
  let role: HealthRole = "standalone";
  const http = serveHttp({
    hostname: "127.0.0.1",
    port: 0,
    render: () => "",
    healthy: () => healthy,
    role: () => role,
    inspection: () => Promise.reject(new Error("/v1/health is not the inspection API's")),
    token: "secret",
    logger: quiet,
  });
  const url = `http://127.0.0.1:${http.addr.port}/v1/health`;
  const check = async () => {
    const response = await fetch(url);
    return [response.status, await response.json()];
  };
  assert.deepEqual(await check(), [200, { role: "standalone" }]);
  role = "leader";
  assert.deepEqual(await check(), [200, { role: "leader" }]);
  role = "standby";
  assert.deepEqual(await check(), [503, { role: "standby" }]);
  role = "candidate";
  assert.deepEqual(await check(), [503, { role: "candidate" }]);
  role = "leader";
  healthy = false; // shutting down
  assert.deepEqual(await check(), [503, { role: "leader" }]);
  const post = await fetch(url, { method: "POST" });
  strictEqual(post.status, 405);
  await post.body?.cancel();
  await http.shutdown();
});

Deno.test("the HTTP listener answers 404 to unknown paths and 405 with Allow to other methods", async () => {
  const service = startService();
  for (const path of ["/index.html", "/metricsz", "/v2/info"]) {
    const answer = await service.request(path);
    strictEqual(`${answer.status} ${answer.body}`, "404 not found\n", path);
  }
  for (const path of ["/metrics", "/healthz"]) {
    const answer = await service.request(path, { method: "POST", body: "x" });
    strictEqual(`${answer.status} ${answer.body}`, "405 method not allowed\n", path);
    strictEqual(answer.headers.get("allow"), "GET, HEAD");
  }
  await service.stop();
});

Deno.test("/v1/ is open on a loopback address without a token", async () => {
  const service = startService();
  strictEqual((await service.request("/v1/info")).status, 200);
  await service.stop();
});

Deno.test("/v1/ answers 401 without the bearer token when one is set; /metrics and /healthz stay open", async () => {
  const service = startService({ token: "s3cret-token" });
  for (const authorization of [undefined, "Bearer wrong-token", "Bearer s3cret", "Basic xyz"]) {
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    const answer = await service.request("/v1/info", { headers });
    strictEqual(answer.status, 401, `with ${authorization}`);
    strictEqual(answer.headers.get("www-authenticate"), 'Bearer realm="pkgindex"');
    assert.deepEqual(JSON.parse(answer.body), {
      error: "Send the server's PKGINDEX_HTTP_TOKEN as 'Authorization: Bearer <token>'.",
    });
  }
  const authorized = { headers: { authorization: "Bearer s3cret-token" } };
  strictEqual((await service.request("/v1/info", authorized)).status, 200);
  strictEqual((await service.request("/v1/nothing-here", authorized)).status, 404);
  strictEqual((await service.request("/v1/nothing-here")).status, 401, "no path probing");
  strictEqual((await service.request("/healthz")).status, 200);
  strictEqual((await service.request("/metrics")).status, 200);
  await service.stop();
});

Deno.test("/v1/ is closed on a non-loopback address without a token; /metrics and /healthz stay open", async () => {
  const service = startService({ httpHost: "0.0.0.0" });
  const answer = await service.request("/v1/packages/gmp");
  strictEqual(answer.status, 401);
  assert.deepEqual(JSON.parse(answer.body), {
    error: "The inspection API is closed: the listener is not on a loopback address and the " +
      "server has no PKGINDEX_HTTP_TOKEN.",
  });
  strictEqual((await service.request("/healthz")).status, 200);
  strictEqual((await service.request("/metrics")).status, 200);
  await service.stop();
});

Deno.test("a request that fails unexpectedly gets a JSON 500 sentence and a log line, no stack", async () => {
  const logger = recordingLogger();
  const http = serveHttp({
    hostname: "127.0.0.1",
    port: 0,
    render: () => "",
    healthy: () => true,
    inspection: () => Promise.reject(new Error("disk on fire")),
    logger,
  });
  const response = await fetch(`http://127.0.0.1:${http.addr.port}/v1/info`);
  strictEqual(response.status, 500);
  strictEqual(response.headers.get("content-type"), "application/json; charset=utf-8");
  assert.deepEqual(await response.json(), {
    error: "The server failed to answer; its log says why.",
  });
  assert.match(logger.lines.join("\n"), /ERROR An HTTP request failed: disk on fire$/);
  await http.shutdown();
});

Deno.test("serveHttp names the address when the port is taken", () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  throws(
    () =>
      serveHttp({
        hostname: "127.0.0.1",
        port,
        render: () => "",
        healthy: () => true,
        inspection: () => Promise.resolve(new Response("{}")),
        logger: quiet,
      }),
    new RegExp(`^Error: Cannot listen on 127\\.0\\.0\\.1:${port} for HTTP: Address already in use`),
  );
  listener.close();
});
