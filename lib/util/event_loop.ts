/**
 * Giving the event loop a turn: how long-running work shares the single thread with the
 * connections it serves.
 *
 * @module
 */

/**
 * Resolves after the event loop has polled for I/O, so that reads and writes waiting meanwhile
 * are handled before the caller goes on. It is a timer, not `setImmediate`: Deno runs immediates
 * before it polls I/O again, so work resumed from one would starve every connection. A timer of 0
 * fires after about 2 ms in Deno, which is the price of the turn.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nextTurn } from "./event_loop.ts";
 *
 * let timerRan = false;
 * setTimeout(() => timerRan = true, 0);
 * await nextTurn();
 * assert.equal(timerRan, true); // what was waiting got its turn first
 * ```
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
