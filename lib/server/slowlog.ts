/**
 * The slow log: the last requests whose handling took at least a threshold, like Redis's
 * `SLOWLOG`, kept in a fixed ring so that it costs nothing while requests are fast.
 *
 * @module
 */

/** How many slow requests the log keeps: the newest ones. */
export const SLOWLOG_CAPACITY = 128;

/** One slow request. */
export interface SlowRequest {
  /** Its number among every slow request recorded since the server started, from 1. */
  id: number;
  /** When it was handled, as `Date.now()`. */
  time: number;
  /** Its command, such as `INDEX`. */
  command: string;
  /** The package it named. */
  package: string;
  /** How many dependencies it named (repeats included). */
  dependencies: number;
  /** How long the index took to answer it, in milliseconds. */
  durationMs: number;
  /** The client's address and port. */
  peer: string;
}

/**
 * The last {@linkcode SLOWLOG_CAPACITY} requests that took `thresholdMs` or longer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Slowlog } from "./slowlog.ts";
 *
 * const slowlog = new Slowlog(5);
 * const request = { command: "INDEX", package: "w0", dependencies: 1, peer: "127.0.0.1:5000" };
 * slowlog.record({ ...request, time: 0, durationMs: 7.5 });
 * slowlog.record({ ...request, time: 1, durationMs: 12 });
 * assert.deepEqual(slowlog.newest(1), [{ id: 2, ...request, time: 1, durationMs: 12 }]);
 * assert.equal(slowlog.recorded, 2);
 * ```
 */
export class Slowlog {
  /** Requests taking at least this many milliseconds are recorded. */
  readonly thresholdMs: number;
  readonly #ring: SlowRequest[] = [];
  #recorded = 0;

  /** Makes an empty log of requests taking `thresholdMs` or longer. */
  constructor(thresholdMs: number) {
    this.thresholdMs = thresholdMs;
  }

  /** How many slow requests were recorded since the start, including those no longer kept. */
  get recorded(): number {
    return this.#recorded;
  }

  /** Records a slow request, replacing the oldest one kept when the log is full. */
  record(request: Omit<SlowRequest, "id">): void {
    const entry = { id: ++this.#recorded, ...request };
    this.#ring[(entry.id - 1) % SLOWLOG_CAPACITY] = entry;
  }

  /** Up to `limit` of the requests kept, newest first. */
  newest(limit: number): SlowRequest[] {
    const entries: SlowRequest[] = [];
    const oldestKept = Math.max(1, this.#recorded - SLOWLOG_CAPACITY + 1);
    for (let id = this.#recorded; id >= oldestKept && entries.length < limit; id--) {
      entries.push(this.#ring[(id - 1) % SLOWLOG_CAPACITY]!);
    }
    return entries;
  }
}
