/**
 * `deploy/haproxy.cfg` run by the real HAProxy: it is valid as shipped, and, moved onto free
 * ports, it sends protocol clients to whichever process's `/v1/health` answers 200 and cuts the
 * clients of a process that stops answering 200.
 */
import assert from "node:assert/strict";
import { ReplyReader } from "../lib/protocol/reply_reader.ts";
import { REPLY_CODES } from "../lib/protocol/replies.ts";
import { closeQuietly, writeAll } from "../lib/util/io.ts";
import {
  type Backend,
  checkConfig,
  deriveConfig,
  findHaproxy,
  readDeployConfig,
  type RunningHaproxy,
  startHaproxy,
} from "./support/haproxy.ts";
import { freePort } from "./support/free_port.ts";
import { isStandalone, PkgindexProcess } from "./support/pkgindex_process.ts";

const haproxy = await findHaproxy();
const encoder = new TextEncoder();

Deno.test({
  name: "HAProxy accepts deploy/haproxy.cfg as shipped, warning only about unresolved hosts",
  ignore: haproxy.ignore,
  fn: async () => {
    const { valid, output } = await checkConfig(
      haproxy.path!,
      new URL("../deploy/haproxy.cfg", import.meta.url).pathname,
    );
    assert.ok(valid, output);
    const warnings = output.split("\n").filter((line) => line.startsWith("[WARNING]"));
    for (const warning of warnings) assert.match(warning, /could not resolve address/);
  },
});

Deno.test({
  name: "HAProxy accepts the config the tests derive from deploy/haproxy.cfg without a warning",
  ignore: haproxy.ignore,
  fn: async () => {
    const directory = await Deno.makeTempDir();
    try {
      const backends = ["a", "b"].map((name) => ({ name, port: 7001, httpPort: 7002 }));
      const path = `${directory}/haproxy.cfg`;
      const text = deriveConfig(await readDeployConfig(), {
        port: 7000,
        statsPort: 7003,
        backends,
      });
      await Deno.writeTextFile(path, text);
      const { valid, output } = await checkConfig(haproxy.path!, path);
      assert.ok(valid, output);
      assert.doesNotMatch(output, /WARNING|ALERT/);
    } finally {
      await Deno.remove(directory, { recursive: true });
    }
  },
});

/**
 * A stand-in for a pkgindex process: its health endpoint answers 200 or 503 as the test says,
 * and its protocol port answers every line with its own name.
 */
class FakeProcess {
  leader = false;
  readonly backend: Backend;
  readonly #listener: Deno.TcpListener;
  readonly #http: Deno.HttpServer<Deno.NetAddr>;
  readonly #conns = new Set<Deno.TcpConn>();
  readonly #served: Promise<void>;

  constructor(name: string) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
      const ok = new URL(request.url).pathname === "/v1/health" && this.leader;
      return Response.json({ role: ok ? "leader" : "standby" }, { status: ok ? 200 : 503 });
    });
    this.backend = { name, port: this.#listener.addr.port, httpPort: this.#http.addr.port };
    this.#served = this.#serve(name);
  }

  async #serve(name: string): Promise<void> {
    const answering: Promise<void>[] = [];
    for await (const conn of this.#listener) {
      this.#conns.add(conn);
      answering.push((async () => {
        try {
          for await (const _ of conn.readable) await writeAll(conn, encoder.encode(`${name}\n`));
        } catch {
          // Cut by HAProxy or by close().
        } finally {
          this.#conns.delete(conn);
        }
      })());
    }
    await Promise.all(answering);
  }

  async close(): Promise<void> {
    this.#listener.close();
    for (const conn of this.#conns) closeQuietly(conn);
    await this.#served;
    await this.#http.shutdown();
  }
}

/** Sends one line on `conn` and returns the reply line, or `null` when the connection closed. */
async function ask(conn: Deno.TcpConn): Promise<string | null> {
  try {
    await writeAll(conn, encoder.encode("QUERY|x|\n"));
  } catch {
    return null;
  }
  const buffer = new Uint8Array(64);
  const read = await conn.read(buffer).catch(() => null);
  return read === null ? null : new TextDecoder().decode(buffer.subarray(0, read)).trim();
}

/**
 * Waits for the other end to close `conn`; false if it sends something instead, or has not
 * closed it within 10 s.
 */
async function closedByPeer(conn: Deno.TcpConn): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), 10_000));
  const read = conn.read(new Uint8Array(64)).catch(() => null);
  const outcome = await Promise.race([read, late]);
  clearTimeout(timer);
  if (outcome === "late") {
    closeQuietly(conn);
    await read;
    return false;
  }
  return outcome === null;
}

Deno.test({
  name: "HAProxy routes the protocol to the process whose /v1/health answers 200, " +
    "and cuts the clients of one that stops",
  ignore: haproxy.ignore,
  fn: async () => {
    const a = new FakeProcess("a");
    const b = new FakeProcess("b");
    const proxy = await startHaproxy(haproxy.path!, { backends: [a.backend, b.backend] });
    const conns: Deno.TcpConn[] = [];
    const connect = async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
      conns.push(conn);
      return conn;
    };
    try {
      a.leader = true;
      await proxy.waitForLeader("a");
      const toA = await connect();
      assert.equal(await ask(toA), "a");
      assert.equal(await ask(await connect()), "a");

      a.leader = false;
      b.leader = true;
      await proxy.waitForLeader("b");
      // HAProxy shows the new states a moment before it has acted on them: the cut is the event.
      assert.equal(await closedByPeer(toA), true, "the deposed process's client was cut");
      const toB = await connect();
      assert.equal(await ask(toB), "b");

      b.leader = false;
      await proxy.waitForLeader(undefined);
      assert.equal(await closedByPeer(toB), true, "the deposed process's client was cut");
      assert.equal(await ask(await connect()), null, "no leader: the client is closed");
    } finally {
      for (const conn of conns) closeQuietly(conn);
      await proxy.stop();
      await a.close();
      await b.close();
    }
  },
});

Deno.test({
  name: "HAProxy routes the protocol to a pkgindex without PostgreSQL, which is its own leader",
  ignore: haproxy.ignore,
  fn: async () => {
    const server = await PkgindexProcess.start({
      name: "standalone",
      port: freePort(),
      httpPort: freePort(),
    });
    let proxy: RunningHaproxy | undefined;
    try {
      await server.waitFor(isStandalone, { timeoutMs: 30_000, what: "standalone" });
      proxy = await startHaproxy(haproxy.path!, { backends: [server.backend] });
      await proxy.waitForLeader("standalone");
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
      try {
        await writeAll(conn, encoder.encode("INDEX|a|\nQUERY|a|\n"));
        const replies = new ReplyReader(conn);
        assert.deepEqual([await replies.next(), await replies.next()], [
          REPLY_CODES.OK,
          REPLY_CODES.OK,
        ]);
      } finally {
        closeQuietly(conn);
      }
    } finally {
      await proxy?.stop();
      await server.stop();
    }
  },
});
