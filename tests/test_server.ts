/**
 * Helpers for tests that talk to a real server over TCP on 127.0.0.1.
 *
 * @module
 */

import { createLogger, type Logger } from "../lib/log.ts";
import { serve, type ServeOptions, type Server } from "../lib/server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A logger that keeps its lines for assertions instead of printing them. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, ...createLogger({ level: "debug", write: (line) => lines.push(line) }) };
}

/** Starts a server on an ephemeral port of 127.0.0.1, runs `body`, and always shuts it down. */
export async function withServer(
  options: ServeOptions,
  body: (server: Server) => Promise<void>,
): Promise<void> {
  const server = serve({ logger: recordingLogger(), ...options, hostname: "127.0.0.1", port: 0 });
  try {
    await body(server);
  } finally {
    await server.shutdown();
  }
}

/**
 * Sends `input` on a fresh connection, half-closes it, and returns every byte the server sent
 * back before closing: the exact reply stream for that input.
 */
export async function exchange(port: number, input: string | Uint8Array): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, typeof input === "string" ? encoder.encode(input) : input);
    await conn.closeWrite();
    return decoder.decode(await readAll(conn));
  } finally {
    conn.close();
  }
}

/**
 * The requests that index a chain `w0 ← w1 ← … ← w(length-1)`: re-indexing `w0` with a
 * dependency on the last one then walks the whole chain to find the cycle it would close.
 */
export function chainRequests(length: number): string {
  let requests = "INDEX|w0|\n";
  for (let i = 1; i < length; i++) requests += `INDEX|w${i}|w${i - 1}\n`;
  return requests;
}

/** A connection that sends text and reads back replies, buffering what arrives. */
export class TestClient {
  readonly conn: Deno.TcpConn;
  #received = "";
  #buffer = new Uint8Array(64 * 1024);

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects to 127.0.0.1 on `port`. */
  static async connect(port: number): Promise<TestClient> {
    return new TestClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Sends `text` as is. */
  async send(text: string | Uint8Array): Promise<void> {
    await writeAll(this.conn, typeof text === "string" ? encoder.encode(text) : text);
  }

  /** Reads exactly `length` characters of reply text, failing if the connection ends first. */
  async read(length: number): Promise<string> {
    while (this.#received.length < length) await this.#fill();
    const text = this.#received.slice(0, length);
    this.#received = this.#received.slice(length);
    return text;
  }

  /** Reads one reply line, e.g. `"OK\n"`. */
  async readLine(): Promise<string> {
    let end = this.#received.indexOf("\n");
    while (end === -1) {
      await this.#fill();
      end = this.#received.indexOf("\n");
    }
    return await this.read(end + 1);
  }

  /** Sends one request line and returns its reply line. */
  async request(line: string): Promise<string> {
    await this.send(line + "\n");
    return await this.readLine();
  }

  /** Reads until the server closes the connection and returns everything not read yet. */
  async readToEnd(): Promise<string> {
    const rest = this.#received + decoder.decode(await readAll(this.conn));
    this.#received = "";
    return rest;
  }

  /** Closes the connection (quietly, if the server already did). */
  close(): void {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  async #fill(): Promise<void> {
    const n = await this.conn.read(this.#buffer);
    if (n === null) throw new Error(`Connection ended after '${this.#received}'`);
    this.#received += decoder.decode(this.#buffer.subarray(0, n));
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  while (true) {
    const n = await conn.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
  }
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return all;
}

/** The absolute path of main.ts, to run it from any working directory. */
export const MAIN: string = new URL("../main.ts", import.meta.url).pathname;

/**
 * The command that runs main.ts with a data file at `path`, allowed to read and write only in
 * `directory`; add flags after it.
 */
export function durableServerCommand(directory: string, path: string): string[] {
  return [
    Deno.execPath(),
    "run",
    "--allow-net",
    `--allow-read=${directory}`,
    `--allow-write=${directory}`,
    MAIN,
    "--data",
    path,
  ];
}

/** A pkgindex server running as a child process, as a user would start it. */
export interface ServerProcess {
  /** The protocol port (it was started with `--port 0`). */
  port: number;
  /** The HTTP port of `/metrics` and `/healthz`, when started with `--metrics-port`. */
  metricsPort: number | undefined;
  /** The child process. */
  child: Deno.ChildProcess;
  /** Sends SIGTERM, then does what {@linkcode ServerProcess.finish} does. */
  stop(): Promise<{ code: number; signal: Deno.Signal | null; log: string }>;
  /** Waits for the process to exit and returns its exit code and everything it logged. */
  finish(): Promise<{ code: number; signal: Deno.Signal | null; log: string }>;
}

/**
 * Starts `command` (a program and its arguments: `[Deno.execPath(), "run", "--allow-net", MAIN]`
 * or a compiled binary) with `--host 127.0.0.1 --port 0` added, and resolves once it logs that
 * it listens (and, when `command` includes `--metrics-port`, where its metrics are served).
 */
export async function startServerProcess(command: string[]): Promise<ServerProcess> {
  const [program, ...args] = command;
  const child = new Deno.Command(program!, {
    args: [...args, "--host", "127.0.0.1", "--port", "0"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const listening = /listening on 127\.0\.0\.1:(\d+)/;
  const metrics = /\/healthz on 127\.0\.0\.1:(\d+)/;
  const wantsMetrics = command.includes("--metrics-port");
  let log = "";
  while (!listening.test(log) || (wantsMetrics && !metrics.test(log))) {
    const { value, done } = await stderr.read();
    if (done) {
      const status = await child.status;
      throw new Error(`Server exited with code ${status.code} before listening: ${log}`);
    }
    log += value;
  }
  const finish = async () => {
    for (let chunk = await stderr.read(); !chunk.done; chunk = await stderr.read()) {
      log += chunk.value;
    }
    const status = await child.status;
    return { code: status.code, signal: status.signal, log };
  };
  return {
    port: Number(listening.exec(log)![1]),
    metricsPort: wantsMetrics ? Number(metrics.exec(log)![1]) : undefined,
    child,
    finish,
    stop() {
      child.kill("SIGTERM");
      return finish();
    },
  };
}

/** Options for {@linkcode runMain}. */
export interface RunMainOptions {
  /** Deno permission flags. Default: `--allow-net` only. */
  permissions?: string[];
  /** Text for standard input. Default: none. */
  stdin?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** Runs `deno run main.ts ...args` to completion and returns its exit code and output. */
export async function runMain(
  args: string[],
  options: RunMainOptions = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...(options.permissions ?? ["--allow-net"]), MAIN, ...args],
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: options.env ?? {},
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
