/**
 * The longest single INDEX while the index grows, in CPU time: a figure other processes on the
 * machine cannot inflate, unlike the wall-clock latency of `deno task bench:growth`. Indexes N
 * synthetic packages (default 3,500,000, about 2.3 dependencies each) into a `PackageIndex` in
 * this process, reads the process's CPU time (`getrusage`) around every request, and reports the
 * total, the longest request and how many took over 1 ms. A garbage collection that runs during
 * a request counts towards it.
 *
 * Run: `deno run --allow-read bench/index_growth.ts [--packages N]`; pin it with `taskset -c 1`.
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { PackageIndex } from "../lib/index/package_index.ts";
import { generatePackages } from "../lib/tools/synthetic_packages.ts";

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: { packages: { type: "string", default: "3500000" } },
});
const count = Number(values.packages);
if (!Number.isInteger(count) || count < 1) {
  throw new Error(`Cannot use --packages '${values.packages}': expected a positive integer`);
}
const requests = encodeRequests(count);
const index = new PackageIndex();
let longestMs = 0;
let longestAt = 0;
let overOneMs = 0;
const started = process.cpuUsage();
for (let i = 0; i < count; i++) {
  const request = requests.next(i);
  const before = process.cpuUsage();
  const accepted = index.indexRequest(request);
  const spent = process.cpuUsage(before);
  if (!accepted) throw new Error(`The index refused package ${i}`);
  const ms = (spent.user + spent.system) / 1000;
  if (ms > 1) overOneMs++;
  if (ms > longestMs) {
    longestMs = ms;
    longestAt = i;
  }
}
const total = process.cpuUsage(started);
// deno-lint-ignore no-console
console.log(
  `${count} packages indexed in ${((total.user + total.system) / 1e6).toFixed(1)} s of CPU ` +
    `(getrusage around each request included); longest INDEX ${longestMs.toFixed(2)} ms ` +
    `(package ${longestAt}); ${overOneMs} over 1 ms`,
);

/**
 * Every package's name and dependencies in one buffer, handed to the index one request at a time
 * through one reused `RequestNames`, as the server's parser does: no allocation per request.
 */
function encodeRequests(count: number) {
  const packages = generatePackages({ count, seed: 1, averageDependencies: 2.3 });
  const text = new TextEncoder().encode(
    packages.map((spec) => `${[spec.name, ...spec.dependencies].join(",")}\n`).join(""),
  );
  const lineStarts = new Uint32Array(count);
  for (let i = 1, at = 0; i < count; i++) {
    at = text.indexOf(0x0a, at) + 1;
    lineStarts[i] = at;
  }
  const bounds = new Int32Array(2 * 1024);
  const request = {
    bytes: text,
    nameStart: 0,
    nameEnd: 0,
    dependencyCount: 0,
    dependencyBounds: bounds,
  };
  const isEnd = (byte: number) => byte === 0x2c || byte === 0x0a;
  return {
    next(i: number) {
      let at = lineStarts[i]!;
      request.nameStart = at;
      while (!isEnd(text[at]!)) at++;
      request.nameEnd = at;
      let dependencies = 0;
      while (text[at] === 0x2c) {
        bounds[2 * dependencies] = ++at;
        while (!isEnd(text[at]!)) at++;
        bounds[2 * dependencies + 1] = at;
        dependencies++;
      }
      request.dependencyCount = dependencies;
      return request;
    },
  };
}
