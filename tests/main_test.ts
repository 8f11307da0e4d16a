import assert, { strictEqual } from "node:assert/strict";
import { BENCH } from "../lib/cli/bench.ts";
import { environmentVariables } from "../lib/cli/flags.ts";
import { SEND } from "../lib/cli/send.ts";
import { SERVE, SERVE_FLAGS } from "../lib/cli/serve.ts";
import { STRESS } from "../lib/cli/stress.ts";
import type { AnySubcommand } from "../lib/cli/subcommand.ts";
import { send } from "../lib/protocol/client.ts";
import { createLogger } from "../lib/util/log.ts";
import { serve } from "../lib/server/server.ts";
import { VERSION } from "../lib/util/version.ts";
import { parseExposition } from "./support/exposition.ts";
import { freePort } from "./support/free_port.ts";
import {
  CONFIG,
  durableServerCommand,
  exchange,
  MAIN,
  runMain,
  serverCommand,
  START_FLAGS,
  startServerProcess,
  TestClient,
} from "./support/test_server.ts";

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
    env: { PKGINDEX_PORT: String(server.addr.port) },
  });
  strictEqual(result.stdout, "FAIL\n");
  strictEqual(result.code, 0);
  await server.shutdown();
});

Deno.test("pkgindex send exits 1 naming the server when it is unreachable", async () => {
  const port = freePort();
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

Deno.test("pkgindex serves /metrics and /healthz on the deprecated --metrics-port, with a warning", async () => {
  const pkgindex = await startServerProcess(serverCommand(["--metrics-port", "0"]));
  const replies: string[] = [];
  const messages = [["INDEX|gmp|", "INDEX|isl|gmp", "QUERY|cloog|"]];
  const options = { hostname: "127.0.0.1", port: pkgindex.port };
  for await (const batch of send(messages, options)) replies.push(...batch);
  strictEqual(replies.join(" "), "OK OK FAIL");
  const health = await fetch(`http://127.0.0.1:${pkgindex.httpPort}/healthz`);
  strictEqual(`${health.status} ${await health.text()}`, "200 ok\n");
  const metrics = await fetch(`http://127.0.0.1:${pkgindex.httpPort}/metrics`);
  const samples = parseExposition(await metrics.text());
  strictEqual(samples.get('pkgindex_requests_total{command="INDEX",result="OK"}'), 2);
  strictEqual(samples.get('pkgindex_requests_total{command="QUERY",result="FAIL"}'), 1);
  strictEqual(samples.get("pkgindex_packages"), 2);
  strictEqual(samples.get("pkgindex_dependency_edges"), 1);
  const { code, log } = await pkgindex.stop();
  strictEqual(code, 0, log);
  assert.match(log, /WARN --metrics-port is deprecated; use --http-port\. /);
  strictEqual(log.includes("Received SIGTERM; shutting down"), true, log);
});

Deno.test("pkgindex serves /v1/ on --http-port, logs JSON lines, and closes /v1/ off loopback without a token", async () => {
  const pkgindex = await startServerProcess(serverCommand([
    "--http-port",
    "0",
    "--http-host",
    "0.0.0.0",
    "--log-format",
    "json",
  ]));
  const url = (path: string) => `http://127.0.0.1:${pkgindex.httpPort}${path}`;
  const closed = await fetch(url("/v1/info"));
  strictEqual(closed.status, 401);
  await closed.body?.cancel();
  const health = await fetch(url("/healthz"));
  strictEqual(`${health.status} ${await health.text()}`, "200 ok\n");
  const { code, log } = await pkgindex.stop();
  strictEqual(code, 0, log);
  const lines = log.trim().split("\n").map((line) => JSON.parse(line));
  for (const line of lines) assert.deepEqual(Object.keys(line), ["time", "level", "message"]);
  assert.deepEqual(lines.filter(({ level }) => level === "warn").map(({ message }) => message), [
    `The HTTP listener on 0.0.0.0:${pkgindex.httpPort} is not on a loopback address and ` +
    "PKGINDEX_HTTP_TOKEN is not set: the console and /v1/ answer 401 to every request (/metrics " +
    "and /healthz stay open).",
  ]);
});

Deno.test("pkgindex with --data reports its commits on /metrics and /v1/info", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pkgindex_metrics_" });
  try {
    const path = `${dir}/index.db`;
    const pkgindex = await startServerProcess([
      ...durableServerCommand(path),
      "--http-port",
      "0",
    ]);
    const options = { hostname: "127.0.0.1", port: pkgindex.port };
    for (const message of ["INDEX|gmp|", "INDEX|isl|gmp", "QUERY|isl|"]) {
      for await (const replies of send([[message]], options)) strictEqual(replies.join(), "OK");
    }
    const metrics = await fetch(`http://127.0.0.1:${pkgindex.httpPort}/metrics`);
    const samples = parseExposition(await metrics.text());
    strictEqual(samples.get("pkgindex_commits_total"), 2, "one commit per mutating connection");
    strictEqual(samples.get("pkgindex_commit_failures_total"), 0);
    strictEqual(samples.get('pkgindex_commit_duration_seconds_bucket{le="+Inf"}'), 2);
    strictEqual(samples.get("pkgindex_packages"), 2);
    const info = await (await fetch(`http://127.0.0.1:${pkgindex.httpPort}/v1/info`)).json();
    strictEqual(info.packages, 2);
    assert.deepEqual(Object.keys(info.commits), [
      "committed",
      "failed",
      "totalSeconds",
      "maxSeconds",
    ]);
    strictEqual(info.commits.committed, 2);
    strictEqual(info.commits.failed, 0);
    const { code, log } = await pkgindex.stop();
    strictEqual(code, 0, log);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main prints usage naming every flag and subcommand for --help", async () => {
  const help = await runMain(["--help"]);
  assert.equal(help.code, 0);
  for (const [name, flag] of Object.entries(SERVE_FLAGS)) {
    assert.match(help.stdout, new RegExp(flag.environmentOnly ? `${flag.env} ` : `--${name} `));
  }
  for (const subcommand of ["send", "explain", "stress", "bench"]) {
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
  const server = await startServerProcess(serverCommand());
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

/** The words of a deno.json task. */
function taskWords(task: string): string[] {
  return DENO_JSON.tasks[task].split(" ");
}

const DENO_JSON = JSON.parse(await Deno.readTextFile(CONFIG));

Deno.test("deno task start runs with the permissions and V8 flags of the compiled binary", () => {
  const runtimeFlags = (task: string) =>
    taskWords(task).filter((word) => /^--(allow-|v8-flags=)/.test(word));
  assert.deepEqual(runtimeFlags("start"), runtimeFlags("compile"));
  assert.ok(runtimeFlags("start").includes("--allow-read"), "the data path is a run-time setting");
});

Deno.test("each deno task that runs main.ts may read exactly the variables its subcommands read", () => {
  const granted = (task: string) =>
    taskWords(task).find((word) => word.startsWith("--allow-env="))?.slice(12).split(",").sort();
  const variables = (...subcommands: AnySubcommand[]) =>
    [...new Set(subcommands.flatMap((subcommand) => environmentVariables(subcommand.flags)))]
      .sort();
  const postgresClient = ["PGAPPNAME", "PGPASSWORD"]; // read by the PostgreSQL client
  assert.deepEqual(granted("start"), [...variables(SERVE), ...postgresClient].sort());
  assert.deepEqual(granted("send"), variables(SEND));
  assert.deepEqual(granted("stress"), variables(STRESS));
  assert.deepEqual(
    granted("compile"),
    [...variables(SERVE, SEND, STRESS, BENCH), ...postgresClient].sort(),
  );
});

Deno.test("deno task start serves a data file named by --data or by PKGINDEX_DATA", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pkgindex_task_" });
  try {
    const path = `${dir}/index.db`;
    const task = [Deno.execPath(), "task", "--config", CONFIG, "start"];
    const first = await startServerProcess([...task, "--data", path]);
    assert.equal(await exchange(first.port, "INDEX|gmp|\nINDEX|isl|gmp\n"), "OK\nOK\n");
    assert.equal((await first.stop()).code, 0);
    const second = await startServerProcess(task, { env: { PKGINDEX_DATA: path } });
    assert.equal(await exchange(second.port, "QUERY|isl|\n"), "OK\n");
    const { code, log } = await second.stop();
    assert.equal(code, 0);
    assert.match(log, /Loaded 2 packages and 1 dependency edge from /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main refuses to run when it may not read a PKGINDEX_* variable, naming it", async () => {
  const result = await runMain(["--port", "0"], {
    permissions: ["--allow-net"],
    env: { PKGINDEX_PORT: "8085" },
  });
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /^Cannot read the environment variable PKGINDEX_\w+: permission denied \(run with --allow-env/,
  );
});

Deno.test("main keeps serving when nothing reads its log any more", async () => {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...START_FLAGS,
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
