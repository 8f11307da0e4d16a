/**
 * `deno task bench:idle`: many idle connections. Starts pkgindex in its own process, dials
 * connections that each send one QUERY and then stay idle, and reports how long the slowest one
 * waited from dialling to its reply, the server's resident memory (RSS) while they idle, and how
 * fast a new client is answered meanwhile.
 *
 * Run: `deno task bench:idle [--conns N]` (default 10,000). Needs a file descriptor limit above N
 * for both processes.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Histogram, LOG_LINEAR_BOUNDS } from "../lib/util/histogram.ts";
import { pkgindexCommand, residentBytes, startServerProcess } from "./server_process.ts";

const QUERY = new TextEncoder().encode("QUERY|idle|\n");
/** Connections dialled at once, below the listen backlog so no SYN is dropped and retried. */
const DIAL_BATCH = 500;

/** Connects, sends one QUERY and waits for its reply; resolves to the connection and the ms it took. */
async function dialAndQuery(port: number): Promise<[Deno.Conn, number]> {
  const started = performance.now();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(QUERY);
  const reply = new Uint8Array(16);
  let length = 0;
  while (length === 0 || reply[length - 1] !== 0x0a) {
    const count = await conn.read(reply.subarray(length));
    if (count === null) throw new Error("The server closed a connection instead of answering");
    length += count;
  }
  return [conn, performance.now() - started];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: { conns: { type: "string", default: "10000" } },
  });
  const count = Number(values.conns);
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`Cannot use --conns '${values.conns}': expected a positive integer`);
  }
  const server = await startServerProcess(
    pkgindexCommand(["--max-connections", String(count + 100)]),
  );
  const conns: Deno.Conn[] = [];
  try {
    const empty = await residentBytes(server.pid);
    const dialTimes = new Histogram(LOG_LINEAR_BOUNDS);
    const started = performance.now();
    for (let i = 0; i < count; i += DIAL_BATCH) {
      const batch = Math.min(DIAL_BATCH, count - i);
      const results = await Promise.all(
        Array.from({ length: batch }, () => dialAndQuery(server.port)),
      );
      for (const [conn, ms] of results) {
        conns.push(conn);
        dialTimes.record(Math.floor(ms * 1000));
      }
    }
    const allUp = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idle = await residentBytes(server.pid);
    const fresh = new Histogram(LOG_LINEAR_BOUNDS);
    for (let i = 0; i < 50; i++) {
      const [conn, ms] = await dialAndQuery(server.port);
      conn.close();
      fresh.record(Math.floor(ms * 1000));
    }
    log(
      `idle connections:     ${conns.length}, all answered ${
        (allUp / 1000).toFixed(2)
      } s after the first dial`,
    );
    log(
      `dial to reply, each:  p50 ${ms(dialTimes.percentile(50))} ms, max ${ms(dialTimes.max)} ms`,
    );
    log(
      `server RSS:           ${mib(empty)} MiB empty, ${mib(idle)} MiB with ${conns.length} idle`,
    );
    log(
      `new client meanwhile: connect+QUERY p50 ${ms(fresh.percentile(50))} ms, max ${
        ms(fresh.max)
      } ms (50 tries)`,
    );
  } finally {
    for (const conn of conns) conn.close();
    await server.stop();
  }
}

function ms(microseconds: number): string {
  return (microseconds / 1000).toFixed(2);
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

function log(message: string): void {
  // deno-lint-ignore no-console
  console.log(message);
}

if (import.meta.main) await main();
