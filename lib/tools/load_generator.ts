/**
 * The load generator of `pkgindex bench`: preloads a server with packages, then keeps a fixed
 * number of requests in flight on each connection, or sends them in bursts, and measures
 * throughput, latency and its own CPU time.
 *
 * @module
 */

import process from "node:process";

import { REPLY_CODES } from "../protocol/replies.ts";
import { NO_LINE, ReplyReader } from "../protocol/reply_reader.ts";
import { Histogram, LOG_LINEAR_BOUNDS } from "../util/histogram.ts";
import { writeAll } from "../util/io.ts";
import { createRandom, type Random, randomInt } from "./random.ts";
import type { PackageSpec } from "./synthetic_packages.ts";

/**
 * How requests are sent on each connection: `pingpong` one at a time; `pipeline` keeps `depth`
 * in flight, sending a new one for each reply (a ring); `burst` writes `depth` at once and waits
 * for all their replies before the next write.
 */
export type BenchMode = "pingpong" | "pipeline" | "burst";

/** Every mode, as the CLI accepts them. */
export const BENCH_MODES: readonly BenchMode[] = ["pingpong", "pipeline", "burst"];

/**
 * The share of one core above which the load generator counts as saturated: its own CPU, not
 * the server, then limits the rate it measures.
 */
export const CLIENT_SATURATION = 0.9;

/**
 * What the requests are: `query` is QUERY only; `mixed` is 80% QUERY, 10% re-INDEX with the same
 * dependencies, and 10% REMOVE-then-INDEX pairs on packages nothing depends on.
 */
export type BenchMix = "query" | "mixed";

/** Every mix, as the CLI accepts them. */
export const BENCH_MIXES: readonly BenchMix[] = ["query", "mixed"];

/** Where a server listens. */
export interface Target {
  /** The server's host. */
  hostname: string;
  /** The server's port. */
  port: number;
}

/** Options for {@linkcode runBench}. */
export interface BenchOptions extends Target {
  /** The packages, already indexed (see {@linkcode preloadPackages}). */
  packages: readonly PackageSpec[];
  /** Requests in flight per connection: 1 is ping-pong. */
  depth: number;
  /**
   * Whether each connection writes `depth` requests at once and waits for all their replies
   * before writing again (a burst load), rather than sending a new request for each reply (a
   * ring). Default: false.
   */
  bursts?: boolean;
  /** Connections, all sending at once. */
  connections: number;
  /** Milliseconds measured, after the warmup. */
  durationMs: number;
  /** Milliseconds of load before measuring starts. */
  warmupMs: number;
  /** What the requests are. */
  mix: BenchMix;
  /** The seed of the request choices. */
  seed: number;
  /**
   * Extra connections that each send one byte of a request every `dripIntervalMs` for the whole
   * run, and are not measured: a slow-drip load, many clients that keep the server reading.
   * Default: none.
   */
  drippers?: number;
  /** Milliseconds between two bytes of one dripping connection. Default: 200. */
  dripIntervalMs?: number;
  /**
   * Called when the measured window opens (`"open"`, after the warmup) and when it closes
   * (`"close"`), for instance to read a server's CPU time over exactly that window.
   */
  onWindow?: (event: "open" | "close") => void;
}

/** What a benchmark run measured. Latencies are in microseconds. */
export interface BenchResult {
  /** Requests answered inside the measured window. */
  requests: number;
  /** The measured window, in seconds. */
  seconds: number;
  /** `requests / seconds`. */
  requestsPerSecond: number;
  /** Latency percentiles and maximum, in microseconds, from send to reply. */
  latency: { p50: number; p90: number; p99: number; p999: number; max: number };
  /** Replies in the measured window by kind; `other` is anything that is not a valid reply. */
  replies: { OK: number; FAIL: number; ERROR: number; other: number };
  /** Replies (warmup included) other than the one the request must get. */
  unexpected: number;
  /**
   * The CPU time (user + system, all threads) this load generator's process used in the
   * measured window, in seconds. Near `seconds` (one core's worth), the generator saturated
   * its core: see {@linkcode clientSaturated}.
   */
  clientCpuSeconds: number;
}

/**
 * Whether the load generator of `result` used {@linkcode CLIENT_SATURATION} of a core or more,
 * so that the rate describes the client rather than the server.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clientSaturated } from "./load_generator.ts";
 *
 * assert.equal(clientSaturated({ seconds: 5, clientCpuSeconds: 4.9 }), true);
 * assert.equal(clientSaturated({ seconds: 5, clientCpuSeconds: 2 }), false);
 * ```
 */
export function clientSaturated(
  result: Pick<BenchResult, "seconds" | "clientCpuSeconds">,
): boolean {
  return result.clientCpuSeconds >= CLIENT_SATURATION * result.seconds;
}

const encoder = new TextEncoder();

/**
 * Indexes `packages` into a server over one pipelined connection, retrying those whose
 * dependencies were not indexed yet, and resolves to the time it took in milliseconds. Throws
 * when a pass indexes nothing new (a dependency is missing or a cycle) or a reply is not `OK` or
 * `FAIL`.
 */
export async function preloadPackages(
  target: Target,
  packages: readonly PackageSpec[],
): Promise<number> {
  const started = performance.now();
  const conn = await Deno.connect(target);
  const reader = new ReplyReader(conn);
  try {
    let pending = packages;
    while (pending.length > 0) {
      const failed: PackageSpec[] = [];
      for (let start = 0; start < pending.length; start += PRELOAD_BATCH) {
        const batch = pending.slice(start, start + PRELOAD_BATCH);
        const text = batch.map((spec) => `INDEX|${spec.name}|${spec.dependencies.join(",")}\n`)
          .join("");
        await writeAll(conn, encoder.encode(text));
        for (const spec of batch) {
          const code = await reader.next();
          if (code === null) throw new Error("The server closed the connection during preload");
          if (code === REPLY_CODES.FAIL) failed.push(spec);
          else if (code !== REPLY_CODES.OK) {
            throw new Error(
              `Cannot preload package '${spec.name}': the reply was not OK or FAIL`,
            );
          }
        }
      }
      if (failed.length === pending.length) {
        throw new Error(
          `Cannot preload ${failed.length} packages, such as '${
            failed[0]!.name
          }': a dependency is missing or they form a cycle`,
        );
      }
      pending = failed;
    }
  } finally {
    conn.close();
  }
  return performance.now() - started;
}

const PRELOAD_BATCH = 4096;

/**
 * Runs the load: every connection keeps `depth` requests in flight, sending as many new ones in
 * one write as replies arrived in one read (or, with `bursts`, writes `depth` at once and waits
 * for all their replies), for the warmup and then the measured duration. The
 * server must already hold `packages`; every request is one that must succeed (a QUERY of a
 * package another connection may be removing is allowed to `FAIL`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { preloadPackages, runBench } from "./load_generator.ts";
 * import { generatePackages } from "./synthetic_packages.ts";
 * import { serve } from "../server/server.ts";
 * import { createLogger } from "../util/log.ts";
 *
 * const server = serve({ hostname: "127.0.0.1", port: 0, logger: createLogger({ level: "error" }) });
 * const target = { hostname: "127.0.0.1", port: server.addr.port };
 * const packages = generatePackages({ count: 1000, seed: 1 });
 * await preloadPackages(target, packages);
 * const result = await runBench({
 *   ...target, packages, depth: 1, connections: 10, durationMs: 200, warmupMs: 50,
 *   mix: "query", seed: 1,
 * });
 * assert.ok(result.requestsPerSecond > 0);
 * assert.equal(result.unexpected, 0);
 * await server.shutdown();
 * ```
 */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const workload = buildWorkload(options.packages, options.connections);
  const queryStream = options.mix === "query"
    ? buildQueryStream(workload.query, { depth: options.depth, seed: options.seed })
    : undefined;
  const conns: Deno.Conn[] = [];
  let clock: WindowClock | undefined;
  const drip = await startDripping(options, {
    count: options.drippers ?? 0,
    intervalMs: options.dripIntervalMs ?? 200,
  });
  try {
    for (let i = 0; i < options.connections; i++) conns.push(await Deno.connect(options));
    const start = performance.now();
    const window: MeasuredWindow = {
      from: start + options.warmupMs,
      to: start + options.warmupMs + options.durationMs,
      histogram: new Histogram(LOG_LINEAR_BOUNDS),
      replies: [0, 0, 0, 0],
      unexpected: 0,
    };
    clock = watchWindow(options);
    await Promise.all(conns.map((conn, i) =>
      driveConnection(conn, {
        window,
        workload,
        queryStream,
        owner: i,
        depth: options.depth,
        bursts: options.bursts ?? false,
        mix: options.mix,
        random: createRandom((options.seed * 7919 + i * 104729 + 1) >>> 0),
      })
    ));
    const clientCpuSeconds = clock.close();
    const requests = window.histogram.count;
    const seconds = options.durationMs / 1000;
    const h = window.histogram;
    return {
      requests,
      seconds,
      requestsPerSecond: Math.round(requests / seconds),
      latency: {
        p50: h.percentile(50),
        p90: h.percentile(90),
        p99: h.percentile(99),
        p999: h.percentile(99.9),
        max: h.max,
      },
      replies: {
        OK: window.replies[0]!,
        FAIL: window.replies[1]!,
        ERROR: window.replies[2]!,
        other: window.replies[3]!,
      },
      unexpected: window.unexpected,
      clientCpuSeconds,
    };
  } finally {
    clock?.close();
    for (const conn of conns) conn.close();
    await drip.stop();
  }
}

/** The measured window's timers, started by {@linkcode watchWindow}. */
interface WindowClock {
  /**
   * Closes the window now if its timer has not yet done so, and returns this process's CPU
   * seconds inside it. Later calls return the same.
   */
  close(): number;
}

/**
 * Opens the measured window after `warmupMs` and closes it `durationMs` later, telling
 * `onWindow` each time and reading this process's CPU time at both ends.
 */
function watchWindow(options: BenchOptions): WindowClock {
  let openedAt: NodeJS.CpuUsage | undefined;
  let cpuSeconds: number | undefined;
  const open = () => {
    openedAt = process.cpuUsage();
    options.onWindow?.("open");
  };
  const close = (): number => {
    if (cpuSeconds !== undefined) return cpuSeconds;
    clearTimeout(opening);
    clearTimeout(closing);
    if (openedAt === undefined) open();
    const used = process.cpuUsage(openedAt);
    cpuSeconds = (used.user + used.system) / 1e6;
    options.onWindow?.("close");
    return cpuSeconds;
  };
  const opening = setTimeout(open, options.warmupMs);
  const closing = setTimeout(close, options.warmupMs + options.durationMs);
  return { close };
}

/** Dripping connections, started by {@linkcode startDripping}. */
interface Drip {
  /** Stops the dripping and closes the connections once their pending writes are done. */
  stop(): Promise<void>;
}

/** A request the dripping connections send, one byte at a time, again and again. */
const DRIP_LINE = encoder.encode("QUERY|drip|\n");
/** Dialled at once, below the listen backlog so that no SYN is dropped and retried. */
const DIAL_BATCH = 500;
/** How often the drip timer fires; each time it feeds the share of connections that are due. */
const DRIP_TICK_MS = 10;

/**
 * Opens `count` connections to `target` and makes each send the next byte of
 * {@linkcode DRIP_LINE} every `intervalMs`, reading and dropping the replies. One timer feeds
 * them in turn, so a few thousand connections cost the client a few writes per millisecond.
 */
async function startDripping(
  target: Target,
  options: { count: number; intervalMs: number },
): Promise<Drip> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < options.count; i += DIAL_BATCH) {
    const batch = Math.min(DIAL_BATCH, options.count - i);
    conns.push(...await Promise.all(Array.from({ length: batch }, () => Deno.connect(target))));
  }
  const drains = conns.map(async (conn) => {
    const sink = new Uint8Array(64);
    try {
      while (await conn.read(sink) !== null) {
        // The replies are not measured; reading them keeps the server writing.
      }
    } catch {
      // Closed by stop().
    }
  });
  const writes = new Set<Promise<unknown>>();
  const positions = new Uint8Array(conns.length);
  const perTick = conns.length * DRIP_TICK_MS / options.intervalMs;
  let next = 0;
  let due = 0;
  const timer = setInterval(() => {
    for (due += perTick; due >= 1; due--) {
      const i = next;
      next = (next + 1) % conns.length;
      const write = conns[i]!.write(DRIP_LINE.subarray(positions[i]!, positions[i]! + 1))
        .catch(() => {});
      writes.add(write);
      write.then(() => writes.delete(write));
      positions[i] = (positions[i]! + 1) % DRIP_LINE.length;
    }
  }, DRIP_TICK_MS);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(writes);
      for (const conn of conns) conn.close();
      await Promise.all(drains);
    },
  };
}

/** The packages with their requests encoded once, and who may remove which leaf. */
interface Workload {
  query: Uint8Array[];
  index: Uint8Array[];
  remove: Uint8Array[];
  /** Package → the connection that may remove it (a package nothing depends on), or -1. */
  owners: Int32Array;
  /** Connection → the packages it may remove. */
  leaves: number[][];
  /** The longest encoded request, to size write buffers. */
  longest: number;
}

function buildWorkload(packages: readonly PackageSpec[], connections: number): Workload {
  const depended = new Set<string>();
  for (const spec of packages) for (const dependency of spec.dependencies) depended.add(dependency);
  const owners = new Int32Array(packages.length).fill(-1);
  const leaves: number[][] = Array.from({ length: connections }, () => []);
  let next = 0;
  for (const [i, spec] of packages.entries()) {
    if (depended.has(spec.name)) continue;
    owners[i] = next;
    leaves[next]!.push(i);
    next = (next + 1) % connections;
  }
  const query = packages.map((spec) => encoder.encode(`QUERY|${spec.name}|\n`));
  const index = packages.map((spec) =>
    encoder.encode(`INDEX|${spec.name}|${spec.dependencies.join(",")}\n`)
  );
  const remove = packages.map((spec) => encoder.encode(`REMOVE|${spec.name}|\n`));
  let longest = 0;
  for (const bytes of index) longest = Math.max(longest, bytes.length);
  return { query, index, remove, owners, leaves, longest };
}

/**
 * QUERYs of random packages, encoded one after another, so that a QUERY-only load writes any run
 * of them straight from here: no request is copied, and the load generator spends its CPU on
 * the network rather than on picking and copying requests.
 */
interface QueryStream {
  bytes: Uint8Array;
  /** Line → where it starts in `bytes`; one more entry, the end of the last line. */
  starts: Uint32Array;
}

/** Lines of a {@linkcode QueryStream} a connection cycles through (plus one run's worth). */
const QUERY_STREAM_LINES = 16384;

/**
 * {@linkcode QUERY_STREAM_LINES} + `depth` QUERYs picked at random from `query`, so that a run
 * of up to `depth` lines starting anywhere before {@linkcode QUERY_STREAM_LINES} is contiguous.
 */
function buildQueryStream(
  query: readonly Uint8Array[],
  options: { depth: number; seed: number },
): QueryStream {
  const random = createRandom((options.seed * 31337 + 7) >>> 0);
  const lines = QUERY_STREAM_LINES + options.depth;
  const picks = Array.from({ length: lines }, () => query[randomInt(random, query.length)]!);
  const starts = new Uint32Array(lines + 1);
  for (let i = 0; i < lines; i++) starts[i + 1] = starts[i]! + picks[i]!.length;
  const bytes = new Uint8Array(starts[lines]!);
  for (let i = 0; i < lines; i++) bytes.set(picks[i]!, starts[i]!);
  return { bytes, starts };
}

interface MeasuredWindow {
  from: number;
  to: number;
  histogram: Histogram;
  /** Counts by reply code. */
  replies: number[];
  unexpected: number;
}

interface DriveOptions {
  window: MeasuredWindow;
  workload: Workload;
  /** For a QUERY-only load: the requests to write, instead of picking each one. */
  queryStream: QueryStream | undefined;
  owner: number;
  depth: number;
  /** Whether the next requests wait until every reply of the last write arrived. */
  bursts: boolean;
  mix: BenchMix;
  random: Random;
}

/**
 * Keeps `depth` requests in flight on `conn` (or sends bursts of `depth`) until the window
 * closes, then drains.
 */
async function driveConnection(conn: Deno.Conn, options: DriveOptions): Promise<void> {
  const { window, workload, queryStream, depth, bursts, random } = options;
  const own = workload.leaves[options.owner]!;
  const sentAt = new Float64Array(depth);
  /** 1 when the request in that ring slot may also get `FAIL`. */
  const mayFail = new Uint8Array(depth);
  let head = 0; // next slot to answer
  let inFlight = 0;
  /** The leaf whose REMOVE was just sent, so its INDEX goes next; -1 for none. */
  let reindex = -1;
  const output = new Uint8Array(depth * Math.max(workload.longest, 32));
  const reader = new ReplyReader(conn);

  /**
   * Picks the next request of a mixed load, writes it at `offset` of the output, and returns its
   * length.
   */
  const nextRequest = (slot: number, offset: number): number => {
    let bytes: Uint8Array;
    mayFail[slot] = 0;
    if (reindex !== -1) {
      bytes = workload.index[reindex]!;
      reindex = -1;
    } else {
      const choice = random() * 0.95;
      const target = randomInt(random, workload.query.length);
      if (choice < 0.8) {
        bytes = workload.query[target]!;
        const owner = workload.owners[target]!;
        if (owner !== -1 && owner !== options.owner) mayFail[slot] = 1;
      } else if (choice < 0.9 || own.length === 0) {
        bytes = workload.index[target]!;
      } else {
        reindex = own[randomInt(random, own.length)]!;
        bytes = workload.remove[reindex]!;
      }
    }
    output.set(bytes, offset);
    return bytes.length;
  };

  /** The next line of the query stream to send. */
  let position = randomInt(random, QUERY_STREAM_LINES);

  /** Sends the next `depth - inFlight` QUERYs of the query stream in one write. */
  const fillFromStream = async (stream: QueryStream, now: number) => {
    const count = depth - inFlight;
    if (count === 0 || now >= window.to) return;
    for (let i = 0; i < count; i++) {
      const slot = (head + inFlight) % depth;
      sentAt[slot] = now;
      mayFail[slot] = 0;
      inFlight++;
    }
    const bytes = stream.bytes.subarray(stream.starts[position]!, stream.starts[position + count]!);
    position += count;
    if (position >= QUERY_STREAM_LINES) position -= QUERY_STREAM_LINES;
    await writeAll(conn, bytes);
  };

  const fill = async (now: number) => {
    if (bursts && inFlight > 0) return;
    if (queryStream !== undefined) return await fillFromStream(queryStream, now);
    let length = 0;
    // A REMOVE is always followed by its INDEX, even past the end of the window.
    while (inFlight < depth && (now < window.to || reindex !== -1)) {
      const slot = (head + inFlight) % depth;
      length += nextRequest(slot, length);
      sentAt[slot] = now;
      inFlight++;
    }
    if (length > 0) await writeAll(conn, output.subarray(0, length));
  };

  await fill(performance.now());
  while (inFlight > 0) {
    if (!await reader.fill()) throw new Error("The server closed a benchmark connection");
    const now = performance.now();
    let runSentAt = -1;
    let runLength = 0;
    for (let code = reader.nextBuffered(); code !== NO_LINE; code = reader.nextBuffered()) {
      if (inFlight === 0) {
        window.unexpected++; // a reply to nothing
        continue;
      }
      const expected = code === REPLY_CODES.OK ||
        (code === REPLY_CODES.FAIL && mayFail[head] === 1);
      if (!expected) window.unexpected++;
      const sent = sentAt[head]!;
      if (sent >= window.from && now <= window.to) {
        // Requests sent in one write share their send time: record each run of them at once.
        if (sent !== runSentAt) {
          if (runLength > 0) {
            window.histogram.record(Math.floor((now - runSentAt) * 1000), runLength);
          }
          runSentAt = sent;
          runLength = 0;
        }
        runLength++;
        window.replies[code]!++;
      }
      head = (head + 1) % depth;
      inFlight--;
    }
    if (runLength > 0) window.histogram.record(Math.floor((now - runSentAt) * 1000), runLength);
    await fill(now);
  }
}
