/**
 * Command-line layer of `pkgindex bench`: flags and the report. The load generator itself is in
 * `bench.ts`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  parseChoice,
  parseInteger,
  parseSeconds,
  type Setting,
  UsageError,
  withUsageErrors,
} from "./cli.ts";
import {
  BENCH_MIXES,
  BENCH_MODES,
  type BenchMix,
  type BenchMode,
  type BenchResult,
  preloadPackages,
  runBench,
} from "./bench.ts";
import {
  describePackageSource,
  loadPackages,
  PACKAGE_SOURCE_OPTIONS,
  type PackageSource,
  parsePackageSource,
} from "./package_source.ts";
import { errorMessage } from "./errors.ts";

/** The usage text of `pkgindex bench`. */
export const BENCH_USAGE = `Usage: pkgindex bench [options]

Measures a running server: indexes the packages first, then sends requests
from many connections and reports requests/s and latency percentiles.

Options:
  --host HOST          server address (default 127.0.0.1)
  --port PORT          server port (default 8080)
  --mode MODE          pingpong (one request in flight per connection) or
                       pipeline (--depth requests in flight) (default pingpong)
  --depth K            requests in flight per connection in pipeline mode (default 64)
  --conns N            connections, 1 to 10000 (default 50)
  --duration SECONDS   how long to measure (default 10)
  --warmup SECONDS     load before measuring starts (default 2)
  --mix MIX            query (QUERY only) or mixed (80% QUERY, 10% re-INDEX,
                       10% REMOVE then re-INDEX of leaves) (default query)
  --packages FILE      packages in 'name: dep dep' lines, such as brew-dependencies.txt
  --synthetic N        N seeded synthetic packages instead (default 10000)
  --seed N             seed of the synthetic packages and the request choices (default 1)
  --json               print the result as JSON
  -h, --help           print this help and exit`;

/** Everything `pkgindex bench` needs, after defaults and validation. */
export interface BenchConfig {
  /** The server's host. */
  hostname: string;
  /** The server's port. */
  port: number;
  /** Ping-pong or pipelined. */
  mode: BenchMode;
  /** Requests in flight per connection: 1 in ping-pong mode. */
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
  /** Whether to print JSON. */
  json: boolean;
}

/**
 * Parses the arguments of `pkgindex bench`; `undefined` means help was asked for. Throws
 * {@linkcode UsageError} for an unknown flag or an invalid value.
 *
 * @example
 * ```ts
 * import { parseBenchArgs } from "./bench_cli.ts";
 *
 * parseBenchArgs(["--mode", "pipeline", "--depth", "16"])?.depth; // 16
 * ```
 */
export function parseBenchArgs(args: string[]): BenchConfig | undefined {
  const { values } = withUsageErrors(() =>
    parseArgs({
      args,
      strict: true,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        mode: { type: "string" },
        depth: { type: "string" },
        conns: { type: "string" },
        duration: { type: "string" },
        warmup: { type: "string" },
        mix: { type: "string" },
        ...PACKAGE_SOURCE_OPTIONS,
        seed: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    })
  );
  if (values.help) return undefined;
  const flag = (name: keyof typeof values): Setting | undefined => {
    const value = values[name];
    return typeof value === "string" ? { source: `--${name}`, value } : undefined;
  };
  if (values.host === "") throw new UsageError("Cannot use --host '': expected a host name");
  const mode = parseChoice(flag("mode"), BENCH_MODES) ?? "pingpong";
  const depth = parseInteger(flag("depth"), { min: 1, max: 4096 });
  if (mode === "pingpong" && depth !== undefined && depth !== 1) {
    throw new UsageError(
      `Cannot use --depth '${depth}' with --mode pingpong: it keeps one request in flight`,
    );
  }
  const duration = parseSeconds(flag("duration")) ?? 10;
  if (duration === 0) {
    throw new UsageError("Cannot use --duration '0': expected more than 0 seconds");
  }
  const seed = parseInteger(flag("seed"), { min: 0, max: 0xffffffff }) ?? 1;
  return {
    hostname: values.host ?? "127.0.0.1",
    port: parseInteger(flag("port"), { min: 1, max: 65535 }) ?? 8080,
    mode,
    depth: mode === "pingpong" ? 1 : depth ?? 64,
    connections: parseInteger(flag("conns"), { min: 1, max: 10000 }) ?? 50,
    duration,
    warmup: parseSeconds(flag("warmup")) ?? 2,
    mix: parseChoice(flag("mix"), BENCH_MIXES) ?? "query",
    source: parsePackageSource({ ...values, seed }, { kind: "synthetic", count: 10000, seed }),
    seed,
    json: values.json ?? false,
  };
}

/**
 * Runs `pkgindex bench` with the arguments after `bench` and resolves to the exit code: 0 when
 * every reply was the expected one, 1 otherwise or when the server cannot be reached.
 */
export async function benchCommand(args: string[]): Promise<number> {
  const config = parseBenchArgs(args);
  if (config === undefined) {
    write(Deno.stdout, BENCH_USAGE + "\n");
    return 0;
  }
  const target = { hostname: config.hostname, port: config.port };
  let result: BenchResult;
  try {
    const packages = await loadPackages(config.source);
    const preloadMs = await preloadPackages(target, packages);
    if (!config.json) {
      write(
        Deno.stderr,
        `Preloaded ${packages.length} packages from ${describePackageSource(config.source)} in ${
          (preloadMs / 1000).toFixed(2)
        } s; running ${config.mode}` +
          `${config.mode === "pipeline" ? ` depth ${config.depth}` : ""}, ${config.connections} ` +
          `connections, ${config.mix} mix, ${config.warmup} s warmup + ${config.duration} s\n`,
      );
    }
    result = await runBench({
      ...target,
      packages,
      depth: config.depth,
      connections: config.connections,
      durationMs: config.duration * 1000,
      warmupMs: config.warmup * 1000,
      mix: config.mix,
      seed: config.seed,
    });
  } catch (error) {
    write(
      Deno.stderr,
      `Cannot benchmark ${config.hostname}:${config.port}: ${errorMessage(error)}\n`,
    );
    return 1;
  }
  write(
    Deno.stdout,
    config.json ? JSON.stringify({ config, result }) + "\n" : formatBenchResult(result),
  );
  return result.unexpected === 0 ? 0 : 1;
}

/** The human-readable report of one run. */
export function formatBenchResult(result: BenchResult): string {
  const { latency, replies } = result;
  return [
    `requests/s: ${result.requestsPerSecond} (${result.requests} requests in ${result.seconds} s)`,
    `latency µs: p50 ${latency.p50}  p90 ${latency.p90}  p99 ${latency.p99}  p99.9 ${latency.p999}  max ${latency.max}`,
    `replies:    OK ${replies.OK}  FAIL ${replies.FAIL}  ERROR ${replies.ERROR}  other ${replies.other}  unexpected ${result.unexpected}`,
  ].join("\n") + "\n";
}

const encoder = new TextEncoder();

function write(target: { writeSync(bytes: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) written += target.writeSync(bytes.subarray(written));
}
