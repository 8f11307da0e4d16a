import assert from "node:assert/strict";
import { UsageError } from "../../lib/cli/flags.ts";
import { SERVE, SERVE_FLAGS, type ServeConfig } from "../../lib/cli/serve.ts";
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
    httpPort: undefined,
    httpHost: "127.0.0.1",
    httpToken: undefined,
    slowlogThreshold: 5,
    logFormat: "text",
    warnings: [],
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
    [
      ["--http-port", "http"],
      /^Cannot parse --http-port 'http': expected an integer from 0 to 65535$/,
    ],
    [["--http-host", ""], /--http-host ''/],
    [["--slowlog-threshold", "1.5"], /--slowlog-threshold '1.5': expected an integer from 0/],
    [["--log-format", "xml"], /--log-format 'xml': expected one of text, json$/],
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

function http(args: string[], env: Record<string, string> = {}) {
  const { httpPort, httpHost, httpToken, warnings } = parseServeArgs(args, (name) => env[name]);
  return { httpPort, httpHost, httpToken, warnings };
}

Deno.test("parseServeArgs reads --http-port and --http-host, falling back to PKGINDEX_HTTP_*", () => {
  assert.deepEqual(http(["--http-port", "9100", "--http-host", "0.0.0.0"]), {
    httpPort: 9100,
    httpHost: "0.0.0.0",
    httpToken: undefined,
    warnings: [],
  });
  const env = { PKGINDEX_HTTP_PORT: "9200", PKGINDEX_HTTP_HOST: "::1" };
  assert.deepEqual(http([], env), {
    httpPort: 9200,
    httpHost: "::1",
    httpToken: undefined,
    warnings: [],
  });
  assert.equal(http(["--http-port", "9100"], env).httpPort, 9100);
});

Deno.test("parseServeArgs takes the HTTP token from PKGINDEX_HTTP_TOKEN only, never a flag", () => {
  assert.equal(http([], { PKGINDEX_HTTP_TOKEN: "s3cret" }).httpToken, "s3cret");
  assert.throws(
    () => http(["--http-token", "s3cret"]),
    new UsageError(
      "Cannot use --http-token on the command line: set PKGINDEX_HTTP_TOKEN instead (every " +
        "user of the machine can read a command line)",
    ),
  );
});

Deno.test("parseServeArgs takes --metrics-port as a deprecated --http-port, with a warning", () => {
  assert.deepEqual(http(["--metrics-port", "9100"]), {
    httpPort: 9100,
    httpHost: "127.0.0.1",
    httpToken: undefined,
    warnings: [
      "--metrics-port is deprecated; use --http-port. The HTTP listener binds --http-host " +
      "(default 127.0.0.1), not --host.",
    ],
  });
  const { httpPort, warnings } = http([], { PKGINDEX_METRICS_PORT: "9200" });
  assert.equal(httpPort, 9200);
  assert.match(warnings[0]!, /^PKGINDEX_METRICS_PORT is deprecated; use PKGINDEX_HTTP_PORT\./);
});

Deno.test("parseServeArgs refuses --http-port together with --metrics-port", () => {
  assert.throws(
    () => http(["--http-port", "9100", "--metrics-port", "9200"]),
    new UsageError(
      "Cannot use --http-port '9100' and --metrics-port '9200' together: --metrics-port is " +
        "the deprecated spelling of --http-port",
    ),
  );
  assert.throws(
    () => http(["--http-port", "9100"], { PKGINDEX_METRICS_PORT: "9200" }),
    /^UsageError: Cannot use --http-port '9100' and PKGINDEX_METRICS_PORT '9200' together/,
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

Deno.test("serve exits 1 when its HTTP port is taken, closing the data file it opened", async () => {
  await withTempDir(async (dir) => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const path = `${dir}/index.db`;
      const args = ["--host", "127.0.0.1", "--port", "0", "--data", path];
      const result = await runMain([...args, "--http-port", `${taken.addr.port}`]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        new RegExp(
          `ERROR Cannot listen on 127\\.0\\.0\\.1:${taken.addr.port} for HTTP: .+; stopping\\n` +
            `.* INFO Closed data file ${path}\\n.* INFO Stopped\\. `,
        ),
      );
      assert.doesNotMatch(result.stderr, /listening on/, "it never said it was up");
    } finally {
      taken.close();
    }
  });
});

Deno.test("the README's table of serve flags gives the defaults the flags have", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const flags: Record<string, { defaultValue: unknown }> = SERVE_FLAGS;
  let checked = 0;
  for (const [, names, defaults] of readme.matchAll(/^\| (`--[^|]*?) +\| [^|]*\| ([^|]*?) +\|/gm)) {
    const pairs = names!.split(", ").map((name, i) => [name, defaults!.split(", ")[i]!]);
    for (const [name, text] of pairs) {
      const value = /^`(.*)`$/.exec(text!)?.[1]; // none and off are not values
      if (value === undefined) continue;
      const flag = flags[name!.replaceAll("`", "").slice(2)];
      assert.equal(value, String(flag?.defaultValue), `the README's default of ${name}`);
      checked++;
    }
  }
  assert.ok(checked >= 8, `the table was read (${checked} defaults)`);
});
