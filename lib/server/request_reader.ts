/**
 * Framing: turns a connection's bytes into an async stream of batches of complete request lines,
 * in a read buffer sized to the traffic, with every buffer bounded.
 *
 * @module
 */

import type { ByteSource } from "../util/io.ts";

const NEWLINE = 0x0a;

/**
 * The read buffer of a quiet connection. Deno holds it for as long as the read is pending, which
 * for an idle connection is forever: 10,000 idle connections hold 10 MiB of buffers. It takes
 * every line of the Homebrew data (the longest is under 1,000 bytes) in one read; a longer line
 * takes a few as the buffer doubles.
 */
export const MIN_READ_BUFFER_BYTES = 1024;
/** The read buffer of a busy connection: large enough that a pipelining client is read in bulk. */
export const MAX_READ_BUFFER_BYTES = 64 * 1024;

/**
 * What one read brought: the complete lines in `bytes[start, end)` (each ending in `\n`, so
 * `end` is just past the last one), and whether a line too long to keep ended first.
 */
export interface RequestBatch {
  /** The read buffer. Valid only until the consumer asks for the next batch. */
  readonly bytes: Uint8Array;
  /** Where the first complete line starts. */
  readonly start: number;
  /** Just past the `\n` of the last complete line; `start` when the read completed none. */
  readonly end: number;
  /**
   * Whether a line longer than the limit, discarded as it streamed in, ended in this read before
   * `start`: it gets one `ERROR`, before the lines of the batch.
   */
  readonly overlongLineEnded: boolean;
}

/** Options for {@linkcode readRequestBatches}. */
export interface ReadRequestBatchesOptions {
  /**
   * The longest line kept, in bytes before its `\n`. An unfinished line that grows longer is
   * dropped as it arrives; a longer line within one read is the consumer's to refuse.
   */
  maxLineBytes: number;
  /** Called after every read with the number of bytes that arrived. */
  onRead?: (byteCount: number) => void;
}

/**
 * Reads `source` until it ends and yields one batch per read (the same object each time, valid
 * until the consumer asks for the next; possibly without lines, so the
 * consumer always knows when a read has been dealt with). The consumer pulls: while it is busy
 * with a batch (writing replies to a client that reads slowly, say), nothing more is read, so a
 * client cannot make the server buffer without bound.
 *
 * A line split over reads is kept at the front of the buffer until its `\n` arrives; one that
 * grows past `maxLineBytes` is dropped as it streams and reported once, when its `\n` arrives. A
 * last fragment without `\n` is never reported. The buffer doubles after a read that filled it
 * and shrinks to fit the larger of the last two reads after a smaller one, between
 * {@linkcode MIN_READ_BUFFER_BYTES} and {@linkcode MAX_READ_BUFFER_BYTES} (more only to hold an
 * unfinished line of up to `maxLineBytes`): a client that writes bursts just over a buffer's
 * size has its first burst split over two reads and every later one read whole, where fitting
 * to the last read alone would split one in every few, each split costing a second read, a
 * second write of replies and two new buffers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readRequestBatches } from "./request_reader.ts";
 *
 * const pieces = ["QUERY|a|\nQUE", "RY|b|\n"].map((text) => new TextEncoder().encode(text));
 * const source = {
 *   read(buffer: Uint8Array) {
 *     const piece = pieces.shift();
 *     if (piece === undefined) return Promise.resolve(null);
 *     buffer.set(piece);
 *     return Promise.resolve(piece.length);
 *   },
 * };
 * const lines = [];
 * for await (const batch of readRequestBatches(source, { maxLineBytes: 1024 })) {
 *   lines.push(new TextDecoder().decode(batch.bytes.subarray(batch.start, batch.end)));
 * }
 * assert.deepEqual(lines, ["QUERY|a|\n", "QUERY|b|\n"]);
 * ```
 */
export function readRequestBatches(
  source: ByteSource,
  options: ReadRequestBatchesOptions,
): AsyncIterableIterator<RequestBatch> {
  return new RequestBatches(source, options);
}

/**
 * The iterator {@linkcode readRequestBatches} returns. Written out rather than as an async
 * generator: each read is the read's promise and one `then`, where a generator adds its queue
 * of requests, a resumption and a new result object per read (about 1,300 instructions and 300
 * bytes per read under callgrind; see docs/decisions.md).
 */
class RequestBatches implements AsyncIterableIterator<RequestBatch> {
  readonly #source: ByteSource;
  readonly #maxLineBytes: number;
  readonly #onRead: ((byteCount: number) => void) | undefined;
  #buffer: Uint8Array = new Uint8Array(MIN_READ_BUFFER_BYTES);
  /** Bytes of an unfinished line kept at the front of the buffer. */
  #kept = 0;
  /** Whether an unfinished line outgrew the limit and is being dropped until its `\n`. */
  #discarding = false;
  /** Bytes the last read brought, or -1 before the first: its batch is dealt with on `next`. */
  #byteCount = -1;
  /** Bytes the read before the last one brought, so that the buffer fits a split burst whole. */
  #previousByteCount = 0;
  /** Where the bytes of the last read end in the buffer. */
  #end = 0;
  // One batch and one result per connection, updated for each read: nothing is allocated per
  // batch.
  readonly #batch = { bytes: this.#buffer, start: 0, end: 0, overlongLineEnded: false };
  readonly #result: IteratorResult<RequestBatch, undefined> = { done: false, value: this.#batch };

  constructor(source: ByteSource, options: ReadRequestBatchesOptions) {
    this.#source = source;
    this.#maxLineBytes = options.maxLineBytes;
    this.#onRead = options.onRead;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<RequestBatch> {
    return this;
  }

  next(): Promise<IteratorResult<RequestBatch, undefined>> {
    if (this.#byteCount !== -1) this.#keepUnfinishedLine();
    const buffer = this.#buffer;
    const kept = this.#kept;
    return this.#source.read(kept === 0 ? buffer : buffer.subarray(kept)).then(this.#frame);
  }

  /**
   * Frames the bytes a read brought into the batch. A function made once, for `then`: an
   * `async next` would allocate an async function's state on every read.
   */
  readonly #frame = (byteCount: number | null): IteratorResult<RequestBatch, undefined> => {
    if (byteCount === null) return { done: true, value: undefined };
    this.#onRead?.(byteCount);
    const buffer = this.#buffer;
    const end = this.#kept + byteCount;
    let start = 0;
    let overlongLineEnded = false;
    if (this.#discarding) {
      // Nothing is kept while discarding, so the whole read is new: its first \n ends the line.
      const newline = buffer.indexOf(NEWLINE);
      this.#discarding = newline === -1 || newline >= end;
      overlongLineEnded = !this.#discarding;
      start = this.#discarding ? end : newline + 1;
    }
    // A loop, not lastIndexOf (a call into the runtime): a batch nearly always ends its read.
    let linesEnd = end;
    while (linesEnd > start && buffer[linesEnd - 1] !== NEWLINE) linesEnd--;
    const batch = this.#batch;
    batch.bytes = buffer;
    batch.start = start;
    batch.end = linesEnd;
    batch.overlongLineEnded = overlongLineEnded;
    this.#byteCount = byteCount;
    this.#end = end;
    return this.#result;
  };

  /**
   * Once the consumer is done with the last batch: keeps its unfinished line (or starts
   * discarding it) and sizes the buffer for the next read.
   */
  #keepUnfinishedLine(): void {
    const end = this.#end;
    let kept = end - this.#batch.end;
    if (kept > this.#maxLineBytes) {
      this.#discarding = true;
      kept = 0;
    }
    const recentBytes = Math.max(this.#byteCount, this.#previousByteCount);
    this.#buffer = nextBuffer(this.#buffer, { keptFrom: end - kept, end, recentBytes });
    this.#previousByteCount = this.#byteCount;
    this.#kept = kept;
  }
}

/**
 * The buffer for the next read, holding the kept bytes `buffer[keptFrom, end)` at its front:
 * twice as large after a read that filled it (up to {@linkcode MAX_READ_BUFFER_BYTES}), else
 * fitted to `recentBytes` (the larger of the last two reads), and always with room for the kept
 * bytes and a read behind them. The same buffer when its size stays.
 */
function nextBuffer(
  buffer: Uint8Array,
  last: { keptFrom: number; end: number; recentBytes: number },
): Uint8Array {
  const { keptFrom, end, recentBytes } = last;
  const kept = end - keptFrom;
  let size = MIN_READ_BUFFER_BYTES;
  if (end === buffer.length) {
    size = Math.min(buffer.length * 2, Math.max(buffer.length, MAX_READ_BUFFER_BYTES));
  } else {
    while (size < recentBytes * 2 && size < buffer.length) size *= 2;
  }
  while (size < kept + MIN_READ_BUFFER_BYTES) size *= 2;
  if (size === buffer.length) {
    if (kept > 0) buffer.copyWithin(0, keptFrom, end);
    return buffer;
  }
  const next = new Uint8Array(size);
  if (kept > 0) next.set(buffer.subarray(keptFrom, end));
  return next;
}
