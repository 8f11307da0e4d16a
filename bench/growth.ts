/**
 * `deno task bench:growth`: what one client waits while another grows the index. One connection
 * bulk-indexes N synthetic packages (default 3,500,000, about 2.3 dependencies each), pipelined
 * with a fixed number of requests in flight (default 64); meanwhile a second connection sends one
 * QUERY at a time and records how long each reply took. A server whose tables grow by copying
 * shows it here: the QUERY that arrives during the copy waits for all of it.
 *
 * The server runs pinned to core 1 and this process (both clients) to core 0, when the machine
 * allows (see `server_process.ts`). Reports, per run and as medians: the QUERY latency p50, p99,
 * p99.9 and max, how many waits took over 10 and 50 ms, the load time, and the server's resident
 * memory (RSS) at the end.
 *
 * Run: `deno task bench:growth [--packages N] [--average-dependencies D] [--depth K] [--runs R]
 * [--svg FILE]`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { REPLY_CODES } from "../lib/protocol/replies.ts";
import { NO_LINE, ReplyReader } from "../lib/protocol/reply_reader.ts";
import { generatePackages } from "../lib/tools/synthetic_packages.ts";
import { writeAll } from "../lib/util/io.ts";
import { renderChart } from "./chart.ts";
import type { QueryThreadMessage, QueryWaits } from "./growth_queries.ts";
import { runOrExit } from "./run_or_exit.ts";
import {
  ceilingCommand,
  pinned,
  PINNING,
  pinThisProcess,
  pkgindexCommand,
  residentBytes,
  startServerProcess,
} from "./server_process.ts";

/**
 * The servers measured, each run: pkgindex, and the ceiling (`ceiling.ts`, which answers `OK` to
 * every line without parsing or indexing anything) under the same traffic, whose latency is what
 * the machine, the runtime and the clients cost before any server work.
 */
const SERVERS: readonly { name: string; command: () => string[] }[] = [
  { name: "pkgindex", command: () => pkgindexCommand() },
  { name: "ceiling", command: ceilingCommand },
];

/** What one run measured; latencies in microseconds. */
interface GrowthResult extends QueryWaits {
  loadSeconds: number;
  residentMiB: number;
}

const USAGE = `Usage: deno task bench:growth [options]

Bulk-indexes synthetic packages over one pipelined connection while another
connection measures QUERY latency, ping-pong; reports latency, load time, RSS.

Options:
  --packages N              packages to index (default 3500000)
  --average-dependencies D  mean dependencies drawn per package (default 2.3)
  --depth K                 INDEX requests in flight (default 64)
  --runs R                  runs, each against a fresh server (default 3)
  --svg FILE                also draw the medians as a chart
  -h, --help                print this help`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      packages: { type: "string", default: "3500000" },
      "average-dependencies": { type: "string", default: "2.3" },
      depth: { type: "string", default: "64" },
      runs: { type: "string", default: "3" },
      svg: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    log(USAGE);
    return;
  }
  const count = positiveInteger("--packages", values.packages);
  const depth = positiveInteger("--depth", values.depth);
  const runs = positiveInteger("--runs", values.runs);
  const averageDependencies = Number(values["average-dependencies"]);
  if (!(averageDependencies >= 0)) {
    throw new Error(
      `Cannot use --average-dependencies '${
        values["average-dependencies"]
      }': expected a number of 0 or more`,
    );
  }
  await pinThisProcess("client");
  const { requests, queries, edges } = encodeLoad({ count, averageDependencies });
  log(
    `${count} packages, ${edges} dependency edges (${(edges / count).toFixed(2)} each); ` +
      (PINNING === undefined
        ? "unpinned"
        : `server on core ${PINNING.server}, both clients on core ${PINNING.client}`),
  );
  const results: GrowthResult[][] = SERVERS.map(() => []);
  for (let run = 0; run < runs; run++) {
    for (const [i, server] of SERVERS.entries()) {
      const result = await measureRun(server.command(), { requests, queries, depth });
      const longWaits = result.longWaitsAt.map((at) => `${at.toFixed(1)} s`).join(", ");
      log(
        `run ${run + 1}, ${server.name}: QUERY p50 ${ms(result.p50)} / p99 ${
          ms(result.p99)
        } / p99.9 ${ms(result.p999)} / max ${
          ms(result.max)
        } ms over ${result.queries} QUERYs; waits over 10 ms: ${result.over10ms}${
          longWaits === "" ? "" : ` (at ${longWaits})`
        }, over 50 ms: ${result.over50ms}; ` +
          `load ${result.loadSeconds.toFixed(1)} s; RSS ${result.residentMiB.toFixed(0)} MiB`,
      );
      results[i]!.push(result);
    }
  }
  const middles = results.map((serverResults) => (pick: (result: GrowthResult) => number) =>
    median(serverResults.map(pick))
  );
  const rows = SERVERS.map(({ name }, i) => {
    const middle = middles[i]!;
    return `| ${name} | ${ms(middle((r) => r.p50))} / ${ms(middle((r) => r.p99))} / ${
      ms(middle((r) => r.p999))
    } / ${ms(middle((r) => r.max))} ms | ${middle((r) => r.over10ms)} / ${
      middle((r) => r.over50ms)
    } | ${middle((r) => r.loadSeconds).toFixed(1)} s | ${
      middle((r) => r.residentMiB).toFixed(0)
    } MiB |`;
  });
  // deno-lint-ignore no-console
  console.log(
    `| ${count.toLocaleString("en-US")} packages | QUERY p50 / p99 / p99.9 / max | ` +
      `waits > 10 ms / > 50 ms | load time | RSS |\n|---|---:|---:|---:|---:|\n${rows.join("\n")}`,
  );
  if (values.svg !== undefined) {
    await Deno.writeTextFile(
      values.svg,
      renderChart({
        title: `QUERY latency while ${count.toLocaleString("en-US")} packages are indexed`,
        subtitle: `one ping-pong QUERY client beside one INDEX connection (${depth} in flight); ` +
          `medians of ${runs} runs; Deno ${Deno.version.deno}`,
        loads: ["QUERY during bulk INDEX"],
        servers: SERVERS.map(({ name }) => name),
        throughput: [middles.map((middle) => middle((r) => r.queries / r.loadSeconds))],
        latency: [middles.map((middle) => ({
          p50: middle((r) => r.p50),
          p99: middle((r) => r.p99),
          p999: middle((r) => r.p999),
        }))],
      }),
    );
    log(`Wrote ${values.svg}`);
  }
}

/** Request lines back to back in one buffer, with where each ends. */
interface EncodedLines {
  bytes: Uint8Array;
  ends: Uint32Array;
}

/**
 * Every package's INDEX request, and a QUERY for every 7th package, each encoded once into one
 * buffer so that sending them costs the clients no work per request. The package list itself
 * (millions of objects) is dropped and collected before any run, so that neither client thread
 * has a large heap to collect while it measures.
 */
function encodeLoad(
  options: { count: number; averageDependencies: number },
): { requests: EncodedLines; queries: EncodedLines; edges: number } {
  const packages = generatePackages({ seed: 1, ...options });
  const edges = packages.reduce((sum, spec) => sum + spec.dependencies.length, 0);
  const requests = encodeLines(
    packages.length,
    (i) => `INDEX|${packages[i]!.name}|${packages[i]!.dependencies.join(",")}\n`,
  );
  const queries = encodeLines(
    Math.ceil(packages.length / 7),
    (i) => `QUERY|${packages[i * 7]!.name}|\n`,
  );
  return { requests, queries, edges };
}

/** The `count` lines that `line` makes, encoded back to back into one buffer. */
function encodeLines(count: number, line: (i: number) => string): EncodedLines {
  const encoder = new TextEncoder();
  let bytes = new Uint8Array(1 << 16);
  const ends = new Uint32Array(count);
  let end = 0;
  for (let i = 0; i < count; i++) {
    const text = line(i);
    // Every UTF-16 unit takes at most 3 bytes in UTF-8.
    if (bytes.length - end < text.length * 3) {
      const larger = new Uint8Array(Math.max(2 * bytes.length, end + text.length * 3));
      larger.set(bytes.subarray(0, end));
      bytes = larger;
    }
    end += encoder.encodeInto(text, bytes.subarray(end)).written;
    ends[i] = end;
  }
  return { bytes: bytes.slice(0, end), ends };
}

/**
 * One run against a fresh server started with `command`: the bulk load on this thread and the
 * QUERY client on its own (`growth_queries.ts`), both on the client core.
 */
async function measureRun(
  command: string[],
  options: { requests: EncodedLines; queries: EncodedLines; depth: number },
): Promise<GrowthResult> {
  const server = await startServerProcess(pinned("server", command));
  try {
    // What the encoding and the last run left behind is collected now, not while measuring (the
    // bench task passes --expose-gc).
    (globalThis as { gc?: () => void }).gc?.();
    const port = server.port;
    const indexing = await Deno.connect({ hostname: "127.0.0.1", port });
    const querying = startQueryThread(port, options.queries);
    try {
      await querying.connected;
      const loadMs = await bulkIndex(indexing, options.requests, options.depth);
      return {
        ...await querying.stop(),
        loadSeconds: loadMs / 1000,
        residentMiB: await residentBytes(server.pid) / 2 ** 20,
      };
    } finally {
      indexing.close();
      querying.terminate();
    }
  } finally {
    await server.stop();
  }
}

/**
 * Starts the QUERY thread against `port` with `queries`. `connected` resolves once its
 * connection is open; `stop` ends its loop and resolves to what it measured.
 */
function startQueryThread(port: number, queries: EncodedLines): {
  connected: Promise<void>;
  stop(): Promise<QueryWaits>;
  terminate(): void;
} {
  const worker = new Worker(new URL("./growth_queries.ts", import.meta.url), { type: "module" });
  const connected = Promise.withResolvers<void>();
  const measured = Promise.withResolvers<QueryWaits>();
  worker.onmessage = (event: MessageEvent<QueryWaits | "connected">) => {
    if (event.data === "connected") connected.resolve();
    else measured.resolve(event.data);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    const error = new Error(`The QUERY thread failed: ${event.message}`);
    connected.reject(error);
    measured.reject(error);
  };
  const start: QueryThreadMessage = { port, bytes: queries.bytes, ends: queries.ends };
  worker.postMessage(start);
  return {
    connected: connected.promise,
    stop() {
      worker.postMessage("stop" satisfies QueryThreadMessage);
      return measured.promise;
    },
    terminate: () => worker.terminate(),
  };
}

/**
 * Sends every request on `conn`, keeping `depth` in flight: as many new ones in one write as
 * replies arrived in one read. Resolves to the milliseconds it took; throws on a reply that is
 * not `OK` (the packages come in dependency order, so every one must be indexed).
 */
async function bulkIndex(
  conn: Deno.Conn,
  requests: EncodedLines,
  depth: number,
): Promise<number> {
  const started = performance.now();
  const { bytes, ends } = requests;
  const reader = new ReplyReader(conn);
  let sent = 0;
  let answered = 0;
  const send = async (upTo: number) => {
    const from = sent === 0 ? 0 : ends[sent - 1]!;
    await writeAll(conn, bytes.subarray(from, ends[upTo - 1]!));
    sent = upTo;
  };
  await send(Math.min(depth, ends.length));
  while (answered < ends.length) {
    if (!await reader.fill()) throw new Error("The server closed the INDEX connection");
    for (let code = reader.nextBuffered(); code !== NO_LINE; code = reader.nextBuffered()) {
      if (code !== REPLY_CODES.OK) {
        throw new Error(`The server refused INDEX request ${answered + 1}: ${reader.lastLine}`);
      }
      answered++;
    }
    const upTo = Math.min(answered + depth, ends.length);
    if (upTo > sent) await send(upTo);
  }
  return performance.now() - started;
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`Cannot use ${flag} '${text}': expected a positive integer`);
  }
  return value;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function ms(microseconds: number): string {
  return (microseconds / 1000).toFixed(microseconds < 10_000 ? 2 : 0);
}

function log(message: string): void {
  // deno-lint-ignore no-console
  console.error(message);
}

if (import.meta.main) await runOrExit(main);
