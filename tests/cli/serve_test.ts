import assert from "node:assert/strict";
import { UsageError } from "../../lib/cli/flags.ts";
import { SERVE, type ServeConfig } from "../../lib/cli/serve.ts";
import { type EnvReader, parseCommandLine } from "../../lib/cli/subcommand.ts";
import { MAIN, runMain, START_FLAGS } from "../support/test_server.ts";
import { withTempDir, writeDataFile } from "../support/data_files.ts";

const noEnv = () => undefined;

/** The configuration `pkgindex serve` runs with for `args` and the environment `env`. */
function parseServeArgs(args: string[], env: EnvReader): ServeConfig {
  const commandLine = parseCommandLine(SERVE, args, env);
  if (commandLine.kind !== "run") throw new Error(`Expected a run, got ${commandLine.kind}`);
  return commandLine.config;
}

Deno.test("parseServeArgs applies the documented defaults", () => {
  assert.deepEqual(parseServeArgs([], noEnv), {
    hostname: "0.0.0.0",
    port: 8080,
    maxLineBytes: 65536,
    maxConnections: 10000,
    idleTimeout: 300,
    logLevel: "info",
    metricsPort: undefined,
  });
});

Deno.test("parseServeArgs groups the data file's settings, defaulting to normal sync", () => {
  assert.deepEqual(parseServeArgs(["--data", "index.db"], noEnv).data, {
    path: "index.db",
    sync: "normal",
    allowEmpty: false,
  });
  const env = (name: string) => ({ PKGINDEX_DATA: "/data/x.db", PKGINDEX_SYNC: "full" })[name];
  assert.deepEqual(parseServeArgs(["--allow-empty-data"], env).data, {
    path: "/data/x.db",
    sync: "full",
    allowEmpty: true,
  });
});

Deno.test("parseServeArgs refuses a setting of the data file without --data", () => {
  const cases: [string[], EnvReader, string][] = [
    [["--sync", "full"], noEnv, "--sync"],
    [["--allow-empty-data"], noEnv, "--allow-empty-data"],
    [[], (name) => name === "PKGINDEX_SYNC" ? "normal" : undefined, "PKGINDEX_SYNC"],
  ];
  for (const [args, env, source] of cases) {
    assert.throws(
      () => parseServeArgs(args, env),
      new UsageError(`Cannot use ${source} without --data: it applies only to a data file`),
    );
  }
});

Deno.test("parseServeArgs prefers flags to PKGINDEX_* variables to defaults", () => {
  const env = (name: string) =>
    ({ PKGINDEX_PORT: "9000", PKGINDEX_HOST: "127.0.0.1", PKGINDEX_IDLE_TIMEOUT: "0" })[name];
  const config = parseServeArgs(["--port", "9001", "--log-level=debug"], env);
  assert.equal(config.port, 9001);
  assert.equal(config.hostname, "127.0.0.1");
  assert.equal(config.idleTimeout, 0);
  assert.equal(config.logLevel, "debug");
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

function metricsPort(args: string[], env: Record<string, string> = {}): number | undefined {
  return parseServeArgs(args, (name) => env[name]).metricsPort;
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

Deno.test("serve fails on a taken port before it creates or touches the data file", async () => {
  await withTempDir(async (dir) => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const args = ["--host", "127.0.0.1", "--port", `${taken.addr.port}`, "--data"];
      const missing = await runMain([...args, `${dir}/new.db`]);
      assert.equal(missing.code, 1);
      assert.match(
        missing.stderr,
        new RegExp(`ERROR Cannot listen on 127.0.0.1:${taken.addr.port}: `),
      );
      assert.doesNotMatch(missing.stderr, /Loaded/);
      assert.deepEqual([...Deno.readDirSync(dir)], [], "no data file was created");

      const existing = `${dir}/existing.db`;
      writeDataFile(existing, ["gmp"]);
      const before = Deno.statSync(existing);
      const files = () => [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
      const filesBefore = files();
      assert.equal((await runMain([...args, existing])).code, 1);
      assert.deepEqual(
        Deno.statSync(existing).mtime,
        before.mtime,
        "the data file was not written",
      );
      assert.deepEqual(files(), filesBefore, "nothing was created beside it");
    } finally {
      taken.close();
    }
  });
});

Deno.test("serve logs an IPv6 address in brackets", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...START_FLAGS, MAIN, "--host", "::1", "--port", "0"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  while (!log.includes("\n")) {
    const { value, done } = await stderr.read();
    if (done) break;
    log += value;
  }
  child.kill("SIGTERM");
  await stderr.cancel();
  await child.status;
  assert.match(log, /INFO pkgindex \S+ listening on \[::1\]:\d+ \(/);
});

Deno.test("serve exits 1 when its metrics port is taken, closing the data file it opened", async () => {
  await withTempDir(async (dir) => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const path = `${dir}/index.db`;
      const args = ["--host", "127.0.0.1", "--port", "0", "--data", path];
      const result = await runMain([...args, "--metrics-port", `${taken.addr.port}`]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        new RegExp(
          `ERROR Cannot listen on 127\\.0\\.0\\.1:${taken.addr.port} for metrics: .+; stopping\\n` +
            `.* INFO Closed data file ${path}\\n.* INFO Stopped\\. `,
        ),
      );
    } finally {
      taken.close();
    }
  });
});
