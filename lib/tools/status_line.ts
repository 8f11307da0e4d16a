/**
 * The status of a long-running tool's current task: one line redrawn in place on a terminal,
 * plain log lines elsewhere.
 *
 * @module
 */

/** What a status line describes: a task with a known total, counted as it runs. */
export interface TaskStatus {
  /** The task's name. */
  readonly name: string;
  /** Units of work in the task. */
  readonly total: number;
  /** Units finished so far. */
  readonly done: number;
  /** Requests sent so far; the rate is computed from these. */
  readonly requests: number;
  /** `performance.now()` when the task started. */
  readonly startedAt: number;
  /** `performance.now()` when the task ended; `undefined` while it runs. */
  readonly endedAt: number | undefined;
}

/** Options for {@linkcode StatusLine}. */
export interface StatusLineOptions {
  /** Where text goes, such as standard error. */
  write: (text: string) => void;
  /** Redraw one line in place (for a terminal) instead of writing a line per start and end. */
  live: boolean;
  /** Milliseconds between redraws of the live line. Default: 200. */
  intervalMs?: number;
}

/**
 * Shows the progress of one task at a time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StatusLine } from "./status_line.ts";
 *
 * const written: string[] = [];
 * const line = new StatusLine({ write: (text) => written.push(text), live: false });
 * const status = { name: "index", total: 10, done: 0, requests: 0, startedAt: performance.now(), endedAt: undefined };
 * line.start(status);
 * line.end(status);
 * assert.equal(written[0], "index: started, 10 to do\n");
 * assert.match(written[1]!, /^index: 0\/10 done, 0 requests in 0\.0 s \(0 req\/s\)\n$/);
 * ```
 */
export class StatusLine {
  readonly #options: StatusLineOptions;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Makes a reporter that writes with `options.write`. */
  constructor(options: StatusLineOptions) {
    this.#options = options;
  }

  /** Starts showing `status`, which the caller keeps updating in place. */
  start(status: TaskStatus): void {
    if (!this.#options.live) {
      this.#options.write(`${status.name}: started, ${status.total} to do\n`);
      return;
    }
    clearInterval(this.#timer);
    this.#timer = setInterval(
      () => this.#options.write(`\r\x1b[2K${formatStatus(status, performance.now())}`),
      this.#options.intervalMs ?? 200,
    );
  }

  /** Stops showing `status` and writes its final line. */
  end(status: TaskStatus): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const prefix = this.#options.live ? "\r\x1b[2K" : "";
    this.#options.write(`${prefix}${formatStatus(status, performance.now())}\n`);
  }
}

/**
 * One line about `status` at time `now`: `index: 1200/3000 done, 5400 requests in 1.5 s
 * (3600 req/s)`.
 */
export function formatStatus(status: TaskStatus, now: number): string {
  const seconds = ((status.endedAt ?? now) - status.startedAt) / 1000;
  const rate = seconds > 0 ? Math.round(status.requests / seconds) : 0;
  return `${status.name}: ${status.done}/${status.total} done, ${status.requests} requests in ${
    seconds.toFixed(1)
  } s (${rate} req/s)`;
}
