/**
 * The replies of the protocol: `OK` and `FAIL` answer a request, `ERROR` rejects a malformed
 * line. Each is one line on the wire.
 *
 * @module
 */

/** A reply, by name. */
export type Reply = "OK" | "FAIL" | "ERROR";

/** Every reply, in the order of their codes: `REPLIES[code]` is the reply with that code. */
export const REPLIES: readonly Reply[] = ["OK", "FAIL", "ERROR"];

/**
 * Replies as small integers, so counters and the load tools index arrays and compare integers,
 * not strings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REPLIES, REPLY_CODES } from "./replies.ts";
 *
 * assert.equal(REPLIES[REPLY_CODES.FAIL], "FAIL");
 * ```
 */
export const REPLY_CODES: Readonly<Record<Reply, number>> = { OK: 0, FAIL: 1, ERROR: 2 };

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
