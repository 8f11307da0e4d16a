/**
 * Helpers for tests that talk to a real server over TCP on 127.0.0.1.
 *
 * @module
 */

import { ReplyReader } from "../../lib/protocol/reply_reader.ts";
import { serve, type ServeOptions, type Server } from "../../lib/server/server.ts";
import { closeQuietly, writeAll } from "../../lib/util/io.ts";
import { createLogger, type Logger } from "../../lib/util/log.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A logger that keeps its lines for assertions instead of printing them. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, ...createLogger({ level: "debug", write: (line) => lines.push(line) }) };
}

/** For a callback that a test must never see called, such as `onDiverged`: throws `error`. */
export function failTest(error: Error): never {
  throw error;
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
  const client = await TestClient.connect(port);
  try {
    await client.send(input);
    await client.conn.closeWrite();
    return await client.readToEnd();
  } finally {
    client.close();
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

/** A connection that sends text and reads back reply lines exactly as they arrive. */
export class TestClient {
  readonly conn: Deno.TcpConn;
  readonly #reader: ReplyReader;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.#reader = new ReplyReader(conn);
  }

  /** Connects to 127.0.0.1 on `port`. */
  static async connect(port: number): Promise<TestClient> {
    return new TestClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Sends `text` as is. */
  async send(text: string | Uint8Array): Promise<void> {
    await writeAll(this.conn, typeof text === "string" ? encoder.encode(text) : text);
  }

  /** Reads the next `count` reply lines and returns their text, each with its `\n`. */
  async readLines(count: number): Promise<string> {
    let text = "";
    for (let i = 0; i < count; i++) {
      if (await this.#reader.next() === null) {
        throw new Error(`Connection ended after ${i} of ${count} lines: '${text}'`);
      }
      text += this.#reader.lastLine + "\n";
    }
    return text;
  }

  /** Reads one reply line, e.g. `"OK\n"`. */
  readLine(): Promise<string> {
    return this.readLines(1);
  }

  /** Sends one request line and returns its reply line. */
  async request(line: string): Promise<string> {
    await this.send(line + "\n");
    return await this.readLine();
  }

  /** Reads until the server closes the connection and returns everything not read yet. */
  readToEnd(): Promise<string> {
    return this.#reader.readToEnd();
  }

  /** Closes the connection (quietly, if the server already did). */
  close(): void {
    closeQuietly(this.conn);
  }
}

/** The absolute path of main.ts, to run it from any working directory. */
export const MAIN: string = new URL("../../main.ts", import.meta.url).pathname;

/**
 * The flags `deno task start` runs main.ts with (V8 flags and permissions), read from deno.json:
 * tests start the server as users do.
 */
export const START_FLAGS: string[] = (() => {
  const config = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)));
  const words: string[] = config.tasks.start.split(" ");
  return words.slice(words.indexOf("run") + 1, words.indexOf("main.ts"));
})();

/** The absolute path of deno.json, for `deno task --config`. */
export const CONFIG: string = new URL("../../deno.json", import.meta.url).pathname;

/**
 * The command that runs main.ts with `flags` and the permissions of `deno task start`, for
 * {@linkcode startServerProcess}.
 */
export function serverCommand(flags: readonly string[] = []): string[] {
  return [Deno.execPath(), "run", ...START_FLAGS, MAIN, ...flags];
}

/**
 * The command that runs main.ts with a data file at `path` and the permissions of
 * `deno task start`; add flags after it.
 */
export function durableServerCommand(path: string): string[] {
  return serverCommand(["--data", path]);
}

/** A pkgindex server running as a child process, as a user would start it. */
export interface ServerProcess {
  /** The protocol port (it was started with `--port 0`). */
  port: number;
  /** The port of the HTTP listener, when started with `--http-port` (or `--metrics-port`). */
  httpPort: number | undefined;
  /** The child process. */
  child: Deno.ChildProcess;
  /** Resolves to everything logged so far once the log matches `pattern`. */
  waitForLog(pattern: RegExp): Promise<string>;
  /** Sends SIGTERM, then does what {@linkcode ServerProcess.finish} does. */
  stop(): Promise<{ code: number; signal: Deno.Signal | null; log: string }>;
  /** Waits for the process to exit and returns its exit code and everything it logged. */
  finish(): Promise<{ code: number; signal: Deno.Signal | null; log: string }>;
}

/**
 * Starts `command` (a program and its arguments: `[Deno.execPath(), "run", ...START_FLAGS, MAIN]`
 * or a compiled binary) with `--host 127.0.0.1 --port 0` added, and resolves once it logs that
 * it listens (and, when `command` includes `--http-port` or `--metrics-port`, where its HTTP
 * listener is).
 * `options.env` adds variables to the environment it inherits.
 */
export async function startServerProcess(
  command: string[],
  options: { env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  const [program, ...args] = command;
  const child = new Deno.Command(program!, {
    args: [...args, "--host", "127.0.0.1", "--port", "0"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: options.env ?? {},
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  const waitForLog = async (pattern: RegExp) => {
    while (!pattern.test(log)) {
      const { value, done } = await stderr.read();
      if (done) {
        const status = await child.status;
        throw new Error(`Server exited with code ${status.code} before logging ${pattern}: ${log}`);
      }
      log += value;
    }
    return log;
  };
  const listening = /listening on 127\.0\.0\.1:(\d+)/;
  const http = /over HTTP on [^\s]+:(\d+)/;
  const wantsHttp = command.includes("--http-port") || command.includes("--metrics-port");
  await waitForLog(listening);
  if (wantsHttp) await waitForLog(http);
  const finish = async () => {
    for (let chunk = await stderr.read(); !chunk.done; chunk = await stderr.read()) {
      log += chunk.value;
    }
    const status = await child.status;
    return { code: status.code, signal: status.signal, log };
  };
  return {
    port: Number(listening.exec(log)![1]),
    httpPort: wantsHttp ? Number(http.exec(log)![1]) : undefined,
    child,
    waitForLog,
    finish,
    stop() {
      child.kill("SIGTERM");
      return finish();
    },
  };
}

/** Options for {@linkcode runMain}. */
export interface RunMainOptions {
  /** Deno permission flags. Default: those of `deno task start` ({@linkcode START_FLAGS}). */
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
    args: ["run", ...(options.permissions ?? START_FLAGS), MAIN, ...args],
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
