/**
 * The ceiling: the fastest straightforward Deno server for this protocol, with no parsing and no
 * index. It reads into a buffer, counts `\n`, and answers `OK\n` for each in one write. Whatever
 * rate a client reaches against it is the most any Deno server could reach with that client;
 * `deno task bench` reports pkgindex as a fraction of it.
 *
 * Run: `deno run --allow-net=127.0.0.1 bench/ceiling.ts [--port N]` (0, the default, picks a free
 * port; the chosen one is logged). SIGINT or SIGTERM stops it.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { closeQuietly, writeAll } from "../lib/util/io.ts";

/** The read buffer: as large as pkgindex's largest, so both read a pipelining client in bulk. */
const BUFFER_BYTES = 64 * 1024;

/** `OK\n` repeated for a full buffer of one-byte lines, so any reply is one `subarray`. */
const REPLIES = new TextEncoder().encode("OK\n".repeat(BUFFER_BYTES));

/** Answers one connection until it ends. */
async function answer(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(BUFFER_BYTES);
  try {
    while (true) {
      const count = await conn.read(buffer);
      if (count === null) break;
      let lines = 0;
      let at = buffer.indexOf(0x0a);
      while (at !== -1 && at < count) {
        lines++;
        at = buffer.indexOf(0x0a, at + 1);
      }
      if (lines === 0) continue;
      await writeAll(conn, REPLIES.subarray(0, lines * 3));
    }
  } catch {
    // The client went away; nothing to clean up but the connection.
  } finally {
    closeQuietly(conn);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { port: { type: "string" } } });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(values.port ?? 0) });
  const stop = () => Deno.exit(0);
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  // deno-lint-ignore no-console
  console.error(`ceiling listening on 127.0.0.1:${listener.addr.port}`);
  for await (const conn of listener) answer(conn);
}
