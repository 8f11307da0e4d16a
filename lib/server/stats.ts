/**
 * The server's counters: plain integers bumped on the hot path and formatted only when asked for.
 *
 * @module
 */

import { type Command, COMMANDS } from "../protocol/command_table.ts";
import { REPLIES, type Reply } from "../protocol/replies.ts";

/** Replies counted for one command. */
export type ReplyCounts = Record<Reply, number>;

/** Options for {@linkcode ServerStats}. */
export interface ServerStatsOptions {
  /**
   * The connections open now, which {@linkcode ServerStats.connectionsOpen} counts: the server's
   * own set of sessions, so that the count cannot drift from it.
   *
   * @default {new Set()}
   */
  openConnections?: { readonly size: number };
}

/** What the server has done since it started. Every field only ever grows, except `connectionsOpen`. */
export class ServerStats {
  /** Connections accepted and served. */
  connectionsAccepted = 0;
  /** Connections closed at once because `maxConnections` were already open. */
  connectionsRejected = 0;
  /** Connections closed at once, without a byte, because this process may not answer (a standby). */
  connectionsRefused = 0;
  /** Connections closed because they stayed idle longer than the idle timeout. */
  idleTimeouts = 0;
  /** Bytes received from clients. */
  bytesReceived = 0;
  /** Bytes of replies sent to clients. */
  bytesSent = 0;
  /** Lines longer than the line limit, discarded and answered `ERROR`. */
  overlongLines = 0;
  /** Lines that were not a well-formed request (over-long ones included), answered `ERROR`. */
  malformedRequests = 0;
  /** Replies to well-formed requests, by command. */
  readonly requests: Readonly<Record<Command, ReplyCounts>> = Object.fromEntries(
    COMMANDS.map((command) => [command, { OK: 0, FAIL: 0, ERROR: 0 }]),
  ) as Record<Command, ReplyCounts>;
  readonly #openConnections: { readonly size: number };

  /** Counters at zero, counting `options.openConnections` as the connections open. */
  constructor(options: ServerStatsOptions = {}) {
    this.#openConnections = options.openConnections ?? new Set();
  }

  /** Connections open now. */
  get connectionsOpen(): number {
    return this.#openConnections.size;
  }

  /**
   * Adds the counts of a slice of requests, once it is known whether the commit they waited on
   * succeeded. When it failed (`committed` false), every reply of the slice was turned into
   * `ERROR` (any of them may have observed the changes that were undone), and is counted so.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { COMMANDS } from "../protocol/command_table.ts";
   * import { REPLY_CODES } from "../protocol/replies.ts";
   * import { ServerStats, SliceCounts } from "./stats.ts";
   *
   * const stats = new ServerStats();
   * const slice = new SliceCounts();
   * slice.countReply(COMMANDS.indexOf("INDEX"), REPLY_CODES.OK);
   * slice.countReply(COMMANDS.indexOf("INDEX"), REPLY_CODES.OK);
   * stats.addSlice(slice, false);
   * assert.deepEqual(stats.requests.INDEX, { OK: 0, FAIL: 0, ERROR: 2 });
   * ```
   */
  addSlice(slice: SliceCounts, committed: boolean): void {
    // Index loops: this runs once per batch, on the request path, and allocates nothing. A
    // count of 0 is skipped: a slice usually counts one or two kinds of reply, and each
    // counter is a property looked up by a name that changes from one pass to the next.
    const replies = slice.replies;
    for (let i = 0; i < replies.length; i++) {
      const count = replies[i]!;
      if (count === 0) continue;
      const counts = this.requests[COMMANDS[Math.floor(i / REPLIES.length)]!];
      if (committed) counts[REPLIES[i % REPLIES.length]!] += count;
      else counts.ERROR += count;
    }
    this.malformedRequests += slice.malformed;
    this.overlongLines += slice.overlong;
  }

  /**
   * One line for the log, such as
   * `connections=3 rejected=0 INDEX ok=2 fail=1 error=0 ... malformed=1`.
   */
  summary(): string {
    const perCommand = COMMANDS.map((command) => {
      const counts = this.requests[command];
      return `${command} ok=${counts.OK} fail=${counts.FAIL} error=${counts.ERROR}`;
    });
    return [
      `connections=${this.connectionsAccepted}`,
      `rejected=${this.connectionsRejected}`,
      `idle-timeouts=${this.idleTimeouts}`,
      ...perCommand,
      `malformed=${this.malformedRequests}`,
      `overlong=${this.overlongLines}`,
      `bytes-received=${this.bytesReceived}`,
      `bytes-sent=${this.bytesSent}`,
    ].join(" ");
  }
}

/**
 * The counts of one slice of requests, kept apart from {@linkcode ServerStats} until the outcome
 * of the commit its replies wait on is known, then added once with
 * {@linkcode ServerStats.addSlice}. One object per connection serves slice after slice.
 */
export class SliceCounts {
  /** Lines answered. */
  lines = 0;
  /** Lines that were not a well-formed request, over-long ones included. */
  malformed = 0;
  /** Lines longer than the line limit. */
  overlong = 0;
  /** Replies to well-formed requests: `replies[command * REPLIES.length + code]`. */
  readonly replies: Int32Array = new Int32Array(COMMANDS.length * REPLIES.length);

  /** Counts the reply `code` to a request of `command` (its position in the command table). */
  countReply(command: number, code: number): void {
    this.lines++;
    this.replies[command * REPLIES.length + code]!++;
  }

  /** Counts a line that was not a well-formed request, and whether it was over the line limit. */
  countMalformed(overlong: boolean): void {
    this.lines++;
    this.malformed++;
    if (overlong) this.overlong++;
  }

  /** Sets every count back to zero, for the next slice. */
  clear(): void {
    this.lines = 0;
    this.malformed = 0;
    this.overlong = 0;
    // A loop over nine counts costs less than fill(), a call into the runtime.
    for (let i = 0; i < this.replies.length; i++) this.replies[i] = 0;
  }
}
