/**
 * Starting a server in its own process for the benchmarks, so the load client and the server
 * each get a core, and reading its memory use.
 *
 * @module
 */

/** A server running in a child process. */
export interface ServerProcess {
  /** The port it listens on (127.0.0.1). */
  port: number;
  /** Its process id. */
  pid: number;
  /** What it wrote to standard error up to and including the line saying it listens. */
  startupLog: string;
  /** Stops it with SIGTERM and waits for it to exit. */
  stop(): Promise<void>;
}

/** The repository root, for running `main.ts` and `bench/ceiling.ts` from anywhere. */
export const REPO_ROOT: string = new URL("..", import.meta.url).pathname;

/**
 * Runs `deno <args>` (a server that logs `listening on HOST:PORT` to standard error) and resolves
 * once it is listening. Its later standard error is passed through.
 *
 * @example
 * ```ts
 * import { startServerProcess } from "./server_process.ts";
 *
 * const server = await startServerProcess(["run", "--allow-net", "bench/ceiling.ts"]);
 * console.log(server.port);
 * await server.stop();
 * ```
 */
export async function startServerProcess(args: string[]): Promise<ServerProcess> {
  const child = new Deno.Command("deno", { args, cwd: REPO_ROOT, stderr: "piped", stdout: "null" })
    .spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let port: number | undefined;
  while (port === undefined) {
    const { value, done } = await lines.read();
    if (done) {
      await child.status;
      throw new Error(
        `Cannot start 'deno ${args.join(" ")}': it exited saying ${JSON.stringify(text)}`,
      );
    }
    text += value;
    const match = text.match(/listening on [^\s]+:(\d+)/);
    if (match !== null) port = Number(match[1]);
  }
  const passThrough = (async () => {
    const encoder = new TextEncoder();
    while (true) {
      const { value, done } = await lines.read();
      if (done) return;
      Deno.stderr.writeSync(encoder.encode(value));
    }
  })();
  return {
    port,
    pid: child.pid,
    startupLog: text,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      await child.status;
      await passThrough;
    },
  };
}

/**
 * The V8 flags `deno task start` and the compiled binary run pkgindex with, read from deno.json
 * so that what is measured is what is shipped.
 */
const SERVER_V8_FLAGS: string[] = JSON.parse(
  Deno.readTextFileSync(new URL("../deno.json", import.meta.url)),
).tasks.start.split(" ").filter((word: string) => word.startsWith("--v8-flags="));

/**
 * The pkgindex server's arguments for {@linkcode startServerProcess}: 127.0.0.1, a free port,
 * then `extra` server flags; `permissions` are added to the network one.
 */
export function pkgindexArgs(extra: string[] = [], permissions: string[] = []): string[] {
  return [
    "run",
    ...SERVER_V8_FLAGS,
    "--allow-net=127.0.0.1",
    ...permissions,
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
