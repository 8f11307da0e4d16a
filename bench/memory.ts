/**
 * `deno task bench:memory`: the memory report. Starts pkgindex in its own process, indexes
 * synthetic packages into it over one pipelined connection, and reports the server's resident
 * memory (RSS) before and after.
 *
 * Run: `deno task bench:memory [--count N] [--average-dependencies D]` (default 1,000,000 packages
 * with about 4 dependencies each). Linux only: RSS comes from `/proc`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { preloadPackages } from "../lib/tools/load_generator.ts";
import { generatePackages } from "../lib/tools/synthetic_packages.ts";
import { pkgindexCommand, residentBytes, startServerProcess } from "./server_process.ts";

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      count: { type: "string", default: "1000000" },
      "average-dependencies": { type: "string", default: "4" },
    },
  });
  const count = Number(values.count);
  const averageDependencies = Number(values["average-dependencies"]);
  if (!Number.isInteger(count) || count < 1 || !(averageDependencies >= 0)) {
    throw new Error(
      `Cannot use --count '${values.count}' and --average-dependencies '${
        values["average-dependencies"]
      }': expected a positive integer and a number`,
    );
  }
  const packages = generatePackages({ count, seed: 1, averageDependencies });
  let edges = 0;
  for (const spec of packages) edges += spec.dependencies.length;
  const server = await startServerProcess(pkgindexCommand());
  try {
    const before = await residentBytes(server.pid);
    const ms = await preloadPackages({ hostname: "127.0.0.1", port: server.port }, packages);
    // Let the collector finish what indexing left behind before measuring.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const after = await residentBytes(server.pid);
    log(
      `packages:         ${count} (${edges} dependency edges, ${
        (edges / count).toFixed(2)
      } per package)`,
    );
    log(
      `indexing time:    ${(ms / 1000).toFixed(1)} s (${
        Math.round(count / (ms / 1000))
      } packages/s)`,
    );
    log(`server RSS empty: ${mib(before)} MiB`);
    log(
      `server RSS full:  ${mib(after)} MiB (${
        Math.round((after - before) / count)
      } bytes per package)`,
    );
  } finally {
    await server.stop();
  }
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

function log(message: string): void {
  // deno-lint-ignore no-console
  console.log(message);
}

if (import.meta.main) await main();
