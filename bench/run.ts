/**
 * `deno task bench`: pkgindex per CPU core, beside the ceiling server (`bench/ceiling.ts`, the
 * runtime's own limit for this protocol) and any server given with `--compare`, in one run.
 *
 * On a machine with two or more cores and `taskset` (util-linux), every server is pinned to
 * core 1 and every load generator (`pkgindex bench`, in its own process) to core 0; otherwise
 * both run unpinned and the report says so. A compared server is started by you: pin it the
 * same way (`taskset -c 1 ./your-server`).
 *
 * For each of `--runs` runs it measures, server after server: ping-pong QUERY and mixed at 100
 * connections, pipelined QUERY at 10 connections × 64 in flight (a ring: a new request for each
 * reply), bursts of QUERY at 10 connections × 64 (64 in one write, then wait for all 64
 * replies), and slow drip (3,000 connections each dribbling a byte every 200 ms while one
 * connection measures QUERY latency).
 *
 * The headline is the CPU time each server it started spent per request in the measured window
 * (from `/proc/<pid>/stat`, read as the load generator announces the window opening and
 * closing), and the ratio ceiling/pkgindex of it: unlike a throughput ratio, it holds whichever
 * side is the bottleneck. Beside it: requests per second, the ratios of pkgindex to every other
 * server, and the share of its core the load generator used, with a warning wherever it
 * saturated (that throughput then describes the client). Medians over the runs; a ratio is the
 * median of each run's ratio. Then the heap bytes pkgindex allocates per pipelined QUERY, and
 * the mixed load with a data file against memory only.
 *
 * Run: `deno task bench [--runs 3] [--duration 5] [--warmup 1] [--packages FILE]
 * [--compare NAME=HOST:PORT]... [--svg FILE]`. The packages default to
 * `../shared/data/brew-dependencies.txt` beside the repository.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { WINDOW_CLOSED, WINDOW_OPEN } from "../lib/cli/bench.ts";
import { type BenchResult, clientSaturated } from "../lib/tools/load_generator.ts";
import { readPackageList } from "../lib/tools/package_list.ts";
import { renderChart } from "./chart.ts";
import { runOrExit } from "./run_or_exit.ts";
import {
  benchCommand,
  ceilingCommand,
  pinned,
  PINNING,
  pkgindexCommand,
  REPO_ROOT,
  SERVER_V8_FLAGS,
  type ServerProcess,
  startServerProcess,
} from "./server_process.ts";

/** One row of the report: the `pkgindex bench` flags of a load. */
interface Load {
  name: string;
  flags: string[];
}

const LOADS: readonly Load[] = [
  { name: "ping-pong, 100 conns, QUERY", flags: ["--conns", "100", "--mix", "query"] },
  { name: "ping-pong, 100 conns, mixed", flags: ["--conns", "100", "--mix", "mixed"] },
  {
    name: "pipelined, 10 conns × 64, QUERY",
    flags: ["--mode", "pipeline", "--depth", "64", "--conns", "10", "--mix", "query"],
  },
  {
    name: "bursts, 10 conns × 64, QUERY",
    flags: ["--mode", "burst", "--depth", "64", "--conns", "10", "--mix", "query"],
  },
  {
    name: "slow drip: 3,000 dribbling + 1 QUERY",
    flags: ["--conns", "1", "--mix", "query", "--drippers", "3000", "--drip-interval", "200"],
  },
];

/** A server the loads run against. */
interface Target {
  name: string;
  hostname: string;
  port: number;
  /** The server's process, when this script started it: its CPU time is measured. */
  pid?: number;
}

/** One load's result against one server, and the server's CPU time per request. */
interface Measurement extends BenchResult {
  /**
   * Server CPU (user + system) in the measured window per request answered in it, in
   * nanoseconds; for servers started here.
   */
  cpuNsPerRequest: number | undefined;
}

/** The unit of the CPU times in `/proc/<pid>/stat`: USER_HZ, 100 on Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The CPU time, user plus system, that process `pid` has used so far, in seconds. Read with
 * `cat`: Deno itself reads `/proc/<pid>` only with every permission.
 */
function cpuSeconds(pid: number): number {
  const output = new Deno.Command("cat", { args: [`/proc/${pid}/stat`] }).outputSync();
  // The fields after the command name (which may hold spaces) start with the state, field 3;
  // utime and stime are fields 14 and 15.
  const stat = new TextDecoder().decode(output.stdout);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

const USAGE = `Usage: deno task bench [options]

Runs pkgindex, the ceiling server and any --compare server through the same
loads, each server pinned to core 1 and each load generator to core 0 when the
machine allows, and prints server CPU per request (the headline), throughput
and ratios, the load generator's own CPU use, latency and allocation.

Options:
  --runs N                 runs of every load (default 3)
  --duration SECONDS       measured time of each load (default 5)
  --warmup SECONDS         load before measuring (default 1)
  --packages FILE          packages to preload, 'name: dep dep' lines
                           (default ../shared/data/brew-dependencies.txt beside the checkout)
  --compare NAME=HOST:PORT another running server to measure the same way; repeatable
  --svg FILE               also draw the results as a chart
  -h, --help               print this help`;

interface Options {
  runs: number;
  duration: string;
  warmup: string;
  packages: string;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      runs: { type: "string", default: "3" },
      duration: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      packages: { type: "string", default: `${REPO_ROOT}../shared/data/brew-dependencies.txt` },
      compare: { type: "string", multiple: true, default: [] },
      svg: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    // deno-lint-ignore no-console
    console.log(USAGE);
    return;
  }
  // Read once here, so that a missing file stops the run before any server starts.
  await readPackageList(values.packages);
  const options: Options = {
    runs: Number(values.runs),
    duration: values.duration,
    warmup: values.warmup,
    packages: values.packages,
  };
  if (!Number.isInteger(options.runs) || options.runs < 1) {
    throw new Error(`Cannot use --runs '${values.runs}': expected a positive integer`);
  }
  const compared = values.compare.map(parseCompare);
  log(
    PINNING === undefined
      ? "Unpinned: this machine has one core or no taskset, so client and server share the CPU."
      : `Pinned: servers on core ${PINNING.server}, load generators on core ${PINNING.client}.`,
  );
  const pkgindex = await startServerProcess(pinned("server", pkgindexCommand()));
  const ceiling = await startServerProcess(pinned("server", ceilingCommand()));
  const targets: Target[] = [
    { name: "pkgindex", hostname: "127.0.0.1", port: pkgindex.port, pid: pkgindex.pid },
    { name: "ceiling", hostname: "127.0.0.1", port: ceiling.port, pid: ceiling.pid },
    ...compared,
  ];
  /** results[run][load][target] */
  const results: Measurement[][][] = [];
  try {
    for (let run = 0; run < options.runs; run++) {
      const byLoad: Measurement[][] = [];
      for (const load of LOADS) {
        const byTarget: Measurement[] = [];
        for (const target of targets) {
          const result = await runLoad(target, load, options);
          log(
            `run ${run + 1}, ${load.name}, ${target.name}: ${result.requestsPerSecond} req/s, ` +
              `p99 ${result.latency.p99} µs, max ${result.latency.max} µs` +
              (result.cpuNsPerRequest === undefined
                ? ""
                : `, server CPU ${Math.round(result.cpuNsPerRequest)} ns/request`) +
              `, client CPU ${Math.round(result.clientCpuSeconds / result.seconds * 100)}%`,
          );
          byTarget.push(result);
        }
        byLoad.push(byTarget);
      }
      results.push(byLoad);
    }
  } finally {
    await pkgindex.stop();
    await ceiling.stop();
  }
  const report = [
    "Server CPU per request (the headline):",
    "",
    cpuTable(targets, results),
    "",
    "Throughput, and the load generator's own CPU use (a share of its core):",
    "",
    throughputTable(targets, results),
    "",
    ...saturationWarnings(targets, results).flatMap((warning) => [warning, ""]),
    latencyTable(targets, results),
    "",
    await allocationReport(options),
    "",
    await durabilityTable(options),
  ];
  // deno-lint-ignore no-console
  console.log(report.join("\n"));
  if (values.svg !== undefined) {
    await Deno.writeTextFile(values.svg, chartOf(targets, results, options));
    log(`Wrote ${values.svg}`);
  }
}

/** Parses `--compare NAME=HOST:PORT` (or `HOST:PORT`, named after itself). */
function parseCompare(text: string): Target {
  const match = /^(?:([^=]+)=)?(.+):(\d+)$/.exec(text);
  if (match === null) {
    throw new Error(`Cannot parse --compare '${text}': expected NAME=HOST:PORT or HOST:PORT`);
  }
  const [, name, hostname, port] = match;
  return { name: name ?? `${hostname}:${port}`, hostname: hostname!, port: Number(port) };
}

/**
 * Runs `load` against `target` with `pkgindex bench --json` in its own (pinned) process, and
 * when the server's process is known, reads its CPU time as the load generator announces that
 * the measured window opens and closes: CPU per request over exactly the requests counted.
 */
async function runLoad(target: Target, load: Load, options: Options): Promise<Measurement> {
  const command = benchCommand([
    "--host",
    target.hostname,
    "--port",
    String(target.port),
    "--packages",
    options.packages,
    "--duration",
    options.duration,
    "--warmup",
    options.warmup,
    ...load.flags,
  ]);
  const child = new Deno.Command(command[0]!, {
    args: command.slice(1),
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const serverCpu: number[] = [];
  let errors = "";
  const watching = (async () => {
    let partial = "";
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        if (line === WINDOW_OPEN || line === WINDOW_CLOSED) {
          if (target.pid !== undefined) serverCpu.push(cpuSeconds(target.pid));
        } else {
          errors += `${line}\n`;
        }
      }
    }
    errors += partial;
  })();
  const [stdout, status] = await Promise.all([
    new Response(child.stdout).text(),
    child.status,
    watching,
  ]);
  if (!status.success) {
    throw new Error(`The load '${load.name}' against ${target.name} failed: ${errors}`);
  }
  const result: BenchResult = JSON.parse(stdout).result;
  const cpuNsPerRequest = serverCpu.length === 2
    ? (serverCpu[1]! - serverCpu[0]!) * 1e9 / result.requests
    : undefined;
  return { ...result, cpuNsPerRequest };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The median over the runs of `pick` of the result of load `l` and target `t`. */
function medianOf(
  results: Measurement[][][],
  l: number,
  t: number,
  pick: (result: Measurement) => number,
): number {
  return median(results.map((run) => pick(run[l]![t]!)));
}

/**
 * The headline: the server CPU time per request of each server started here, and the ratio of
 * the ceiling's to pkgindex's (1 means pkgindex costs no more than the runtime's own reads and
 * writes), as the median of each run's ratio. Unlike a throughput ratio, it does not depend on
 * whether the client or the server was the bottleneck.
 */
function cpuTable(targets: Target[], results: Measurement[][][]): string {
  const servers = measured(targets);
  const ceiling = targets.findIndex((target) => target.name === "ceiling");
  const header = [
    "load",
    ...servers.map((target) => `${target.name} CPU ns/request`),
    "ceiling / pkgindex (runs)",
  ];
  const rows = LOADS.map((load, l) => [
    load.name,
    ...servers.map((target) =>
      format(medianOf(results, l, targets.indexOf(target), (r) => r.cpuNsPerRequest!))
    ),
    ratioCell(
      results.map((run) => run[l]![ceiling]!.cpuNsPerRequest! / run[l]![0]!.cpuNsPerRequest!),
    ),
  ]);
  return markdownTable(header, rows);
}

/**
 * Requests per second of every server, pkgindex's ratio to each other one, and the share of its
 * core the load generator used against each (median of the runs).
 */
function throughputTable(targets: Target[], results: Measurement[][][]): string {
  const header = [
    "load",
    ...targets.map((target) => `${target.name} req/s`),
    ...targets.slice(1).map((target) => `pkgindex / ${target.name} (runs)`),
    ...targets.map((target) => `client CPU vs ${target.name}`),
  ];
  const rows = LOADS.map((load, l) => [
    load.name,
    ...targets.map((_, t) => format(medianOf(results, l, t, (r) => r.requestsPerSecond))),
    ...targets.slice(1).map((_, i) =>
      ratioCell(
        results.map((run) => run[l]![0]!.requestsPerSecond / run[l]![i + 1]!.requestsPerSecond),
      )
    ),
    ...targets.map((_, t) =>
      `${Math.round(medianOf(results, l, t, (r) => r.clientCpuSeconds / r.seconds) * 100)}%`
    ),
  ]);
  return markdownTable(header, rows);
}

/** A median ratio followed by each run's, as `0.90 (0.92, 0.90, 0.86)`. */
function ratioCell(ratios: number[]): string {
  return `${fixed(median(ratios))} (${ratios.map(fixed).join(", ")})`;
}

/** `value` with two decimals; "n/a" when a server answered nothing in a window. */
function fixed(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : "n/a";
}

/**
 * One warning per load and server where the load generator saturated its core in some run:
 * the throughput there, and any ratio built on it, describes the client, not the server.
 */
function saturationWarnings(targets: Target[], results: Measurement[][][]): string[] {
  const warnings: string[] = [];
  for (const [l, load] of LOADS.entries()) {
    for (const [t, target] of targets.entries()) {
      const runs = results.flatMap((run, r) => clientSaturated(run[l]![t]!) ? [r + 1] : []);
      if (runs.length === 0) continue;
      warnings.push(
        `Warning: the load generator saturated its core in '${load.name}' against ` +
          `${target.name} (run ${runs.join(", ")}): that throughput, and its ratio, describe the ` +
          `client, not the server; compare CPU per request instead.`,
      );
    }
  }
  return warnings;
}

/** The targets whose CPU time is measured: the servers this script started. */
function measured(targets: Target[]): Target[] {
  return targets.filter((target) => target.pid !== undefined);
}

function latencyTable(targets: Target[], results: Measurement[][][]): string {
  const header = ["load", ...targets.map((target) => `${target.name} p50 / p99 / p99.9 / max µs`)];
  const rows = LOADS.map((load, l) => [
    load.name,
    ...targets.map((_, t) =>
      (["p50", "p99", "p999", "max"] as const)
        .map((key) => format(medianOf(results, l, t, (r) => r.latency[key])))
        .join(" / ")
    ),
  ]);
  return markdownTable(header, rows);
}

/**
 * The heap bytes pkgindex allocates per request under pipelined QUERYs of indexed names: a
 * server run with `--trace-gc-nvp` reports, at each garbage collection, the bytes allocated
 * since the previous one; their sum over the load, divided by the requests answered.
 */
async function allocationReport(options: Options): Promise<string> {
  const server = await startServerProcess(
    pinned("server", pkgindexCommand([], { v8Flags: `${SERVER_V8_FLAGS},--trace-gc-nvp` })),
  );
  let result: BenchResult;
  let allocated = 0;
  let collections = 0;
  try {
    const target = { name: "pkgindex", hostname: "127.0.0.1", port: server.port };
    await runLoad(target, { name: "warmup", flags: ["--duration", "1"] }, options);
    const before = server.output.length;
    result = await runLoad(target, LOADS[2]!, { ...options, warmup: "0" });
    for (const line of server.output.slice(before)) {
      const match = /"allocated":(\d+)/.exec(line);
      if (match === null) continue;
      allocated += Number(match[1]);
      collections++;
    }
  } finally {
    await server.stop();
  }
  const perRequest = allocated / result.requests;
  return `Heap allocated under ${LOADS[2]!.name}: ${format(allocated)} bytes in ` +
    `${collections} collections for ${format(result.requests)} requests, ` +
    `${perRequest.toFixed(2)} bytes per request.`;
}

/** The mixed load against pkgindex in memory only and with a data file in each sync mode. */
async function durabilityTable(options: Options): Promise<string> {
  const load = LOADS[1]!;
  const directory = `${REPO_ROOT}.tmp/bench-durability`;
  await Deno.mkdir(directory, { recursive: true });
  const variants: [string, string[]][] = [
    ["memory only", []],
    ["data, sync normal", ["--data", `${directory}/normal.db`, "--sync", "normal"]],
    ["data, sync full", ["--data", `${directory}/full.db`, "--sync", "full"]],
  ];
  const rates: number[][] = variants.map(() => []);
  try {
    for (let run = 0; run < options.runs; run++) {
      for (const [v, [name, flags]] of variants.entries()) {
        const permissions = [`--allow-read=${directory}`, `--allow-write=${directory}`];
        const server: ServerProcess = await startServerProcess(
          pinned("server", pkgindexCommand(flags, { permissions })),
        );
        try {
          const target = { name, hostname: "127.0.0.1", port: server.port };
          const result = await runLoad(target, load, options);
          log(`run ${run + 1}, ${load.name}, ${name}: ${result.requestsPerSecond} req/s`);
          rates[v]!.push(result.requestsPerSecond);
        } finally {
          await server.stop();
        }
      }
    }
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
  return markdownTable(
    [`${load.name}`, "req/s", "ratio to memory only"],
    variants.map(([name], v) => [
      name,
      format(median(rates[v]!)),
      median(rates[v]!.map((rate, run) => rate / rates[0]![run]!)).toFixed(2),
    ]),
  );
}

function chartOf(targets: Target[], results: Measurement[][][], options: Options): string {
  const cores = navigator.hardwareConcurrency;
  return renderChart({
    title: "pkgindex per CPU core, beside the ceiling" +
      (targets.length > 2 ? " and compared servers" : ""),
    subtitle: `${cores} cores, ${
      PINNING === undefined ? "unpinned" : "server and load generator pinned to separate cores"
    }; medians of ${options.runs} runs of ${options.duration} s; Deno ${Deno.version.deno}`,
    loads: LOADS.map((load) => load.name),
    servers: targets.map((target) => target.name),
    throughput: LOADS.map((_, l) =>
      targets.map((_, t) => medianOf(results, l, t, (r) => r.requestsPerSecond))
    ),
    latency: LOADS.map((_, l) =>
      targets.map((_, t) => ({
        p50: medianOf(results, l, t, (r) => r.latency.p50),
        p99: medianOf(results, l, t, (r) => r.latency.p99),
        p999: medianOf(results, l, t, (r) => r.latency.p999),
      }))
    ),
  });
}

function markdownTable(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
}

function format(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "n/a";
}

function log(message: string): void {
  // deno-lint-ignore no-console
  console.error(message);
}

if (import.meta.main) await runOrExit(main);
