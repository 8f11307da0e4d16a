/**
 * A small protocol client for `pkgindex send`, health checks and smoke tests: it sends request
 * lines over one connection and checks that each reply is `OK`, `FAIL` or `ERROR`.
 *
 * @module
 */

import { type ByteSource, readLineBatches } from "./connection_reader.ts";
import { OVERLONG_LINE } from "./line_splitter.ts";
import type { Reply } from "./protocol.ts";
import { errorMessage } from "./errors.ts";

/** Where {@linkcode send} connects. */
export interface SendOptions {
  /** The server's host name or address. */
  hostname: string;
  /** The server's TCP port. */
  port: number;
}

/** The longest reply line shown in an error; longer ones are reported only as too long. */
const MAX_REPLY_BYTES = 64;

const REPLIES: ReadonlySet<string> = new Set<Reply>(["OK", "FAIL", "ERROR"]);

const encoder = new TextEncoder();

/** How far the writing half of {@linkcode send} got. */
interface Progress {
  /** Request lines handed to the connection so far. */
  sent: number;
  /** False once every batch is sent and the connection's write side is being closed. */
  writing: boolean;
  /** Why writing stopped early, if it did. */
  failure: Error | undefined;
}

/**
 * Connects to a pkgindex server, sends each batch of `messages` (request lines without their
 * `\n`, one write per batch) and yields the replies as they arrive, while later batches are still
 * being sent: a long input never waits on a server that waits on us. Ends once every line got a
 * reply. Throws an error naming the server when it cannot be reached, closes the connection
 * before answering everything, or sends anything but `OK`, `FAIL` or `ERROR` lines.
 *
 * @example
 * ```ts
 * import { send } from "./client.ts";
 *
 * for await (const replies of send([["INDEX|gmp|", "QUERY|gmp|"]], { hostname: "127.0.0.1", port: 8080 })) {
 *   console.log(replies); // ["OK", "OK"]
 * }
 * ```
 */
export async function* send(
  messages: AsyncIterable<readonly string[]> | Iterable<readonly string[]>,
  options: SendOptions,
): AsyncGenerator<Reply[], void, void> {
  const address = `${options.hostname}:${options.port}`;
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: options.hostname, port: options.port });
  } catch (error) {
    throw new Error(`Cannot connect to ${address}: ${errorMessage(error)}`, { cause: error });
  }
  const progress: Progress = { sent: 0, writing: true, failure: undefined };
  const writing = writeMessages(messages, { conn, progress, address });
  const batches = readLineBatches(conn, { maxLineBytes: MAX_REPLY_BYTES });
  let received = 0;
  try {
    while (true) {
      let batch;
      try {
        batch = await batches.next();
      } catch (error) {
        throw progress.failure ??
          new Error(`Cannot read replies from ${address}: ${errorMessage(error)}`, {
            cause: error,
          });
      }
      if (batch.done) break;
      const replies = batch.value.map((line) => checkReply(line, address));
      received += replies.length;
      if (received > progress.sent) {
        throw new Error(`Cannot use the replies from ${address}: more replies than requests sent`);
      }
      if (replies.length > 0) yield replies;
      if (!progress.writing && received === progress.sent) break;
    }
    if (progress.failure !== undefined) throw progress.failure;
    if (progress.writing || received < progress.sent) {
      throw new Error(
        `Cannot read every reply: ${address} closed the connection after ${received} of ${progress.sent}`,
      );
    }
    await writing;
  } finally {
    closeQuietly(conn);
  }
}

/**
 * Writes every batch and then closes the write side. Never rejects: a failure is recorded in
 * `progress` and closes the connection, which ends the reading side too.
 */
async function writeMessages(
  messages: AsyncIterable<readonly string[]> | Iterable<readonly string[]>,
  context: { conn: Deno.TcpConn; progress: Progress; address: string },
): Promise<void> {
  const { conn, progress, address } = context;
  try {
    for await (const batch of messages) {
      if (batch.length === 0) continue;
      progress.sent += batch.length;
      const bytes = encoder.encode(batch.join("\n") + "\n");
      try {
        let written = 0;
        while (written < bytes.length) written += await conn.write(bytes.subarray(written));
      } catch (error) {
        throw new Error(`Cannot send requests to ${address}: ${errorMessage(error)}`, {
          cause: error,
        });
      }
    }
    progress.writing = false;
    await conn.closeWrite();
  } catch (error) {
    progress.failure = error instanceof Error ? error : new Error(errorMessage(error));
    closeQuietly(conn);
  }
}

function checkReply(line: string | typeof OVERLONG_LINE, address: string): Reply {
  if (line !== OVERLONG_LINE && REPLIES.has(line)) return line as Reply;
  const got = line === OVERLONG_LINE
    ? `a line over ${MAX_REPLY_BYTES} bytes`
    : JSON.stringify(line);
  throw new Error(`Cannot use the reply from ${address}: expected OK, FAIL or ERROR, got ${got}`);
}

/**
 * Splits what `source` yields (standard input, say) into batches of message lines: one batch per
 * read, without the `\n` and one `\r` before it. A last line without `\n` is a message too.
 *
 * @example
 * ```ts
 * import { readMessages } from "./client.ts";
 *
 * for await (const batch of readMessages(Deno.stdin)) console.log(batch); // ["QUERY|gmp|", ...]
 * ```
 */
export async function* readMessages(source: ByteSource): AsyncGenerator<string[], void, void> {
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(64 * 1024);
  let partial = "";
  while (true) {
    const count = await source.read(buffer);
    if (count === null) break;
    const lines = (partial + decoder.decode(buffer.subarray(0, count), { stream: true }))
      .split("\n");
    partial = lines.pop()!;
    yield lines.map(withoutCarriageReturn);
  }
  partial += decoder.decode();
  if (partial !== "") yield [withoutCarriageReturn(partial)];
}

function withoutCarriageReturn(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed by a failed write. Nothing left to release.
  }
}
