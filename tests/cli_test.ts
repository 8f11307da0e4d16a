import assert from "node:assert/strict";
import { parseSendArgs, parseServeArgs, SERVE_ENV_VARIABLES, UsageError } from "../lib/cli.ts";
import { MAIN, runMain, startServerProcess, TestClient } from "./test_server.ts";

const noEnv = () => undefined;

Deno.test("parseServeArgs applies the documented defaults", () => {
  assert.deepEqual(parseServeArgs([], noEnv), {
    kind: "serve",
    config: {
      hostname: "0.0.0.0",
      port: 8080,
      maxLineBytes: 65536,
      maxConnections: 10000,
      idleTimeout: 300,
      logLevel: "info",
      sync: "normal",
      metricsPort: undefined,
    },
  });
});

Deno.test("parseServeArgs prefers flags to PKGINDEX_* variables to defaults", () => {
  const env = (name: string) =>
    ({ PKGINDEX_PORT: "9000", PKGINDEX_HOST: "127.0.0.1", PKGINDEX_IDLE_TIMEOUT: "0" })[name];
  const command = parseServeArgs(["--port", "9001", "--log-level=debug"], env);
  assert.equal(command.kind, "serve");
  if (command.kind !== "serve") return;
  assert.equal(command.config.port, 9001);
  assert.equal(command.config.hostname, "127.0.0.1");
  assert.equal(command.config.idleTimeout, 0);
  assert.equal(command.config.logLevel, "debug");
});

Deno.test("parseServeArgs refuses bad values with a message naming them", () => {
  const cases: [string[], RegExp][] = [
    [["--port", "abc"], /^Cannot parse --port 'abc': expected an integer from 0 to 65535$/],
    [["--port", "70000"], /--port '70000'/],
    [["--port=-1"], /--port '-1'/],
    [["--max-line-bytes", "0"], /--max-line-bytes '0'/],
    [["--max-connections", "1.5"], /--max-connections '1.5'/],
    [["--idle-timeout=-3"], /--idle-timeout '-3': expected a number of seconds/],
    [["--log-level", "loud"], /--log-level 'loud': expected one of debug, info, warn, error/],
    [["--host", ""], /--host ''/],
    [["--data", ""], /--data '': expected the path of a data file/],
    [["--sync", "always"], /--sync 'always': expected one of normal, full/],
    [["--bogus"], /Unknown option '--bogus'/],
    [["stray"], /stray/],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseServeArgs(args, noEnv), (error: unknown) => {
      assert.ok(error instanceof UsageError, `${args.join(" ")} throws a UsageError`);
      assert.match(error.message, message);
      return true;
    });
  }
  assert.throws(
    () => parseServeArgs([], (name) => name === "PKGINDEX_PORT" ? "x" : undefined),
    /^UsageError: Cannot parse PKGINDEX_PORT 'x'/,
  );
});

Deno.test("main prints usage naming every flag and subcommand for --help", async () => {
  const help = await runMain(["--help"]);
  assert.equal(help.code, 0);
  for (const flag of Object.keys(SERVE_ENV_VARIABLES)) {
    assert.match(help.stdout, new RegExp(`--${flag} `));
  }
  for (const subcommand of ["send", "stress", "bench"]) {
    assert.match(help.stdout, new RegExp(`pkgindex ${subcommand} `));
  }
});

Deno.test("main exits 2 with a clear message on a bad flag", async () => {
  const result = await runMain(["--port", "nope"]);
  assert.equal(result.code, 2);
  assert.equal(
    result.stderr,
    "Cannot parse --port 'nope': expected an integer from 0 to 65535\nRun 'pkgindex --help' for usage.\n",
  );
});

Deno.test("main exits 1 with a clear message when the port is taken", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const result = await runMain(["--host", "127.0.0.1", "--port", `${listener.addr.port}`]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(`ERROR Cannot listen on 127.0.0.1:${listener.addr.port}: `),
    );
  } finally {
    listener.close();
  }
});

Deno.test("main serves until SIGTERM, then logs a summary and exits 0", async () => {
  const server = await startServerProcess([Deno.execPath(), "run", "--allow-net", MAIN]);
  const client = await TestClient.connect(server.port);
  try {
    assert.equal(await client.request("INDEX|a|"), "OK\n");
    const stopped = server.stop();
    assert.equal(await client.readToEnd(), "");
    const { code, log } = await stopped;
    assert.equal(code, 0);
    assert.match(log, /INFO Received SIGTERM; shutting down\n/);
    assert.match(log, /INFO Stopped\. connections=1 .*INDEX ok=1 fail=0 error=0/);
  } finally {
    client.close();
  }
});

Deno.test("deno.json runs start and compile alike, with exactly the documented variables", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const documented = Object.values(SERVE_ENV_VARIABLES).sort().join(",");
  for (const task of ["start", "compile"]) {
    const granted = /--allow-env=(\S+)/.exec(config.tasks[task])?.[1]?.split(",").sort().join(",");
    assert.equal(granted, documented, `the ${task} task`);
  }
  const v8Flags = (task: string) => /--v8-flags=\S+/.exec(config.tasks[task])?.[0];
  assert.equal(v8Flags("compile"), v8Flags("start"), "the binary runs with the same V8 flags");
});

function metricsPort(args: string[], env: Record<string, string> = {}): number | undefined {
  const command = parseServeArgs(args, (name) => env[name]);
  if (command.kind !== "serve") throw new Error(`Expected a serve command, got ${command.kind}`);
  return command.config.metricsPort;
}

Deno.test("parseServeArgs leaves the metrics listener off by default", () => {
  assert.equal(metricsPort([]), undefined);
});

Deno.test("parseServeArgs reads --metrics-port, falling back to PKGINDEX_METRICS_PORT", () => {
  assert.equal(metricsPort(["--metrics-port", "9100"]), 9100);
  assert.equal(metricsPort([], { PKGINDEX_METRICS_PORT: "9200" }), 9200);
  assert.equal(metricsPort(["--metrics-port", "9100"], { PKGINDEX_METRICS_PORT: "9200" }), 9100);
});

Deno.test("parseServeArgs rejects a metrics port that is not a port number", () => {
  assert.throws(
    () => metricsPort(["--metrics-port", "http"]),
    new UsageError("Cannot parse --metrics-port 'http': expected an integer from 0 to 65535"),
  );
  assert.throws(
    () => metricsPort([], { PKGINDEX_METRICS_PORT: "70000" }),
    new UsageError(
      "Cannot parse PKGINDEX_METRICS_PORT '70000': expected an integer from 0 to 65535",
    ),
  );
});

Deno.test("parseSendArgs connects to 127.0.0.1:8080 by default and keeps messages in order", () => {
  assert.deepEqual(parseSendArgs(["QUERY|a|", "QUERY|b|"], () => undefined), {
    kind: "send",
    config: { hostname: "127.0.0.1", port: 8080, messages: ["QUERY|a|", "QUERY|b|"] },
  });
});

Deno.test("parseSendArgs takes --host and --port, falling back to PKGINDEX_PORT", () => {
  const env = (name: string) => name === "PKGINDEX_PORT" ? "9000" : undefined;
  assert.deepEqual(parseSendArgs(["--host", "localhost"], env), {
    kind: "send",
    config: { hostname: "localhost", port: 9000, messages: [] },
  });
  assert.deepEqual(parseSendArgs(["--port", "9001"], env), {
    kind: "send",
    config: { hostname: "127.0.0.1", port: 9001, messages: [] },
  });
});

Deno.test("parseSendArgs rejects a message with a line break", () => {
  assert.throws(
    () => parseSendArgs(["QUERY|a|\nQUERY|b|"], () => undefined),
    new UsageError('Cannot send "QUERY|a|\\nQUERY|b|": a message is one line, without line breaks'),
  );
});

Deno.test("main keeps serving when nothing reads its log any more", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      MAIN,
      "--host",
      "127.0.0.1",
      "--port",
      `${port}`,
      "--log-level",
      "debug",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  await child.stderr.cancel(); // every log line from now on meets a closed pipe
  try {
    let client: TestClient | undefined;
    for (let attempt = 0; client === undefined; attempt++) {
      client = await TestClient.connect(port).catch(async (error) => {
        if (attempt > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return undefined;
      });
    }
    try {
      assert.equal(await client.request("INDEX|a|"), "OK\n");
      assert.equal(await client.request("QUERY|a|"), "OK\n");
    } finally {
      client.close();
    }
  } finally {
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
  }
});
