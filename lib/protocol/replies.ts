/**
 * The replies of the protocol: `OK` and `FAIL` answer a request, `ERROR` rejects a malformed
 * line. Each is one line on the wire.
 *
 * @module
 */

/** Every reply, in the order of their codes: `REPLIES[code]` is the reply with that code. */
export const REPLIES = ["OK", "FAIL", "ERROR"] as const;

/** A reply, by name. */
export type Reply = typeof REPLIES[number];

/**
 * Replies as small integers (their positions in {@linkcode REPLIES}), so counters and the load
 * tools index arrays and compare integers, not strings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REPLIES, REPLY_CODES } from "./replies.ts";
 *
 * assert.equal(REPLIES[REPLY_CODES.FAIL], "FAIL");
 * ```
 */
export const REPLY_CODES: Readonly<Record<Reply, number>> = Object.fromEntries(
  REPLIES.map((reply, code) => [reply, code]),
) as Record<Reply, number>;

const encoder = new TextEncoder();

/**
 * Each reply's bytes on the wire, with its `\n`, by code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REPLY_BYTES, REPLY_CODES } from "./replies.ts";
 *
 * assert.deepEqual(REPLY_BYTES[REPLY_CODES.OK], new TextEncoder().encode("OK\n"));
 * ```
 */
export const REPLY_BYTES: readonly Uint8Array[] = REPLIES.map((reply) =>
  encoder.encode(`${reply}\n`)
);
