/**
 * `pkgindex bench`: measures a running server's throughput and latency. The load generator is
 * in `tools/load_generator.ts`; this is its command line and report.
 *
 * @module
 */

import {
  BENCH_MIXES,
  BENCH_MODES,
  type BenchMix,
  type BenchMode,
  type BenchResult,
  clientSaturated,
  preloadPackages,
  runBench,
} from "../tools/load_generator.ts";
import {
  describePackageSource,
  loadPackages,
  type PackageSource,
} from "../tools/package_source.ts";
import { errorMessage } from "../util/errors.ts";
import { writeText } from "../util/io.ts";
import { formatHostPort } from "../util/net.ts";
import { PACKAGE_FLAGS, packageSourceOf, TARGET_FLAGS } from "./client_flags.ts";
import { choiceFlag, integerFlag, secondsFlag, switchFlag, UsageError } from "./flags.ts";
import type { Subcommand } from "./subcommand.ts";

/** Everything `pkgindex bench` needs, after defaults and validation. */
export interface BenchConfig {
  /** The server's host. */
  hostname: string;
  /** The server's port. */
  port: number;
  /** Ping-pong, pipelined (a ring) or bursts. */
  mode: BenchMode;
  /** Requests in flight per connection (in each burst, in burst mode): 1 in ping-pong mode. */
  depth: number;
  /** Connections. */
  connections: number;
  /** Seconds measured. */
  duration: number;
  /** Seconds of warmup. */
  warmup: number;
  /** What the requests are. */
  mix: BenchMix;
  /** Where the packages come from. */
  source: PackageSource;
  /** The seed. */
  seed: number;
  /** Extra connections that only dribble bytes (a slow-drip load), not measured. */
  drippers: number;
  /** Milliseconds between two bytes of one dripping connection. */
  dripInterval: number;
  /** Whether to print JSON. */
  json: boolean;
}

/**
 * The requests in flight per connection in pipeline mode, and in each burst in burst mode, unless
 * `--depth` says otherwise.
 */
const PIPELINE_DEPTH = 64;

/** The line written to standard error when the measured window opens, after the warmup. */
export const WINDOW_OPEN = "measured window open";
/** The line written to standard error when the measured window closes. */
export const WINDOW_CLOSED = "measured window closed";

/** The flags of `pkgindex bench`. */
export const BENCH_FLAGS = {
  ...TARGET_FLAGS,
  mode: choiceFlag({
    valueName: "MODE",
    help: "pingpong (one request in flight per connection), pipeline (--depth in flight, " +
      "one sent per reply) or burst (--depth in one write, then wait for all their replies)",
    default: "pingpong",
    choices: BENCH_MODES,
  }),
  depth: integerFlag({
    valueName: "K",
    help: "requests in flight per connection in pipeline mode, or in each burst",
    default: undefined,
    defaultText: String(PIPELINE_DEPTH),
    min: 1,
    max: 4096,
  }),
  conns: integerFlag({ valueName: "N", help: "connections", default: 50, min: 1, max: 10000 }),
  duration: secondsFlag({
    valueName: "SECONDS",
    help: "how long to measure",
    default: 10,
    max: 86400,
    positive: true,
  }),
  warmup: secondsFlag({
    valueName: "SECONDS",
    help: "load before measuring starts",
    default: 2,
    max: 86400,
  }),
  mix: choiceFlag({
    valueName: "MIX",
    help: "query (QUERY only) or mixed (80% QUERY, 10% re-INDEX, 10% REMOVE then re-INDEX of " +
      "leaves)",
    default: "query",
    choices: BENCH_MIXES,
  }),
  ...PACKAGE_FLAGS,
  seed: integerFlag({
    valueName: "N",
    help: "seed of the synthetic packages and the request choices",
    default: 1,
    min: 0,
    max: 0xffffffff,
  }),
  drippers: integerFlag({
    valueName: "N",
    help: "extra connections that each send one byte of a request every --drip-interval, " +
      "not measured (a slow-drip load)",
    default: 0,
    min: 0,
    max: 100_000,
  }),
  "drip-interval": integerFlag({
    valueName: "MS",
    help: "milliseconds between two bytes of one dripping connection",
    default: 200,
    min: 1,
    max: 60_000,
  }),
  json: switchFlag({ help: "print the result as JSON" }),
} as const;

/**
 * `pkgindex bench`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommandLine } from "./subcommand.ts";
 * import { BENCH } from "./bench.ts";
 *
 * const commandLine = parseCommandLine(BENCH, ["--mode", "pipeline"], () => undefined);
 * assert.equal(commandLine.kind === "run" && commandLine.config.depth, 64);
 * ```
 */
export const BENCH: Subcommand<typeof BENCH_FLAGS, BenchConfig> = {
  name: "bench",
  summary: "measure a server's throughput and latency",
  description: `Measures a running server: indexes the packages first, then sends requests
from many connections and reports requests/s, latency percentiles and its own
CPU use, with a warning when it saturated its core (the rate then describes
this client rather than the server). Packages default to 10000 synthetic ones.
It writes "${WINDOW_OPEN}" and "${WINDOW_CLOSED}" to standard error as the
measured window opens and closes.`,
  flags: BENCH_FLAGS,
  notes: "Exit codes: 0 when every reply was the expected one, 1 otherwise, 2 on a usage error.",
  configure: (values) => {
    if (values.mode === "pingpong" && values.depth !== undefined && values.depth !== 1) {
      throw new UsageError(
        `Cannot use --depth '${values.depth}' with --mode pingpong: it keeps one request in flight`,
      );
    }
    return {
      hostname: values.host,
      port: values.port,
      mode: values.mode,
      depth: values.mode === "pingpong" ? 1 : values.depth ?? PIPELINE_DEPTH,
      connections: values.conns,
      duration: values.duration,
      warmup: values.warmup,
      mix: values.mix,
      source: packageSourceOf(values, { count: 10000, seed: values.seed }),
      seed: values.seed,
      drippers: values.drippers,
      dripInterval: values["drip-interval"],
      json: values.json,
    };
  },
  run: runBenchCommand,
};

async function runBenchCommand(config: BenchConfig): Promise<number> {
  const target = { hostname: config.hostname, port: config.port };
  let result: BenchResult;
  try {
    const packages = await loadPackages(config.source);
    const preloadMs = await preloadPackages(target, packages);
    if (!config.json) {
      writeText(
        Deno.stderr,
        `Preloaded ${packages.length} packages from ${describePackageSource(config.source)} in ${
          (preloadMs / 1000).toFixed(2)
        } s; running ${config.mode}` +
          `${config.mode === "pingpong" ? "" : ` depth ${config.depth}`}, ${config.connections} ` +
          `connections, ${config.mix} mix` +
          `${config.drippers > 0 ? `, ${config.drippers} dripping connections` : ""}, ` +
          `${config.warmup} s warmup + ${config.duration} s\n`,
      );
    }
    result = await runBench({
      ...target,
      packages,
      depth: config.depth,
      bursts: config.mode === "burst",
      connections: config.connections,
      durationMs: config.duration * 1000,
      warmupMs: config.warmup * 1000,
      mix: config.mix,
      seed: config.seed,
      drippers: config.drippers,
      dripIntervalMs: config.dripInterval,
      onWindow: (event) =>
        writeText(Deno.stderr, `${event === "open" ? WINDOW_OPEN : WINDOW_CLOSED}\n`),
    });
  } catch (error) {
    writeText(
      Deno.stderr,
      `Cannot benchmark ${formatHostPort(config.hostname, config.port)}: ${errorMessage(error)}\n`,
    );
    return 1;
  }
  writeText(
    Deno.stdout,
    config.json ? JSON.stringify({ config, result }) + "\n" : formatBenchResult(result),
  );
  return result.unexpected === 0 ? 0 : 1;
}

/**
 * The human-readable report of one run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatBenchResult } from "./bench.ts";
 *
 * const text = formatBenchResult({
 *   requests: 100, seconds: 1, requestsPerSecond: 100,
 *   latency: { p50: 10, p90: 20, p99: 30, p999: 40, max: 50 },
 *   replies: { OK: 100, FAIL: 0, ERROR: 0, other: 0 }, unexpected: 0, clientCpuSeconds: 0.95,
 * });
 * assert.equal(text.split("\n")[0], "requests/s: 100 (100 requests in 1 s)");
 * assert.match(text, /client CPU: 95% of a core\nwarning: /);
 * ```
 */
export function formatBenchResult(result: BenchResult): string {
  const { latency, replies } = result;
  return [
    `requests/s: ${result.requestsPerSecond} (${result.requests} requests in ${result.seconds} s)`,
    `latency µs: p50 ${latency.p50}  p90 ${latency.p90}  p99 ${latency.p99}  p99.9 ${latency.p999}  max ${latency.max}`,
    `replies:    OK ${replies.OK}  FAIL ${replies.FAIL}  ERROR ${replies.ERROR}  other ${replies.other}  unexpected ${result.unexpected}`,
    `client CPU: ${Math.round(result.clientCpuSeconds / result.seconds * 100)}% of a core`,
    ...(clientSaturated(result) ? [CLIENT_SATURATED_WARNING] : []),
  ].join("\n") + "\n";
}

/** What `pkgindex bench` says when the load generator saturated its core. */
export const CLIENT_SATURATED_WARNING =
  "warning: this client saturated its core: the rate describes the client, not the server";
