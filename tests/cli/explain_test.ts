import assert from "node:assert/strict";
import { EXPLAIN, type ExplainConfig } from "../../lib/cli/explain.ts";
import { UsageError } from "../../lib/cli/flags.ts";
import { parseCommandLine } from "../../lib/cli/subcommand.ts";
import { freePort } from "../support/free_port.ts";
import { runMain } from "../support/test_server.ts";
import { type Service, withService } from "../support/http_service.ts";

function parseExplainArgs(args: string[], env: Record<string, string> = {}): ExplainConfig {
  const commandLine = parseCommandLine(EXPLAIN, args, (name) => env[name]);
  if (commandLine.kind !== "run") throw new Error(`Expected a run, got ${commandLine.kind}`);
  return commandLine.config;
}

function withGraph(body: (service: Service) => Promise<void>, token?: string): Promise<void> {
  return withService(async (service) => {
    const graph = "INDEX|gmp|\nINDEX|isl|gmp\nINDEX|cloog|gmp,isl\n";
    assert.equal(await service.feed(graph), "OK\nOK\nOK\n");
    await body(service);
  }, token === undefined ? {} : { token });
}

const httpPort = (service: Service) => new URL(service.url("/")).port;

Deno.test("parseExplainArgs takes the port from PKGINDEX_HTTP_PORT and the token from PKGINDEX_HTTP_TOKEN", () => {
  assert.deepEqual(
    parseExplainArgs(["--json", "QUERY|gmp|"], {
      PKGINDEX_HTTP_PORT: "9090",
      PKGINDEX_HTTP_TOKEN: "s3cret",
    }),
    { hostname: "127.0.0.1", port: 9090, token: "s3cret", line: "QUERY|gmp|", json: true },
  );
  assert.equal(parseExplainArgs(["--http-port", "9091", "QUERY|gmp|"]).port, 9091);
});

Deno.test("parseExplainArgs refuses no port, no line, two lines and a line break", () => {
  const cases: [string[], string][] = [
    [
      ["QUERY|gmp|"],
      "Cannot explain without --http-port or PKGINDEX_HTTP_PORT: the server's HTTP listener " +
      "has no default port",
    ],
    [["--http-port", "9090"], "Cannot explain 0 arguments: give one request line, quoted"],
    [
      ["--http-port", "9090", "QUERY|a|", "QUERY|b|"],
      "Cannot explain 2 arguments: give one request line, quoted",
    ],
    [
      ["--http-port", "9090", "QUERY|a|\n"],
      'Cannot explain "QUERY|a|\\n": a request is one line, without line breaks',
    ],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseExplainArgs(args), new UsageError(message));
  }
});

Deno.test("pkgindex explain prints why a REMOVE fails, readably, and exits 0", async () => {
  await withGraph(async (service) => {
    const result = await runMain(["explain", "--http-port", httpPort(service), "REMOVE|gmp|"]);
    assert.equal(result.stderr, "");
    assert.equal(
      result.stdout,
      "FAIL: 2 indexed packages depend on 'gmp' directly (in \"dependents\") and 2 in all; " +
        'REMOVE those first, in the order of "blockers".\n' +
        "  dependents: cloog, isl\n" +
        "  blockers: cloog, isl\n",
    );
    assert.equal(result.code, 0);
  });
});

Deno.test("pkgindex explain --json prints the answer of POST /v1/explain as it is", async () => {
  await withGraph(async (service) => {
    const result = await runMain(["explain", "--json", "INDEX|a b|"], {
      env: { PKGINDEX_HTTP_PORT: httpPort(service) },
    });
    assert.deepEqual(JSON.parse(result.stdout), {
      line: "INDEX|a b|",
      reply: "ERROR",
      reason: "The package name holds a byte outside the name alphabet: byte 7 is 0x20.",
      malformed: { field: "package", byte: 7 },
    });
    assert.equal(result.code, 0);
  });
});

Deno.test("pkgindex explain sends PKGINDEX_HTTP_TOKEN and exits 1 with the server's sentence without it", async () => {
  await withGraph(async (service) => {
    const args = ["explain", "--http-port", httpPort(service), "INDEX|gmp|cloog"];
    const refused = await runMain(args);
    assert.equal(
      refused.stderr,
      `127.0.0.1:${httpPort(service)} answered 401: Send the server's PKGINDEX_HTTP_TOKEN as ` +
        "'Authorization: Bearer <token>'.\n",
    );
    assert.equal(refused.code, 1);
    const allowed = await runMain(args, { env: { PKGINDEX_HTTP_TOKEN: "s3cret-token" } });
    assert.equal(
      allowed.stdout,
      "FAIL: Indexing 'gmp' with these dependencies would close a dependency cycle of 2 steps " +
        '(in "cycle"); a package on a cycle could never be removed.\n' +
        "  cycle: gmp -> cloog -> gmp\n",
    );
    assert.equal(allowed.code, 0);
  }, "s3cret-token");
});

Deno.test("pkgindex explain exits 1 naming the address when the server cannot be reached", async () => {
  const port = freePort();
  const result = await runMain(["explain", "--http-port", String(port), "QUERY|gmp|"]);
  assert.match(
    result.stderr,
    new RegExp(`^Cannot reach 127\\.0\\.0\\.1:${port}: Connection refused \\(os error 111\\)\\n$`),
  );
  assert.equal(result.code, 1);
});
