/**
 * `deno task bench:inspect`: does the inspection API stall the protocol? Starts pkgindex in its
 * own process with its HTTP listener, indexes a chain `w0 ← w1 ← … ← w(N-1)` of a million
 * packages over one pipelined connection, then measures a ping-pong QUERY client on the protocol
 * port three times: alone, while a second thread keeps fetching `/blockers` and
 * `/install-order` of both ends of the chain at the default limit, and again at `limit=100000`.
 * It reports the QUERY latency percentiles of each phase and how long each walk took (from the
 * request to the last byte of the answer). The target: QUERY p99 under 10 ms while the walks run.
 *
 * Pinned like the other benchmarks when the machine allows it: the server on one core, this
 * process (the QUERY client and the walk thread) on the other.
 *
 * Run: `deno task bench:inspect [--length 1000000] [--duration 10]`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { REPLY_CODES } from "../lib/protocol/replies.ts";
import { ReplyReader } from "../lib/protocol/reply_reader.ts";
import { preloadPackages } from "../lib/tools/load_generator.ts";
import { Histogram, LOG_LINEAR_BOUNDS } from "../lib/util/histogram.ts";
import { writeAll } from "../lib/util/io.ts";
import type { WalkTimes } from "./inspection_walks.ts";
import { PINNING, pinThisProcess, startPkgindexWithHttp } from "./server_process.ts";

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      length: { type: "string", default: "1000000" },
      duration: { type: "string", default: "10" },
    },
  });
  const length = Number(values.length);
  const durationMs = Number(values.duration) * 1000;
  if (!Number.isInteger(length) || length < 2 || !(durationMs > 0)) {
    throw new Error(
      `Cannot use --length '${values.length}' and --duration '${values.duration}': expected an ` +
        "integer of at least 2 and a positive number of seconds",
    );
  }
  await pinThisProcess("client");
  log(
    PINNING === undefined
      ? "Unpinned: this machine has one core or no taskset, so client and server share the CPU."
      : `Pinned: the server on core ${PINNING.server}, this client on core ${PINNING.client}.`,
  );
  const server = await startPkgindexWithHttp();
  try {
    const chain = Array.from({ length }, (_, i) => ({
      name: `w${i}`,
      dependencies: i === 0 ? [] : [`w${i - 1}`],
    }));
    const target = { hostname: "127.0.0.1", port: server.port };
    const indexingMs = await preloadPackages(target, chain);
    log(`chain of ${length} packages indexed in ${(indexingMs / 1000).toFixed(1)} s`);
    // Let the server's collector finish with what indexing left behind before measuring.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const ends = ["w0", `w${length - 1}`];
    const paths = ends.flatMap((name) =>
      ["blockers", "install-order"].map((walk) => `/v1/packages/${name}/${walk}`)
    );
    const query = `QUERY|w${length >> 1}|\n`;
    const alone = await pingPong(target, query, durationMs);
    report("QUERY ping-pong alone", alone);
    for (const limit of ["", "?limit=100000"]) {
      const walks = startWalks(server.httpPort, paths.map((path) => path + limit));
      const during = await pingPong(target, query, durationMs);
      const times = await walks.stop();
      report(
        `QUERY ping-pong during walks${limit === "" ? " (default limit)" : ` (${limit})`}`,
        during,
      );
      for (const [path, durations] of Object.entries(times)) {
        const sorted = durations.toSorted((a, b) => a - b);
        log(
          `  ${path.padEnd(48)} ${String(sorted.length).padStart(4)} walks, ` +
            `median ${sorted[sorted.length >> 1]!.toFixed(1)} ms, max ${
              sorted.at(-1)!.toFixed(1)
            } ms`,
        );
      }
    }
  } finally {
    await server.stop();
  }
}

/**
 * Sends `query` and waits for its reply, again and again on one connection, for `durationMs`,
 * recording each round trip in microseconds.
 */
async function pingPong(
  target: { hostname: string; port: number },
  query: string,
  durationMs: number,
): Promise<Histogram> {
  const conn = await Deno.connect(target);
  conn.setNoDelay(true);
  const reader = new ReplyReader(conn);
  const bytes = new TextEncoder().encode(query);
  const latencies = new Histogram(LOG_LINEAR_BOUNDS);
  const end = performance.now() + durationMs;
  try {
    while (performance.now() < end) {
      const started = performance.now();
      await writeAll(conn, bytes);
      if (await reader.next() !== REPLY_CODES.OK) throw new Error(`${query.trim()} did not get OK`);
      latencies.record(Math.floor((performance.now() - started) * 1000));
    }
  } finally {
    conn.close();
  }
  return latencies;
}

/** A worker that fetches `paths` one after the other, round after round, until stopped. */
function startWalks(httpPort: number, paths: string[]): { stop(): Promise<WalkTimes> } {
  const worker = new Worker(new URL("./inspection_walks.ts", import.meta.url), { type: "module" });
  worker.postMessage({ httpPort, paths });
  return {
    stop() {
      const { promise, resolve, reject } = Promise.withResolvers<WalkTimes>();
      worker.onmessage = (event) => {
        resolve(event.data);
        worker.terminate();
      };
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(`The walk thread failed: ${event.message}`));
        worker.terminate();
      };
      worker.postMessage("stop");
      return promise;
    },
  };
}

function report(name: string, latencies: Histogram): void {
  log(
    `${name}: ${latencies.count} queries, p50 ${ms(latencies.percentile(50))} ms, ` +
      `p99 ${ms(latencies.percentile(99))} ms, max ${ms(latencies.max)} ms`,
  );
}

function ms(microseconds: number): string {
  return (microseconds / 1000).toFixed(2);
}

function log(message: string): void {
  // deno-lint-ignore no-console
  console.log(message);
}

if (import.meta.main) await main();
