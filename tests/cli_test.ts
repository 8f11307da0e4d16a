import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { parseSendArgs, parseServeArgs, UsageError } from "../lib/cli.ts";

function metricsPort(args: string[], env: Record<string, string> = {}): number | undefined {
  const command = parseServeArgs(args, (name) => env[name]);
  if (command.kind !== "serve") throw new Error(`Expected a serve command, got ${command.kind}`);
  return command.config.metricsPort;
}

Deno.test("parseServeArgs leaves the metrics listener off by default", () => {
  strictEqual(metricsPort([]), undefined);
});

Deno.test("parseServeArgs reads --metrics-port, falling back to PKGINDEX_METRICS_PORT", () => {
  strictEqual(metricsPort(["--metrics-port", "9100"]), 9100);
  strictEqual(metricsPort([], { PKGINDEX_METRICS_PORT: "9200" }), 9200);
  strictEqual(metricsPort(["--metrics-port", "9100"], { PKGINDEX_METRICS_PORT: "9200" }), 9100);
});

Deno.test("parseServeArgs rejects a metrics port that is not a port number", () => {
  throws(
    () => metricsPort(["--metrics-port", "http"]),
    new UsageError("Cannot parse --metrics-port 'http': expected an integer from 0 to 65535"),
  );
  throws(
    () => metricsPort([], { PKGINDEX_METRICS_PORT: "70000" }),
    new UsageError(
      "Cannot parse PKGINDEX_METRICS_PORT '70000': expected an integer from 0 to 65535",
    ),
  );
});

Deno.test("parseSendArgs connects to 127.0.0.1:8080 by default and keeps messages in order", () => {
  deepStrictEqual(parseSendArgs(["QUERY|a|", "QUERY|b|"], () => undefined), {
    kind: "send",
    config: { hostname: "127.0.0.1", port: 8080, messages: ["QUERY|a|", "QUERY|b|"] },
  });
});

Deno.test("parseSendArgs takes --host and --port, falling back to PKGINDEX_PORT", () => {
  const env = (name: string) => name === "PKGINDEX_PORT" ? "9000" : undefined;
  deepStrictEqual(parseSendArgs(["--host", "localhost"], env), {
    kind: "send",
    config: { hostname: "localhost", port: 9000, messages: [] },
  });
  deepStrictEqual(parseSendArgs(["--port", "9001"], env), {
    kind: "send",
    config: { hostname: "127.0.0.1", port: 9001, messages: [] },
  });
});

Deno.test("parseSendArgs rejects a message with a line break", () => {
  throws(
    () => parseSendArgs(["QUERY|a|\nQUERY|b|"], () => undefined),
    new UsageError('Cannot send "QUERY|a|\\nQUERY|b|": a message is one line, without line breaks'),
  );
});
