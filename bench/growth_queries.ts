/**
 * The QUERY thread of `bench/growth.ts`: a worker that sends one QUERY at a time on its own
 * connection and records how long each reply took, until it is told to stop. It runs in its own
 * thread with its own heap and event loop, so that its waits do not include the bulk client's
 * work (reading 64 replies, writing 64 requests, collecting its garbage).
 *
 * @module
 */

import { REPLY_CODES } from "../lib/protocol/replies.ts";
import { ReplyReader } from "../lib/protocol/reply_reader.ts";
import { Histogram, LOG_LINEAR_BOUNDS } from "../lib/util/histogram.ts";
import { writeAll } from "../lib/util/io.ts";

/** What the thread measured; waits in microseconds. */
export interface QueryWaits {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  queries: number;
  over10ms: number;
  over50ms: number;
  /** When each of the first waits over 10 ms began, in seconds since the first QUERY. */
  longWaitsAt: number[];
}

/**
 * What the thread is told: the server's port and the QUERY lines (back to back in `bytes`, each
 * ending at the next entry of `ends`), then `"stop"`. It answers `"connected"` once connected,
 * then its {@linkcode QueryWaits} once stopped.
 */
export type QueryThreadMessage =
  | { port: number; bytes: Uint8Array; ends: Uint32Array }
  | "stop";

const scope = self as unknown as {
  onmessage: (event: MessageEvent<QueryThreadMessage>) => void;
  postMessage(message: QueryWaits | "connected"): void;
};

/** How many times of long waits the thread reports. */
const LONG_WAITS_REPORTED = 10;

let stopping = false;

scope.onmessage = async (event) => {
  const message = event.data;
  if (message === "stop") {
    stopping = true;
    return;
  }
  const { port, bytes, ends } = message;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  scope.postMessage("connected");
  const reader = new ReplyReader(conn);
  const histogram = new Histogram(LOG_LINEAR_BOUNDS);
  const longWaitsAt: number[] = [];
  let over10ms = 0;
  let over50ms = 0;
  const started = performance.now();
  for (let i = 0; !stopping; i = (i + 1) % ends.length) {
    const sentAt = performance.now();
    await writeAll(conn, bytes.subarray(i === 0 ? 0 : ends[i - 1]!, ends[i]!));
    const code = await reader.next();
    if (code === null) throw new Error("The server closed the QUERY connection");
    if (code !== REPLY_CODES.OK && code !== REPLY_CODES.FAIL) {
      throw new Error(`The server answered a QUERY with '${reader.lastLine}'`);
    }
    const waitedUs = Math.round((performance.now() - sentAt) * 1000);
    histogram.record(waitedUs);
    if (waitedUs > 10_000) {
      over10ms++;
      if (longWaitsAt.length < LONG_WAITS_REPORTED) longWaitsAt.push((sentAt - started) / 1000);
    }
    if (waitedUs > 50_000) over50ms++;
  }
  conn.close();
  scope.postMessage({
    p50: histogram.percentile(50),
    p99: histogram.percentile(99),
    p999: histogram.percentile(99.9),
    max: histogram.max,
    queries: histogram.count,
    over10ms,
    over50ms,
    longWaitsAt,
  });
};
