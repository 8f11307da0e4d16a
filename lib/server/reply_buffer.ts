/**
 * The replies of one read batch, collected as bytes for one write.
 *
 * @module
 */

import { REPLY_BYTES } from "../protocol/replies.ts";

/** The capacity a buffer starts with, and the most it keeps between batches. */
const INITIAL_BYTES = 64;
const MAX_KEPT_BYTES = 64 * 1024;

/**
 * A growable byte buffer of reply lines, reused from batch to batch by one connection so that
 * answering allocates nothing in the steady state. A buffer that grew past 64 KiB for a huge
 * batch is let go by {@linkcode ReplyBuffer.clear}, so a connection keeps at most that much.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REPLY_CODES } from "../protocol/replies.ts";
 * import { ReplyBuffer } from "./reply_buffer.ts";
 *
 * const replies = new ReplyBuffer();
 * replies.push(REPLY_CODES.OK);
 * replies.push(REPLY_CODES.FAIL);
 * assert.equal(new TextDecoder().decode(replies.bytes()), "OK\nFAIL\n");
 * replies.truncate(3);
 * replies.push(REPLY_CODES.ERROR);
 * assert.equal(new TextDecoder().decode(replies.bytes()), "OK\nERROR\n");
 * ```
 */
export class ReplyBuffer {
  #bytes = new Uint8Array(INITIAL_BYTES);
  #length = 0;

  /** The number of bytes held. */
  get length(): number {
    return this.#length;
  }

  /** Appends the reply with code `code` (see `REPLY_CODES`). */
  push(code: number): void {
    const reply = REPLY_BYTES[code]!;
    if (this.#length + reply.length > this.#bytes.length) this.#grow(reply.length);
    const bytes = this.#bytes;
    let length = this.#length;
    // Byte by byte: TypedArray.set() costs more than copying three to six bytes.
    for (let i = 0; i < reply.length; i++) bytes[length++] = reply[i]!;
    this.#length = length;
  }

  /** Drops every byte from `length` on, such as the replies of a slice that must be redone. */
  truncate(length: number): void {
    this.#length = Math.min(length, this.#length);
  }

  /** The bytes held; valid until the buffer is next changed. */
  bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /** Empties the buffer for the next batch. */
  clear(): void {
    this.#length = 0;
    if (this.#bytes.length > MAX_KEPT_BYTES) this.#bytes = new Uint8Array(INITIAL_BYTES);
  }

  #grow(extra: number): void {
    let capacity = this.#bytes.length * 2;
    while (capacity < this.#length + extra) capacity *= 2;
    const bytes = new Uint8Array(capacity);
    bytes.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = bytes;
  }
}
