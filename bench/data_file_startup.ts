/**
 * `deno task bench:startup`: how long the server takes to start on a data file holding N
 * synthetic packages (default 1,000,000 with ~4 dependencies each). It writes the file, starts
 * pkgindex on it as `deno task start` would, and reports the load time the server logs, the time
 * until it listens, and its memory once listening.
 *
 * Run: `deno task bench:startup [--packages N]`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { SqliteStore } from "../lib/storage/sqlite_store.ts";
import { generatePackages } from "../lib/tools/synthetic_packages.ts";
import { pkgindexCommand, REPO_ROOT, residentBytes, startServerProcess } from "./server_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: { packages: { type: "string", default: "1000000" } },
});
const count = Number(values.packages);
if (!Number.isInteger(count) || count < 1) {
  throw new Error(`Cannot use --packages '${values.packages}': expected a positive integer`);
}
const directory = `${REPO_ROOT}.tmp/bench-startup`;
const path = `${directory}/index.db`;
await Deno.mkdir(directory, { recursive: true });
try {
  const packages = generatePackages({ count, seed: 1, averageDependencies: 4 });
  const store = SqliteStore.open(path);
  const index = store.load();
  store.prepareForWrites("normal");
  for (const { name, dependencies } of packages) index.index(name, dependencies);
  store.commit(packages.map(({ name, dependencies }) => ({ kind: "index", name, dependencies })));
  store.close();
  const edges = packages.reduce((sum, spec) => sum + spec.dependencies.length, 0);
  const fileMiB = (await Deno.stat(path)).size / 2 ** 20;

  const started = performance.now();
  const server = await startServerProcess(
    pkgindexCommand(["--data", path], {
      permissions: [`--allow-read=${directory}`, `--allow-write=${directory}`],
    }),
  );
  const listeningAfter = (performance.now() - started) / 1000;
  const residentMiB = await residentBytes(server.pid) / 2 ** 20;
  await server.stop();
  const loaded = /Loaded .* in ([\d.]+) s/.exec(server.startupLog)?.[1];
  // deno-lint-ignore no-console
  console.log(
    `packages:                ${count} (${edges} dependency edges), data file ${
      fileMiB.toFixed(0)
    } MiB\n` +
      `load, as the server logs: ${loaded} s\n` +
      `process start to listening: ${listeningAfter.toFixed(2)} s\n` +
      `server RSS once listening:  ${residentMiB.toFixed(0)} MiB`,
  );
} finally {
  await Deno.remove(directory, { recursive: true });
}
