/**
 * Starting a server in its own process for the benchmarks, pinned to a core when the machine
 * allows it, and reading its memory use.
 *
 * @module
 */

import { freePort } from "../tests/support/free_port.ts";

/** A server running in a child process. */
export interface ServerProcess {
  /** The port it listens on (127.0.0.1). */
  port: number;
  /** Its process id. */
  pid: number;
  /** What it wrote to standard error up to and including the line saying it listens. */
  startupLog: string;
  /** Every line it writes to standard output (such as V8's `--trace-gc` lines), as it arrives. */
  output: string[];
  /** Stops it with SIGTERM and waits for it to exit. */
  stop(): Promise<void>;
}

/** The repository root, for running `main.ts` and `bench/ceiling.ts` from anywhere. */
export const REPO_ROOT: string = new URL("..", import.meta.url).pathname;

/**
 * The cores to pin to, when the machine has two or more and `taskset` (util-linux) is there:
 * the server on one, the load generator on the other, so that a ratio measures work per core
 * rather than who leaves the other more CPU. `undefined` means unpinned.
 */
export const PINNING: { server: string; client: string } | undefined = await (async () => {
  if (navigator.hardwareConcurrency < 2) return undefined;
  try {
    const probe = await new Deno.Command("taskset", { args: ["-c", "0", "true"] }).output();
    return probe.success ? { server: "1", client: "0" } : undefined;
  } catch {
    return undefined;
  }
})();

/** `command` run on the cores of `role` (see {@linkcode PINNING}), or as it is when unpinned. */
export function pinned(role: "server" | "client", command: string[]): string[] {
  return PINNING === undefined ? command : ["taskset", "-c", PINNING[role], ...command];
}

/**
 * Pins every thread of this process (and the workers it starts later) to the cores of `role`,
 * for a benchmark that measures from inside its own process; does nothing when unpinned.
 */
export async function pinThisProcess(role: "server" | "client"): Promise<void> {
  if (PINNING === undefined) return;
  const args = ["-a", "-c", "-p", PINNING[role], String(Deno.pid)];
  const output = await new Deno.Command("taskset", { args, stdout: "null" }).output();
  if (!output.success) throw new Error(`Cannot pin this process with taskset ${args.join(" ")}`);
}

/**
 * Runs `command` (a server that logs `listening on HOST:PORT` to standard error) and resolves
 * once it is listening. What it logs later is passed through; what it prints on standard output
 * is collected in `output`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServerProcess } from "./server_process.ts";
 *
 * const server = await startServerProcess(["deno", "run", "--allow-net", "bench/ceiling.ts"]);
 * assert.ok(server.port > 0);
 * await server.stop();
 * ```
 */
export async function startServerProcess(command: string[]): Promise<ServerProcess> {
  const [program, ...args] = command;
  const child = new Deno.Command(program!, {
    args,
    cwd: REPO_ROOT,
    stderr: "piped",
    stdout: "piped",
  }).spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let port: number | undefined;
  while (port === undefined) {
    const { value, done } = await lines.read();
    if (done) {
      await child.status;
      throw new Error(
        `Cannot start '${command.join(" ")}': it exited saying ${JSON.stringify(text)}`,
      );
    }
    text += value;
    const match = text.match(/listening on [^\s]+:(\d+)/);
    if (match !== null) port = Number(match[1]);
  }
  const output: string[] = [];
  const collecting = Promise.all([
    (async () => {
      while (true) {
        const { value, done } = await lines.read();
        if (done) return;
        Deno.stderr.writeSync(new TextEncoder().encode(value));
      }
    })(),
    (async () => {
      let partial = "";
      for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
        const pieces = (partial + text).split("\n");
        partial = pieces.pop()!;
        output.push(...pieces);
      }
    })(),
  ]);
  return {
    port,
    pid: child.pid,
    startupLog: text,
    output,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      await child.status;
      await collecting;
    },
  };
}

const CONFIG = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));

/**
 * The V8 flags `deno task start` and the compiled binary run pkgindex with, read from deno.json
 * so that what is measured is what is shipped.
 */
export const SERVER_V8_FLAGS: string = CONFIG.tasks.start.split(" ").find((word: string) =>
  word.startsWith("--v8-flags=")
);

/**
 * The command that runs the pkgindex server on 127.0.0.1 and a free port, with `extra` server
 * flags and `permissions` added to the network one; `v8Flags` replace the shipped ones.
 */
export function pkgindexCommand(
  extra: string[] = [],
  options: { permissions?: string[]; v8Flags?: string } = {},
): string[] {
  return [
    "deno",
    "run",
    options.v8Flags ?? SERVER_V8_FLAGS,
    "--allow-net=127.0.0.1",
    "--allow-env",
    ...(options.permissions ?? []),
    "main.ts",
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    ...extra,
  ];
}

/**
 * The command that runs the ceiling server (`bench/ceiling.ts`: the runtime's own reads and
 * writes, `OK` to every line, no parsing and no index) on 127.0.0.1 and a free port.
 */
export function ceilingCommand(): string[] {
  return ["deno", "run", "--allow-net=127.0.0.1", "bench/ceiling.ts"];
}

/**
 * Starts the pkgindex server (see {@linkcode pkgindexCommand}) on the server's core with its HTTP
 * listener on `httpPort`, a port that was free a moment before.
 */
export async function startPkgindexWithHttp(): Promise<ServerProcess & { httpPort: number }> {
  const httpPort = freePort();
  const server = await startServerProcess(
    pinned("server", pkgindexCommand(["--http-port", String(httpPort)])),
  );
  return { ...server, httpPort };
}

/**
 * The command that runs `pkgindex bench --json` with `flags` (the target, the load) on the load
 * generator's core, from the repository root (see {@linkcode REPO_ROOT}).
 */
export function benchCommand(flags: readonly string[]): string[] {
  return pinned("client", [
    "deno",
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-env",
    "main.ts",
    "bench",
    "--json",
    ...flags,
  ]);
}

/**
 * The resident memory of process `pid` in bytes, from `ps` (Deno reads `/proc/<pid>` only with
 * every permission, `ps` needs just `--allow-run=ps`).
 */
export async function residentBytes(pid: number): Promise<number> {
  const output = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  const kib = Number(new TextDecoder().decode(output.stdout).trim());
  if (!output.success || !Number.isInteger(kib)) {
    throw new Error(`Cannot read the resident memory of process ${pid} with ps`);
  }
  return kib * 1024;
}
