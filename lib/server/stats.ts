/**
 * The server's counters: plain integers bumped on the hot path and formatted only when asked for.
 *
 * @module
 */

import { type Command, COMMANDS } from "../protocol/command_table.ts";
import { REPLIES, type Reply } from "../protocol/replies.ts";

/** Replies counted for one command. */
export type ReplyCounts = Record<Reply, number>;

/** What the server has done since it started. Every field only ever grows, except `connectionsOpen`. */
export class ServerStats {
  /** Connections accepted and served. */
  connectionsAccepted = 0;
  /** Connections closed at once because `maxConnections` were already open. */
  connectionsRejected = 0;
  /** Connections closed at once, without a byte, because this process may not answer (a standby). */
  connectionsRefused = 0;
  /** Connections open now. */
  connectionsOpen = 0;
  /** Connections closed because they stayed idle longer than the idle timeout. */
  idleTimeouts = 0;
  /** Bytes received from clients. */
  bytesRead = 0;
  /** Bytes of replies sent to clients. */
  bytesWritten = 0;
  /** Lines longer than the line limit, discarded and answered `ERROR`. */
  overlongLines = 0;
  /** Lines that were not a well-formed request (over-long ones included), answered `ERROR`. */
  malformedRequests = 0;
  /** Replies to well-formed requests, by command. */
  readonly requests: Readonly<Record<Command, ReplyCounts>> = Object.fromEntries(
    COMMANDS.map((command) => [command, { OK: 0, FAIL: 0, ERROR: 0 }]),
  ) as Record<Command, ReplyCounts>;

  /**
   * Every request counter, command by command (in table order) and reply by reply (in code
   * order), written into `into` (a new array by default) and returned: a snapshot to hand to
   * {@linkcode ServerStats.failRequests}. A caller that snapshots often reuses its array.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ServerStats } from "./stats.ts";
   *
   * const stats = new ServerStats();
   * const before = stats.countRequests();
   * stats.requests.INDEX.OK += 2;
   * stats.failRequests(before, stats.countRequests());
   * assert.deepEqual(stats.requests.INDEX, { OK: 0, FAIL: 0, ERROR: 2 });
   * ```
   */
  countRequests(into: number[] = []): number[] {
    let i = 0;
    for (const command of COMMANDS) {
      for (const reply of REPLIES) into[i++] = this.requests[command][reply];
    }
    return into;
  }

  /**
   * Recounts as `ERROR` every `OK` and `FAIL` counted between the snapshots `before` and `after`
   * (from {@linkcode ServerStats.countRequests}): those replies waited on a commit that failed.
   */
  failRequests(before: readonly number[], after: readonly number[]): void {
    for (const [c, command] of COMMANDS.entries()) {
      const counts = this.requests[command];
      for (const [r, reply] of REPLIES.entries()) {
        const changed = after[c * REPLIES.length + r]! - before[c * REPLIES.length + r]!;
        counts[reply] -= changed;
        counts.ERROR += changed;
      }
    }
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
      `bytes-in=${this.bytesRead}`,
      `bytes-out=${this.bytesWritten}`,
    ].join(" ");
  }
}
