/**
 * Client-side reading of the one-word replies of the protocol, shared by the load tools.
 *
 * @module
 */

import type { Reply } from "./protocol.ts";

/** Replies as compact codes, so the load tools compare integers, not strings. */
export const REPLY_CODES: Readonly<Record<Reply, number>> = { OK: 0, FAIL: 1, ERROR: 2 };
/** The code of any reply line that is not exactly `OK`, `FAIL` or `ERROR`. */
export const OTHER_REPLY = 3;

/**
 * The code of the reply line held in `bytes[start, end)` (without its `\n`): one of
 * {@linkcode REPLY_CODES} or {@linkcode OTHER_REPLY}.
 */
export function classifyReply(bytes: Uint8Array, range: { start: number; end: number }): number {
  const { start, end } = range;
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
