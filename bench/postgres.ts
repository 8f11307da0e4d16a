/**
 * `deno task bench:postgres`: what keeping the index in PostgreSQL costs. It starts a throwaway
 * PostgreSQL 15 cluster, a memory-only server, and a leader plus a standby on the cluster; runs
 * `pkgindex bench` (QUERY ping-pong, then the mixed load) against the memory-only server and the
 * leader; samples the standby's lag during the mixed load; and times re-INDEX requests one at a
 * time on one connection (each waits for its own commit): the commit latency a client sees.
 *
 * Run: `deno task bench:postgres [--synthetic N] [--duration S] [--commits N]`. The machine this
 * was written on is shared: take its figures as rough.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { BenchResult } from "../lib/tools/load_generator.ts";
import { freePort } from "../tests/support/free_port.ts";
import {
  DURABLE_SETTINGS,
  findPostgres,
  startPostgresCluster,
} from "../tests/support/postgres_cluster.ts";
import {
  benchCommand,
  pinned,
  pkgindexCommand,
  REPO_ROOT,
  startServerProcess,
} from "./server_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    synthetic: { type: "string", default: "10000" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    commits: { type: "string", default: "2000" },
  },
});

const postgres = await findPostgres();
if (postgres.ignore) Deno.exit(1);
const cluster = await startPostgresCluster(postgres, { settings: DURABLE_SETTINGS });
try {
  const url = await cluster.createDatabase("bench");
  const memory = await startServerProcess(pinned("server", pkgindexCommand()));
  const leader = await startServerProcess(
    pinned("server", pkgindexCommand(["--data", url])),
  );
  const standbyHttp = freePort();
  const standby = await startServerProcess(
    pkgindexCommand(["--data", url, "--http-port", String(standbyHttp)]),
  );
  try {
    const rows: string[] = [];
    const ratios: string[] = [];
    let standbyLag: number[] = [];
    for (const mix of ["query", "mixed"] as const) {
      const memoryResult = await load(memory.port, mix);
      const sampling = mix === "mixed" ? sampleLag(standbyHttp) : undefined;
      const leaderResult = await load(leader.port, mix);
      if (sampling !== undefined) standbyLag = await sampling.stop();
      for (
        const [name, result] of [["memory", memoryResult], ["postgres", leaderResult]] as const
      ) {
        rows.push(
          `${mix.padEnd(6)} ${name.padEnd(9)} ${
            Math.round(result.requestsPerSecond).toString().padStart(8)
          } req/s  p50 ${result.latency.p50} µs  p99 ${result.latency.p99} µs  unexpected ${result.unexpected}`,
        );
      }
      ratios.push(
        `${mix}: postgres/memory = ${
          (leaderResult.requestsPerSecond / memoryResult.requestsPerSecond).toFixed(2)
        }`,
      );
    }
    const commits = await timeCommits(leader.port, Number(values.commits));
    // deno-lint-ignore no-console
    console.log(
      [
        `ping-pong, 50 connections, ${values.synthetic} synthetic packages, ${values.duration} s:`,
        ...rows,
        ...ratios,
        `commit latency seen by one client (${commits.length} re-INDEX, one at a time): ` +
        `p50 ${percentile(commits, 0.5).toFixed(2)} ms, p99 ${
          percentile(commits, 0.99).toFixed(2)
        } ms`,
        `standby lag during the mixed load (${standbyLag.length} samples of /v1/info): ` +
        `p50 ${(percentile(standbyLag, 0.5) * 1000).toFixed(1)} ms, p99 ${
          (percentile(standbyLag, 0.99) * 1000).toFixed(1)
        } ms`,
      ].join("\n"),
    );
  } finally {
    await Promise.all([memory.stop(), leader.stop(), standby.stop()]);
  }
} finally {
  await cluster.stop();
}

/** Runs `pkgindex bench --json` with `mix` against the server on `port`, pinned. */
async function load(port: number, mix: "query" | "mixed"): Promise<BenchResult> {
  const command = benchCommand([
    "--port",
    String(port),
    "--synthetic",
    values.synthetic,
    "--duration",
    values.duration,
    "--warmup",
    values.warmup,
    "--mix",
    mix,
  ]);
  const output = await new Deno.Command(command[0]!, {
    args: command.slice(1),
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`pkgindex bench failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(output.stdout)).result;
}

/** Polls the standby's `/v1/info` every 20 ms until stopped; resolves to its lag samples. */
function sampleLag(httpPort: number): { stop: () => Promise<number[]> } {
  const samples: number[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const info = await (await fetch(`http://127.0.0.1:${httpPort}/v1/info`)).json();
      samples.push(info.replication.lagSeconds);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return samples;
    },
  };
}

/** Sends `count` re-INDEX requests one at a time on one connection; their latencies in ms. */
async function timeCommits(port: number, count: number): Promise<number[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const encoder = new TextEncoder();
  const reply = new Uint8Array(64);
  const latencies: number[] = [];
  try {
    await conn.write(encoder.encode("INDEX|bench-commit|\n"));
    await conn.read(reply);
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      await conn.write(encoder.encode(`REMOVE|bench-commit|\nINDEX|bench-commit|\n`));
      let received = 0;
      while (received < 6) {
        const n = await conn.read(reply.subarray(received));
        if (n === null) throw new Error("The leader closed the connection");
        received += n;
      }
      latencies.push(performance.now() - started);
    }
  } finally {
    conn.close();
  }
  return latencies;
}

function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}
