/**
 * `deno task bench`: runs the same loads against pkgindex and against the ceiling server
 * (`bench/ceiling.ts`), each in its own process on a free port, and prints one table with the
 * ratio pkgindex/ceiling per load. Then it runs the mixed load against pkgindex in memory only and
 * with a data file (`--sync normal` and `--sync full`), and prints a second table with the ratio
 * durable/memory-only.
 *
 * Run: `deno task bench [--duration SECONDS] [--warmup SECONDS] [--packages FILE]`. The packages
 * default to `../shared/data/brew-dependencies.txt` next to the repository.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type BenchMix, type BenchResult, preloadPackages, runBench } from "../lib/tools/bench.ts";
import { readPackageList } from "../lib/tools/package_list.ts";
import type { PackageSpec } from "../lib/tools/synthetic_packages.ts";
import {
  pkgindexArgs,
  REPO_ROOT,
  type ServerProcess,
  startServerProcess,
} from "./server_process.ts";

/** One row of the table. */
interface Load {
  name: string;
  connections: number;
  depth: number;
  mix: BenchMix;
}

const LOADS: readonly Load[] = [
  { name: "pingpong 1 conn", connections: 1, depth: 1, mix: "query" },
  { name: "pingpong 10 conns", connections: 10, depth: 1, mix: "query" },
  { name: "pingpong 100 conns", connections: 100, depth: 1, mix: "query" },
  { name: "pipeline 10 conns x 64", connections: 10, depth: 64, mix: "query" },
  { name: "mixed pingpong 100 conns", connections: 100, depth: 1, mix: "mixed" },
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      duration: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      packages: { type: "string", default: `${REPO_ROOT}../shared/data/brew-dependencies.txt` },
    },
  });
  const durationMs = Number(values.duration) * 1000;
  const warmupMs = Number(values.warmup) * 1000;
  if (!(durationMs > 0) || !(warmupMs >= 0)) {
    throw new Error(`Cannot use --duration '${values.duration}' and --warmup '${values.warmup}'`);
  }
  const packages = await readPackageList(values.packages);
  const servers: [string, ServerProcess][] = [
    ["pkgindex", await startServerProcess(pkgindexArgs())],
    ["ceiling", await startServerProcess(["run", "--allow-net=127.0.0.1", "bench/ceiling.ts"])],
  ];
  const rows: string[] = [];
  try {
    for (const [, server] of servers) {
      await preloadPackages({ hostname: "127.0.0.1", port: server.port }, packages);
    }
    log(
      `${packages.length} packages from ${values.packages}; ${values.warmup} s warmup + ` +
        `${values.duration} s per load and server`,
    );
    rows.push(HEADER);
    for (const load of LOADS) {
      const results: BenchResult[] = [];
      for (const [name, server] of servers) {
        const result = await runBench({
          hostname: "127.0.0.1",
          port: server.port,
          packages,
          depth: load.depth,
          connections: load.connections,
          durationMs,
          warmupMs,
          mix: load.mix,
          seed: 1,
        });
        if (result.unexpected > 0) {
          throw new Error(`${name} gave ${result.unexpected} unexpected replies in '${load.name}'`);
        }
        log(
          `${load.name} / ${name}: ${result.requestsPerSecond} req/s, p99 ${result.latency.p99} µs`,
        );
        results.push(result);
      }
      rows.push(formatRow(load.name, results[0]!, results[1]!));
    }
  } finally {
    for (const [, server] of servers) await server.stop();
  }
  rows.push("", await compareDurability({ packages, durationMs, warmupMs }));
  // deno-lint-ignore no-console
  console.log(rows.join("\n"));
}

/** The mixed load against pkgindex in memory only and with a data file in each sync mode. */
async function compareDurability(
  options: { packages: PackageSpec[]; durationMs: number; warmupMs: number },
): Promise<string> {
  const load = LOADS.find((candidate) => candidate.mix === "mixed")!;
  const directory = `${REPO_ROOT}.tmp/bench-durability`;
  await Deno.mkdir(directory, { recursive: true });
  const variants: [string, string[]][] = [
    ["memory only", []],
    ["data, sync normal", ["--data", `${directory}/normal.db`, "--sync", "normal"]],
    ["data, sync full", ["--data", `${directory}/full.db`, "--sync", "full"]],
  ];
  const results: BenchResult[] = [];
  try {
    for (const [name, flags] of variants) {
      const server = await startServerProcess(
        pkgindexArgs(flags, [`--allow-read=${directory}`, `--allow-write=${directory}`]),
      );
      try {
        const target = { hostname: "127.0.0.1", port: server.port };
        await preloadPackages(target, options.packages);
        const result = await runBench({
          ...target,
          packages: options.packages,
          depth: load.depth,
          connections: load.connections,
          durationMs: options.durationMs,
          warmupMs: options.warmupMs,
          mix: load.mix,
          seed: 1,
        });
        if (result.unexpected > 0) {
          throw new Error(`${name} gave ${result.unexpected} unexpected replies`);
        }
        log(
          `${load.name} / ${name}: ${result.requestsPerSecond} req/s, p99 ${result.latency.p99} µs`,
        );
        results.push(result);
      } finally {
        await server.stop();
      }
    }
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
  const memory = results[0]!;
  return [
    `| ${load.name} | req/s | ratio to memory only | p50/p99 µs |`,
    "|---|---:|---:|---:|",
    ...variants.map(([name], i) => {
      const result = results[i]!;
      const ratio = (result.requestsPerSecond / memory.requestsPerSecond).toFixed(3);
      return `| ${name} | ${result.requestsPerSecond} | ${ratio} | ${result.latency.p50}/${result.latency.p99} |`;
    }),
  ].join("\n");
}

const HEADER =
  `| load | pkgindex req/s | ceiling req/s | ratio | pkgindex p50/p99 µs | ceiling p50/p99 µs |
|---|---:|---:|---:|---:|---:|`;

function formatRow(name: string, pkgindex: BenchResult, ceiling: BenchResult): string {
  const ratio = (pkgindex.requestsPerSecond / ceiling.requestsPerSecond).toFixed(3);
  return `| ${name} | ${pkgindex.requestsPerSecond} | ${ceiling.requestsPerSecond} | ${ratio} | ${pkgindex.latency.p50}/${pkgindex.latency.p99} | ${ceiling.latency.p50}/${ceiling.latency.p99} |`;
}

function log(message: string): void {
  // deno-lint-ignore no-console
  console.error(message);
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    // A missing packages file or a server that would not start: one sentence, not a stack trace.
    log(error instanceof Error ? error.message : String(error));
    Deno.exit(1);
  }
}
