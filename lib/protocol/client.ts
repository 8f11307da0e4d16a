/**
 * A small protocol client for `pkgindex send`, health checks and smoke tests: it sends request
 * lines over one connection and checks that each reply is `OK`, `FAIL` or `ERROR`.
 *
 * @module
 */

import { closeQuietly, writeAll } from "../util/io.ts";
import { errorMessage } from "../util/errors.ts";
import { formatHostPort } from "../util/net.ts";
import { REPLIES, type Reply } from "./replies.ts";
import { OTHER_REPLY, ReplyReader } from "./reply_reader.ts";

/** Where {@linkcode send} connects. */
export interface SendOptions {
  /** The server's host name or address. */
  hostname: string;
  /** The server's TCP port. */
  port: number;
}

/** The longest reply line quoted in an error; a longer one is reported only as too long. */
const MAX_REPLY_BYTES = 64;

const encoder = new TextEncoder();

/** How far the writing half of {@linkcode send} got. */
interface WriteState {
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
 * import assert from "node:assert/strict";
 * import { send } from "./client.ts";
 * import { serve } from "../server/server.ts";
 * import { createLogger } from "../util/log.ts";
 *
 * const server = serve({ hostname: "127.0.0.1", port: 0, logger: createLogger({ level: "error" }) });
 * const replies = [];
 * for await (const batch of send([["INDEX|gmp|", "QUERY|gmp|"]], { hostname: "127.0.0.1", port: server.addr.port })) {
 *   replies.push(...batch);
 * }
 * assert.deepEqual(replies, ["OK", "OK"]);
 * await server.shutdown();
 * ```
 */
export async function* send(
  messages: AsyncIterable<readonly string[]> | Iterable<readonly string[]>,
  options: SendOptions,
): AsyncGenerator<Reply[], void, void> {
  const address = formatHostPort(options.hostname, options.port);
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: options.hostname, port: options.port });
  } catch (error) {
    throw new Error(`Cannot connect to ${address}: ${errorMessage(error)}`, { cause: error });
  }
  const state: WriteState = { sent: 0, writing: true, failure: undefined };
  const writing = writeMessages(messages, { conn, state, address });
  const reader = new ReplyReader(conn, { bufferBytes: MAX_REPLY_BYTES });
  let received = 0;
  try {
    while (true) {
      let more;
      try {
        more = await reader.fill();
      } catch (error) {
        throw state.failure ??
          new Error(`Cannot read replies from ${address}: ${errorMessage(error)}`, {
            cause: error,
          });
      }
      if (!more) break;
      const replies: Reply[] = [];
      for (let code = reader.nextBuffered(); code !== -1; code = reader.nextBuffered()) {
        if (code === OTHER_REPLY) {
          const got = reader.lastLineTooLong
            ? `a line over ${MAX_REPLY_BYTES} bytes`
            : JSON.stringify(reader.lastLine);
          throw new Error(
            `Cannot use the reply from ${address}: expected OK, FAIL or ERROR, got ${got}`,
          );
        }
        replies.push(REPLIES[code]!);
      }
      received += replies.length;
      if (received > state.sent) {
        throw new Error(`Cannot use the replies from ${address}: more replies than requests sent`);
      }
      if (replies.length > 0) yield replies;
      if (!state.writing && received === state.sent) break;
    }
    if (state.failure !== undefined) throw state.failure;
    if (state.writing || received < state.sent) {
      throw new Error(
        `Cannot read every reply: ${address} closed the connection after ${received} of ${state.sent}`,
      );
    }
    await writing;
  } finally {
    closeQuietly(conn);
  }
}

/**
 * Writes every batch and then closes the write side. Never rejects: a failure is recorded in
 * `state` and closes the connection, which ends the reading side too.
 */
async function writeMessages(
  messages: AsyncIterable<readonly string[]> | Iterable<readonly string[]>,
  context: { conn: Deno.TcpConn; state: WriteState; address: string },
): Promise<void> {
  const { conn, state, address } = context;
  try {
    for await (const batch of messages) {
      if (batch.length === 0) continue;
      state.sent += batch.length;
      try {
        await writeAll(conn, encoder.encode(batch.join("\n") + "\n"));
      } catch (error) {
        throw new Error(`Cannot send requests to ${address}: ${errorMessage(error)}`, {
          cause: error,
        });
      }
    }
    state.writing = false;
    await conn.closeWrite();
  } catch (error) {
    state.failure = error instanceof Error ? error : new Error(errorMessage(error));
    closeQuietly(conn);
  }
}
