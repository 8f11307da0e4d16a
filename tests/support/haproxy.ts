/**
 * Running the real HAProxy for tests and the failover drill, with a config derived from
 * `deploy/haproxy.cfg` on free ports of 127.0.0.1, so that what is tested is what is shipped.
 *
 * @module
 */

import { freePort } from "./free_port.ts";
import { findComponent, type FoundComponent } from "./real_component.ts";

/** Where HAProxy is, or why the tests that need it skip (see {@linkcode findComponent}). */
export function findHaproxy(): Promise<FoundComponent> {
  return findComponent({
    name: "HAProxy",
    candidates: ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/usr/bin/haproxy"],
    install: "apt-get install -y haproxy",
  });
}

/** The shipped config's text. */
export function readDeployConfig(): Promise<string> {
  return Deno.readTextFile(new URL("../../deploy/haproxy.cfg", import.meta.url));
}

/** One pkgindex process behind HAProxy: its protocol port and its HTTP (health) port. */
export interface Backend {
  /** The `server` name, as HAProxy's stats show it. */
  name: string;
  /** Its protocol port on 127.0.0.1. */
  port: number;
  /** Its HTTP port on 127.0.0.1, which answers `GET /v1/health`. */
  httpPort: number;
}

/** Where a derived config listens. */
export interface DerivedConfigOptions {
  /** The protocol port clients connect to. */
  port: number;
  /** The port of HAProxy's stats page (`/;csv`). */
  statsPort: number;
  /** The pkgindex processes, replacing the shipped config's `server` lines. */
  backends: readonly Backend[];
}

/**
 * `deploy/haproxy.cfg` (given as `text`) moved onto 127.0.0.1: its two `bind`s on `port` and
 * `statsPort`, and its `server` lines replaced by `backends`, each checked on its own HTTP port.
 * Everything else (timeouts, checks, `on-marked-down`) stays as shipped. Throws when the shipped
 * config no longer has the lines this rewrites.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deriveConfig } from "./haproxy.ts";
 *
 * const shipped = "frontend pkgindex\n    bind :8080\n" +
 *   "backend b\n    server pkgindex-a pkgindex-a:8080\n" +
 *   "frontend stats\n    bind :8404\n";
 * const backends = [{ name: "a", port: 7001, httpPort: 7002 }];
 * assert.equal(
 *   deriveConfig(shipped, { port: 7000, statsPort: 7003, backends }),
 *   "frontend pkgindex\n    bind 127.0.0.1:7000\n" +
 *     "backend b\n    server a 127.0.0.1:7001 port 7002\n" +
 *     "frontend stats\n    bind 127.0.0.1:7003\n",
 * );
 * ```
 */
export function deriveConfig(text: string, options: DerivedConfigOptions): string {
  const { port, statsPort, backends } = options;
  const lines = text.split("\n");
  const servers = lines.flatMap((line, i) => /^\s*server\s/.test(line) ? [i] : []);
  const binds = lines.flatMap((line, i) => /^\s*bind :\d+$/.test(line) ? [i] : []);
  if (servers.length === 0 || binds.length !== 2) {
    throw new Error(
      "Cannot derive a test config from deploy/haproxy.cfg: expected `server` lines and two " +
        `\`bind :PORT\` lines (the protocol, then the stats page), found ${servers.length} and ` +
        `${binds.length}`,
    );
  }
  const indent = /^\s*/.exec(lines[servers[0]!]!)![0];
  const serverLines = backends.map(({ name, port, httpPort }) =>
    `${indent}server ${name} 127.0.0.1:${port} port ${httpPort}`
  );
  const bindPorts = [port, statsPort];
  return lines.flatMap((line, i) => {
    if (i === servers[0]) return serverLines;
    if (servers.includes(i)) return [];
    const bind = binds.indexOf(i);
    if (bind >= 0) return [line.replace(/ :\d+$/, ` 127.0.0.1:${bindPorts[bind]}`)];
    return [line];
  }).join("\n");
}

/** `haproxy -c`: whether HAProxy accepts the config at `path`, and what it said. */
export async function checkConfig(
  haproxy: string,
  path: string,
): Promise<{ valid: boolean; output: string }> {
  const { success, stdout, stderr } = await new Deno.Command(haproxy, {
    args: ["-c", "-f", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { valid: success, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

/** A running HAProxy. */
export interface RunningHaproxy {
  /** The protocol port clients connect to. */
  port: number;
  /** The stats page's port. */
  statsPort: number;
  /** Each server's status as HAProxy sees it (`UP`, `DOWN`, `UP 1/2`, ...), by name. */
  serverStatus(): Promise<Record<string, string>>;
  /**
   * Resolves once exactly the server named `name` is `UP` (none when `undefined`); throws after
   * `timeoutMs` (default 10 s), naming the statuses last seen.
   */
  waitForLeader(name: string | undefined, timeoutMs?: number): Promise<void>;
  /** Stops HAProxy and removes its config. */
  stop(): Promise<void>;
}

/**
 * Starts HAProxy (`haproxy -db`, in the foreground) with `deploy/haproxy.cfg` derived for
 * `backends` on free ports, and resolves once its stats page answers.
 */
export async function startHaproxy(
  haproxy: string,
  options: { backends: readonly Backend[] },
): Promise<RunningHaproxy> {
  const port = freePort();
  const statsPort = freePort();
  const directory = await Deno.makeTempDir({ prefix: "pkgindex-haproxy-" });
  const path = `${directory}/haproxy.cfg`;
  await Deno.writeTextFile(
    path,
    deriveConfig(await readDeployConfig(), { port, statsPort, backends: options.backends }),
  );
  const child = new Deno.Command(haproxy, {
    args: ["-db", "-f", path],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // What HAProxy says, for the error when it stops at start; its later log lines are dropped.
  let said = "";
  const reading = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      if (said.length < 4096) said += text;
    }
  })();
  let exited = false;
  const status = child.status.then((status) => {
    exited = true;
    return status;
  });
  const stop = async () => {
    if (!exited) child.kill("SIGTERM");
    await status;
    await reading;
    await Deno.remove(directory, { recursive: true });
  };
  const serverStatus = async (): Promise<Record<string, string>> => {
    const response = await fetch(`http://127.0.0.1:${statsPort}/;csv`);
    const csv = await response.text();
    const rows = csv.split("\n").map((line) => line.split(","));
    const header = rows[0]!.map((field) => field.replace(/^# /, ""));
    const [proxy, name, state] = ["pxname", "svname", "status"].map((f) => header.indexOf(f));
    const statuses: Record<string, string> = {};
    for (const row of rows.slice(1)) {
      if (row[proxy!] === "pkgindex_leader" && !["BACKEND", "FRONTEND"].includes(row[name!]!)) {
        statuses[row[name!]!] = row[state!]!;
      }
    }
    return statuses;
  };
  try {
    await poll(async () => {
      if (exited) throw new Error(`HAProxy exited at start (${(await status).code}): ${said}`);
      try {
        await serverStatus();
        return true;
      } catch {
        return false;
      }
    }, 10_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    statsPort,
    serverStatus,
    async waitForLeader(name, timeoutMs = 10_000) {
      let last: Record<string, string> = {};
      const ok = await poll(async () => {
        last = await serverStatus();
        return Object.entries(last).every(([server, status]) =>
          (server === name) === (status === "UP")
        );
      }, timeoutMs).then(() => true, () => false);
      if (!ok) {
        throw new Error(
          `HAProxy did not route to ${name ?? "no server"} within ${timeoutMs} ms: ` +
            JSON.stringify(last),
        );
      }
    },
    stop,
  };
}

/** Calls `ready` every 20 ms until it says true; throws after `timeoutMs`. */
async function poll(ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await ready())) {
    if (performance.now() > deadline) throw new Error(`Gave up after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
