/**
 * The client side of the protocol: reading a server's reply lines and telling them apart. Every
 * client in pkgindex reads replies with this one reader: `pkgindex send`, `stress`, `bench` and
 * the tests.
 *
 * @module
 */

import type { ByteSource } from "../util/io.ts";
import { REPLY_CODES } from "./replies.ts";

/** The code of any line that is not exactly `OK`, `FAIL` or `ERROR` (see `REPLY_CODES`). */
export const OTHER_REPLY: number = 3;

/** What {@linkcode ReplyReader.nextBuffered} returns when no complete line is buffered. */
export const NO_LINE: number = -1;

const NEWLINE = 0x0a;

/** Options for {@linkcode ReplyReader}. */
export interface ReplyReaderOptions {
  /**
   * The read buffer's size, which is also the longest line kept: a longer one is skipped and
   * reported as {@linkcode OTHER_REPLY}. Default: 64 KiB, so a pipelining client reads in bulk.
   */
  bufferBytes?: number;
}

/**
 * Reads reply lines from `source` and classifies each as `OK`, `FAIL`, `ERROR` (their codes in
 * `REPLY_CODES`) or {@linkcode OTHER_REPLY}. A load generator drains whatever one read brought
 * with {@linkcode ReplyReader.fill} and {@linkcode ReplyReader.nextBuffered}, allocating nothing
 * per line; a simple client awaits {@linkcode ReplyReader.next}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REPLY_CODES } from "./replies.ts";
 * import { OTHER_REPLY, ReplyReader } from "./reply_reader.ts";
 *
 * const stream = new Blob(["OK\nFA", "IL\nHELLO\n"]).stream().getReader({ mode: "byob" });
 * const source = {
 *   async read(buffer: Uint8Array) {
 *     const { value, done } = await stream.read(new Uint8Array(buffer.length));
 *     if (done) return null;
 *     buffer.set(value);
 *     return value.length;
 *   },
 * };
 * const reader = new ReplyReader(source);
 * assert.equal(await reader.next(), REPLY_CODES.OK);
 * assert.equal(await reader.next(), REPLY_CODES.FAIL);
 * assert.equal(await reader.next(), OTHER_REPLY);
 * assert.equal(reader.lastLine, "HELLO");
 * assert.equal(await reader.next(), null);
 * ```
 */
export class ReplyReader {
  readonly #source: ByteSource;
  readonly #buffer: Uint8Array;
  /** The first buffered byte not yet returned as part of a line. */
  #start = 0;
  /** The end of the buffered bytes. */
  #end = 0;
  /** Bytes from #start to here are known to hold no line feed. */
  #scanned = 0;
  /** Whether the current line outgrew the buffer and is being skipped until its line feed. */
  #skipping = false;
  #lastStart = 0;
  #lastEnd = 0;
  #lastTooLong = false;

  /** Makes a reader of `source`. */
  constructor(source: ByteSource, options: ReplyReaderOptions = {}) {
    this.#source = source;
    this.#buffer = new Uint8Array(options.bufferBytes ?? 64 * 1024);
  }

  /**
   * The last line returned, without its line feed, as text; `""` for a line that was too long
   * to keep (see {@linkcode ReplyReader.lastLineTooLong}).
   */
  get lastLine(): string {
    return new TextDecoder().decode(this.#buffer.subarray(this.#lastStart, this.#lastEnd));
  }

  /** Whether the last line returned was longer than the buffer and was skipped unread. */
  get lastLineTooLong(): boolean {
    return this.#lastTooLong;
  }

  /** How many bytes are buffered beyond the last line returned (part of a line, or lines). */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * The code of the next complete line already buffered, or {@linkcode NO_LINE} when the buffer
   * holds none: then {@linkcode ReplyReader.fill} reads more.
   */
  nextBuffered(): number {
    const buffer = this.#buffer;
    let newline = this.#scanned;
    while (newline < this.#end && buffer[newline] !== NEWLINE) newline++;
    if (newline === this.#end) {
      this.#scanned = newline;
      return NO_LINE;
    }
    const start = this.#start;
    this.#start = this.#scanned = newline + 1;
    this.#lastStart = start;
    this.#lastEnd = newline;
    this.#lastTooLong = this.#skipping;
    if (this.#skipping) {
      this.#skipping = false;
      this.#lastEnd = start;
      return OTHER_REPLY;
    }
    return classifyReply(buffer, start, newline);
  }

  /**
   * Reads once more from the source into the buffer. Resolves to `false` when the stream has
   * ended (an unfinished last line stays unreturned).
   */
  async fill(): Promise<boolean> {
    if (this.#start === this.#end) {
      this.#start = this.#end = this.#scanned = 0;
    } else if (this.#end === this.#buffer.length) {
      if (this.#start === 0) {
        // One line fills the whole buffer: no reply is that long. Skip it to its line feed.
        this.#skipping = true;
        this.#start = this.#end = this.#scanned = 0;
      } else {
        this.#buffer.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#scanned -= this.#start;
        this.#start = 0;
      }
    }
    const count = await this.#source.read(this.#buffer.subarray(this.#end));
    if (count === null) return false;
    this.#end += count;
    return true;
  }

  /** Resolves to the code of the next reply line, reading as needed; `null` if the stream ends first. */
  async next(): Promise<number | null> {
    while (true) {
      const code = this.nextBuffered();
      if (code !== NO_LINE) return code;
      if (!await this.fill()) return null;
    }
  }

  /**
   * Reads to the end of the stream and returns everything not yet returned as lines, as text:
   * what a test compares with the exact replies it expects.
   */
  async readToEnd(): Promise<string> {
    const decoder = new TextDecoder();
    let text = "";
    while (true) {
      text += decoder.decode(this.#buffer.subarray(this.#start, this.#end), { stream: true });
      this.#start = this.#end;
      if (!await this.fill()) return text + decoder.decode();
    }
  }
}

/**
 * The code of the reply line held in `bytes[start, end)` (without its `\n`): one of
 * `REPLY_CODES` or {@linkcode OTHER_REPLY}.
 */
function classifyReply(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start;
  const first = bytes[start];
  if (length === 2 && first === 0x4f && bytes[start + 1] === 0x4b) return REPLY_CODES.OK;
  if (
    length === 4 && first === 0x46 && bytes[start + 1] === 0x41 && bytes[start + 2] === 0x49 &&
    bytes[start + 3] === 0x4c
  ) return REPLY_CODES.FAIL;
  if (
    length === 5 && first === 0x45 && bytes[start + 1] === 0x52 && bytes[start + 2] === 0x52 &&
    bytes[start + 3] === 0x4f && bytes[start + 4] === 0x52
  ) return REPLY_CODES.ERROR;
  return OTHER_REPLY;
}
