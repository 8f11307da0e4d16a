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
import { generatePackages, type PackageSpec } from "../lib/tools/synthetic_packages.ts";
import { Histogram, LOG_LINEAR_BOUNDS } from "../lib/util/histogram.ts";
import { writeAll } from "../lib/util/io.ts";
import { renderChart } from "./chart.ts";
import { runOrExit } from "./run_or_exit.ts";
import {
  pinned,
  PINNING,
  pinThisProcess,
  pkgindexCommand,
  residentBytes,
  startServerProcess,
} from "./server_process.ts";

/** What one run measured; latencies in microseconds. */
interface GrowthResult {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  queries: number;
  over10ms: number;
  over50ms: number;
  loadSeconds: number;
  residentMiB: number;
}

const encoder = new TextEncoder();

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
  const packages = generatePackages({ count, seed: 1, averageDependencies });
  const edges = packages.reduce((sum, spec) => sum + spec.dependencies.length, 0);
  const requests = encodeRequests(packages);
  const queries = packages.filter((_, i) => i % 7 === 0).map((spec) =>
    encoder.encode(`QUERY|${spec.name}|\n`)
  );
  log(
    `${count} packages, ${edges} dependency edges (${(edges / count).toFixed(2)} each); ` +
      (PINNING === undefined
        ? "unpinned"
        : `server on core ${PINNING.server}, clients on core ${PINNING.client}`),
  );
  const results: GrowthResult[] = [];
  for (let run = 0; run < runs; run++) {
    const result = await measureRun({ requests, queries, depth });
    log(
      `run ${run + 1}: QUERY p50 ${ms(result.p50)} / p99 ${ms(result.p99)} / p99.9 ${
        ms(result.p999)
      } / max ${
        ms(result.max)
      } ms over ${result.queries} QUERYs; waits over 10 ms: ${result.over10ms}, over 50 ms: ${result.over50ms}; ` +
        `load ${result.loadSeconds.toFixed(1)} s; RSS ${result.residentMiB.toFixed(0)} MiB`,
    );
    results.push(result);
  }
  const middle = (pick: (result: GrowthResult) => number) => median(results.map(pick));
  // deno-lint-ignore no-console
  console.log(
    `| packages | QUERY p50 / p99 / p99.9 / max | waits > 10 ms / > 50 ms | load time | RSS |\n` +
      `|---:|---:|---:|---:|---:|\n` +
      `| ${count.toLocaleString("en-US")} | ${ms(middle((r) => r.p50))} / ${
        ms(middle((r) => r.p99))
      } / ${ms(middle((r) => r.p999))} / ${ms(middle((r) => r.max))} ms | ${
        middle((r) => r.over10ms)
      } / ${middle((r) => r.over50ms)} | ${middle((r) => r.loadSeconds).toFixed(1)} s | ${
        middle((r) => r.residentMiB).toFixed(0)
      } MiB |`,
  );
  if (values.svg !== undefined) {
    await Deno.writeTextFile(
      values.svg,
      renderChart({
        title: `QUERY latency while ${count.toLocaleString("en-US")} packages are indexed`,
        subtitle: `one ping-pong QUERY client beside one INDEX connection (${depth} in flight); ` +
          `medians of ${runs} runs; Deno ${Deno.version.deno}`,
        loads: ["QUERY during bulk INDEX"],
        servers: ["pkgindex"],
        throughput: [[middle((r) => r.queries / r.loadSeconds)]],
        latency: [[{
          p50: middle((r) => r.p50),
          p99: middle((r) => r.p99),
          p999: middle((r) => r.p999),
        }]],
      }),
    );
    log(`Wrote ${values.svg}`);
  }
}

/** Every package's INDEX request, back to back in one buffer, with where each ends. */
interface EncodedRequests {
  bytes: Uint8Array;
  ends: Uint32Array;
}

/** Encodes the INDEX requests once, so that sending them costs the client no work per request. */
function encodeRequests(packages: readonly PackageSpec[]): EncodedRequests {
  const lines = packages.map((spec) =>
    encoder.encode(`INDEX|${spec.name}|${spec.dependencies.join(",")}\n`)
  );
  const bytes = new Uint8Array(lines.reduce((sum, line) => sum + line.length, 0));
  const ends = new Uint32Array(lines.length);
  let end = 0;
  for (const [i, line] of lines.entries()) {
    bytes.set(line, end);
    end += line.length;
    ends[i] = end;
  }
  return { bytes, ends };
}

/** One run against a fresh server: the bulk load and the QUERY client at once. */
async function measureRun(
  options: { requests: EncodedRequests; queries: Uint8Array[]; depth: number },
): Promise<GrowthResult> {
  const server = await startServerProcess(pinned("server", pkgindexCommand()));
  try {
    const target = { hostname: "127.0.0.1", port: server.port };
    const indexing = await Deno.connect(target);
    const querying = await Deno.connect(target);
    try {
      const state = {
        done: false,
        histogram: new Histogram(LOG_LINEAR_BOUNDS),
        over10ms: 0,
        over50ms: 0,
      };
      const [loadMs] = await Promise.all([
        bulkIndex(indexing, options.requests, options.depth).finally(() => state.done = true),
        pingPong(querying, options.queries, state),
      ]);
      const { histogram, over10ms, over50ms } = state;
      return {
        p50: histogram.percentile(50),
        p99: histogram.percentile(99),
        p999: histogram.percentile(99.9),
        max: histogram.max,
        queries: histogram.count,
        over10ms,
        over50ms,
        loadSeconds: loadMs / 1000,
        residentMiB: await residentBytes(server.pid) / 2 ** 20,
      };
    } finally {
      indexing.close();
      querying.close();
    }
  } finally {
    await server.stop();
  }
}

/**
 * Sends every request on `conn`, keeping `depth` in flight: as many new ones in one write as
 * replies arrived in one read. Resolves to the milliseconds it took; throws on a reply that is
 * not `OK` (the packages come in dependency order, so every one must be indexed).
 */
async function bulkIndex(
  conn: Deno.Conn,
  requests: EncodedRequests,
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

/** What the QUERY client has seen so far, and whether the bulk load is over. */
interface PingPongState {
  done: boolean;
  /** Waits in microseconds. */
  histogram: Histogram;
  over10ms: number;
  over50ms: number;
}

/** Sends one QUERY at a time until `state.done`, recording each wait. */
async function pingPong(
  conn: Deno.Conn,
  queries: Uint8Array[],
  state: PingPongState,
): Promise<void> {
  const reader = new ReplyReader(conn);
  for (let i = 0; !state.done; i = (i + 1) % queries.length) {
    const sentAt = performance.now();
    await writeAll(conn, queries[i]!);
    const code = await reader.next();
    if (code === null) throw new Error("The server closed the QUERY connection");
    if (code !== REPLY_CODES.OK && code !== REPLY_CODES.FAIL) {
      throw new Error(`The server answered a QUERY with '${reader.lastLine}'`);
    }
    const waitedUs = Math.round((performance.now() - sentAt) * 1000);
    state.histogram.record(waitedUs);
    if (waitedUs > 10_000) state.over10ms++;
    if (waitedUs > 50_000) state.over50ms++;
  }
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
