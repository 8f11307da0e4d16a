/**
 * Turns a connection's bytes into an async stream of line batches, with a read buffer sized to
 * the traffic.
 *
 * @module
 */

import type { ByteSource } from "../util/io.ts";
import { type Line, LineSplitter } from "./line_splitter.ts";

/** Options for {@linkcode readLineBatches}. */
export interface ReadLineBatchesOptions {
  /** The longest line kept; longer ones become {@linkcode OVERLONG_LINE}. */
  maxLineBytes: number;
  /** Called after every read with the number of bytes that arrived. */
  onRead?: (byteCount: number) => void;
}

/**
 * One decoder for every connection: decoding without `stream: true` keeps no state between
 * calls, so sharing it is safe and saves an object per connection.
 */
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * The read buffer of a quiet connection. Deno holds it for as long as the read is pending, which
 * for an idle connection is forever: 10,000 idle connections hold 10 MiB of buffers. It takes
 * every line of the Homebrew data (the longest is under 1,000 bytes) in one read; a longer line
 * takes a few as the buffer doubles. (256 bytes saved 7.5 MiB at 10,000 idle connections but cost
 * a second read for the tenth of `INDEX` lines that are longer, about 1.5% of mixed throughput.)
 */
export const MIN_READ_BUFFER_BYTES = 1024;
/** The read buffer of a busy connection: large enough that a pipelining client is read in bulk. */
export const MAX_READ_BUFFER_BYTES = 64 * 1024;

/**
 * Reads `source` until it ends and yields, for each read, the lines it completed (possibly none,
 * so the consumer always knows when a read has been dealt with). The consumer pulls: while it is busy with a batch (writing replies to a
 * client that reads slowly, say), nothing more is read, so a client cannot make the server buffer
 * without bound.
 *
 * Each read uses a buffer sized to the last one: it doubles after a read that filled it and
 * shrinks to fit after a smaller one, between {@linkcode MIN_READ_BUFFER_BYTES} and
 * {@linkcode MAX_READ_BUFFER_BYTES}.
 *
 * Bytes are decoded as UTF-8 without stripping a byte order mark, so every byte that is not
 * plain ASCII stays visible to the parser (which rejects it) instead of vanishing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readLineBatches } from "./connection_reader.ts";
 *
 * const pieces = [new TextEncoder().encode("QUERY|a|\nQUE"), new TextEncoder().encode("RY|b|\n")];
 * const source = {
 *   read(buffer: Uint8Array) {
 *     const piece = pieces.shift();
 *     if (piece === undefined) return Promise.resolve(null);
 *     buffer.set(piece);
 *     return Promise.resolve(piece.length);
 *   },
 * };
 * const batches = [];
 * for await (const lines of readLineBatches(source, { maxLineBytes: 65536 })) batches.push(lines);
 * assert.deepEqual(batches, [["QUERY|a|"], ["QUERY|b|"]]);
 * ```
 */
export async function* readLineBatches(
  source: ByteSource,
  options: ReadLineBatchesOptions,
): AsyncGenerator<Line[], void, void> {
  const splitter = new LineSplitter(options.maxLineBytes);
  let buffer = new Uint8Array(MIN_READ_BUFFER_BYTES);
  while (true) {
    const byteCount = await source.read(buffer);
    if (byteCount === null) return;
    options.onRead?.(byteCount);
    const lines = splitter.push(decoder.decode(buffer.subarray(0, byteCount)));
    const nextSize = nextBufferSize(buffer.length, byteCount);
    if (nextSize !== buffer.length) buffer = new Uint8Array(nextSize);
    yield lines;
  }
}

function nextBufferSize(size: number, byteCount: number): number {
  if (byteCount === size) return Math.min(size * 2, MAX_READ_BUFFER_BYTES);
  let fit = MIN_READ_BUFFER_BYTES;
  while (fit < byteCount * 2) fit *= 2;
  return Math.min(fit, size);
}
