import { strictEqual } from "node:assert/strict";
import { send } from "../lib/client.ts";
import { createLogger } from "../lib/log.ts";
import { serve } from "../lib/server.ts";
import { VERSION } from "../lib/version.ts";
import { parseExposition } from "./exposition.ts";
import { durableServerCommand, MAIN, runMain, startServerProcess } from "./test_server.ts";

const quiet = createLogger({ level: "error", write: () => {} });

Deno.test("pkgindex send prints each reply on its own line and exits 0", async () => {
  const server = serve({ hostname: "127.0.0.1", port: 0, logger: quiet });
  const port = String(server.addr.port);
  const result = await runMain([
    "send",
    "--port",
    port,
    "INDEX|gmp|",
    "QUERY|gmp|",
    "QUERY|x|",
    "?",
  ]);
  strictEqual(result.stderr, "");
  strictEqual(result.stdout, "OK\nOK\nFAIL\nERROR\n");
  strictEqual(result.code, 0);
  await server.shutdown();
});

Deno.test("pkgindex send sends the lines of standard input when given no messages", async () => {
  const server = serve({ hostname: "127.0.0.1", port: 0, logger: quiet });
  const port = String(server.addr.port);
  const stdin = "INDEX|gmp|\nINDEX|isl|gmp\r\nREMOVE|gmp|\nQUERY|isl|";
  const result = await runMain(["send", "--port", port], { stdin });
  strictEqual(result.stdout, "OK\nOK\nFAIL\nOK\n");
  strictEqual(result.code, 0);
  await server.shutdown();
});

Deno.test("pkgindex send takes the port from PKGINDEX_PORT when --port is not given", async () => {
  const server = serve({ hostname: "127.0.0.1", port: 0, logger: quiet });
  const result = await runMain(["send", "QUERY|gmp|"], {
    permissions: ["--allow-net", "--allow-env=PKGINDEX_PORT"],
    env: { PKGINDEX_PORT: String(server.addr.port) },
  });
  strictEqual(result.stdout, "FAIL\n");
  strictEqual(result.code, 0);
  await server.shutdown();
});

Deno.test("pkgindex send exits 1 naming the server when it is unreachable", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await runMain(["send", "--port", String(port), "QUERY|gmp|"]);
  strictEqual(result.stdout, "");
  strictEqual(
    result.stderr,
    `Cannot connect to 127.0.0.1:${port}: Connection refused (os error 111)\n`,
  );
  strictEqual(result.code, 1);
});

Deno.test("pkgindex send exits 2 with the reason on a usage error", async () => {
  const result = await runMain(["send", "--port", "http", "QUERY|gmp|"]);
  strictEqual(
    result.stderr,
    "Cannot parse --port 'http': expected an integer from 1 to 65535\n" +
      "Run 'pkgindex send --help' for usage.\n",
  );
  strictEqual(result.code, 2);
});

Deno.test("pkgindex --version prints the version", async () => {
  const result = await runMain(["--version"]);
  strictEqual(result.stdout, `pkgindex ${VERSION}\n`);
  strictEqual(result.code, 0);
});

Deno.test("pkgindex serves /metrics and /healthz on --metrics-port until SIGTERM", async () => {
  const pkgindex = await startServerProcess([
    Deno.execPath(),
    "run",
    "--allow-net",
    MAIN,
    "--metrics-port",
    "0",
  ]);
  const replies: string[] = [];
  const messages = [["INDEX|gmp|", "INDEX|isl|gmp", "QUERY|cloog|"]];
  const options = { hostname: "127.0.0.1", port: pkgindex.port };
  for await (const batch of send(messages, options)) replies.push(...batch);
  strictEqual(replies.join(" "), "OK OK FAIL");
  const health = await fetch(`http://127.0.0.1:${pkgindex.metricsPort}/healthz`);
  strictEqual(`${health.status} ${await health.text()}`, "200 ok\n");
  const metrics = await fetch(`http://127.0.0.1:${pkgindex.metricsPort}/metrics`);
  const samples = parseExposition(await metrics.text());
  strictEqual(samples.get('pkgindex_requests_total{command="INDEX",result="OK"}'), 2);
  strictEqual(samples.get('pkgindex_requests_total{command="QUERY",result="FAIL"}'), 1);
  strictEqual(samples.get("pkgindex_packages"), 2);
  strictEqual(samples.get("pkgindex_dependency_edges"), 1);
  const { code, log } = await pkgindex.stop();
  strictEqual(code, 0, log);
  strictEqual(log.includes("Received SIGTERM; shutting down"), true, log);
});

Deno.test("pkgindex with --data reports its commits on /metrics", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pkgindex_metrics_" });
  try {
    const path = `${dir}/index.db`;
    const pkgindex = await startServerProcess([
      ...durableServerCommand(dir, path),
      "--metrics-port",
      "0",
    ]);
    const options = { hostname: "127.0.0.1", port: pkgindex.port };
    for (const message of ["INDEX|gmp|", "INDEX|isl|gmp", "QUERY|isl|"]) {
      for await (const replies of send([[message]], options)) strictEqual(replies.join(), "OK");
    }
    const metrics = await fetch(`http://127.0.0.1:${pkgindex.metricsPort}/metrics`);
    const samples = parseExposition(await metrics.text());
    strictEqual(samples.get("pkgindex_commits_total"), 2, "one commit per mutating connection");
    strictEqual(samples.get("pkgindex_commit_failures_total"), 0);
    strictEqual(samples.get('pkgindex_commit_duration_seconds_bucket{le="+Inf"}'), 2);
    strictEqual(samples.get("pkgindex_packages"), 2);
    const { code, log } = await pkgindex.stop();
    strictEqual(code, 0, log);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
