/**
 * How `pkgindex serve` stops: on the first SIGINT or SIGTERM, or when it cannot go on, it stops
 * accepting, drains the connections, closes the HTTP listener and the data file, logs a
 * summary and returns the exit code. A second signal cuts the drain short but still closes the
 * data file. Nothing here exits the process: `main` does, with the code returned.
 *
 * @module
 */

import { SERVE_DEFAULTS, type Server } from "../server/server.ts";
import type { OpenedDataFile } from "../storage/durable_index.ts";
import type { Replication } from "../storage/replication.ts";
import { errorMessage } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { plural } from "../util/plural.ts";

/** The signals that stop the server. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** A signal that stops the server. */
type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * The exit code after a second signal cut the drain short: 128 plus the signal's number, as a
 * shell reports a process that the signal ended.
 */
const CUT_SHORT_EXIT_CODES: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/** How long a drain runs before the log says what it is waiting for. */
const DRAIN_NOTICE_MS = 1000;

/** What {@linkcode ServeLifecycle.serveUntilStopped} stops and closes, in this order. */
export interface RunningServer {
  /** The protocol server: it stops accepting, then drains its connections. */
  server: Server;
  /** The HTTP listener (`/metrics`, `/healthz`, `/v1/`), if any. */
  httpListener?: Deno.HttpServer<Deno.NetAddr> | undefined;
  /** The data file, if any: its pending changes are committed, then it is closed. */
  dataFile?: OpenedDataFile | undefined;
  /**
   * The PostgreSQL database, if any: its pending changes are committed, then its session ends,
   * which hands leadership to a standby at once.
   */
  replication?: Replication | undefined;
}

/**
 * The life of a running server, from serving to stopped, and the exit code that says how it
 * ended:
 *
 * - 0: stopped by SIGINT or SIGTERM after every request read was answered and the data file was
 *   closed cleanly.
 * - 1: stopped because it could not go on ({@linkcode ServeLifecycle.fail}), or the data file
 *   could not be checkpointed or closed. One `ERROR` line says why.
 * - 130 or 143 (128 + the signal's number): a second SIGINT or SIGTERM during the drain closed the
 *   connections still waiting for replies without them; the data file was closed as usual. A 1
 *   takes precedence.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve } from "../server/server.ts";
 * import { createLogger } from "../util/log.ts";
 * import { ServeLifecycle } from "./serve_lifecycle.ts";
 *
 * const lines: string[] = [];
 * const logger = createLogger({ write: (line) => lines.push(line) });
 * const lifecycle = new ServeLifecycle(logger);
 * const server = serve({ hostname: "127.0.0.1", port: 0, logger });
 * const stopped = lifecycle.serveUntilStopped({ server });
 * lifecycle.fail("Cannot go on");
 * assert.equal(lifecycle.stopping, true);
 * assert.equal(await stopped, 1);
 * assert.match(lines.at(-1)!, / INFO Stopped\. connections=0 /);
 * ```
 */
export class ServeLifecycle {
  readonly #logger: Logger;
  readonly #stopRequested = Promise.withResolvers<void>();
  readonly #drainCutShort = Promise.withResolvers<void>();
  #phase: "serving" | "draining" | "closing" = "serving";
  #exitCode = 0;

  /** Makes the lifecycle of a server that logs to `logger`. */
  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Whether stopping has begun: `/healthz` answers 503 from then on. */
  get stopping(): boolean {
    return this.#phase !== "serving";
  }

  /**
   * Stops because the server cannot go on: logs `<reason>; stopping` as one `ERROR` line and
   * makes the exit code 1. May be called at any time, also before
   * {@linkcode ServeLifecycle.serveUntilStopped} or while stopping.
   */
  fail(reason: string): void {
    this.#logger.error(`${reason}; stopping`);
    this.#exitCode = 1;
    this.#beginStopping();
  }

  /**
   * Serves until the first SIGINT or SIGTERM or a {@linkcode ServeLifecycle.fail}, then stops
   * accepting, drains the connections (a second signal cuts that short), closes the HTTP
   * listener and the data file, logs a summary, and resolves to the exit code.
   */
  async serveUntilStopped(running: RunningServer): Promise<number> {
    const { server, httpListener, dataFile, replication } = running;
    const removeHandlers = STOP_SIGNALS.map((signal) => {
      const handler = () => this.#onSignal(signal, server);
      Deno.addSignalListener(signal, handler);
      return () => Deno.removeSignalListener(signal, handler);
    });
    try {
      await this.#stopRequested.promise;
      await this.#drain(server);
      this.#phase = "closing";
      await httpListener?.shutdown();
      let summary = server.stats.summary();
      if (dataFile !== undefined) {
        await this.#closeDataFile(dataFile);
        const { commits, failures } = dataFile.durable.commitStats;
        summary += ` commits=${commits} commit-failures=${failures}`;
      }
      if (replication !== undefined) {
        await replication.close();
        const { commits, failures } = replication.commitStats;
        const { takeovers } = replication.stats;
        summary += ` commits=${commits} commit-failures=${failures} takeovers=${takeovers}`;
      }
      this.#logger.info(`Stopped. ${summary}`);
      return this.#exitCode;
    } finally {
      for (const remove of removeHandlers) remove();
    }
  }

  #beginStopping(): void {
    if (this.#phase !== "serving") return;
    this.#phase = "draining";
    this.#stopRequested.resolve();
  }

  #onSignal(signal: StopSignal, server: Server): void {
    if (this.#phase === "serving") {
      this.#logger.info(`Received ${signal}; shutting down`);
      this.#beginStopping();
    } else if (this.#phase === "draining") {
      this.#logger.warn(
        `Received ${signal} during shutdown; closing ` +
          `${plural(server.stats.connectionsOpen, "connection")} without waiting for their replies`,
      );
      if (this.#exitCode === 0) this.#exitCode = CUT_SHORT_EXIT_CODES[signal];
      this.#phase = "closing";
      this.#drainCutShort.resolve();
    } else {
      this.#logger.info(`Received ${signal}; already stopping`);
    }
  }

  /** Stops accepting and waits until every connection is closed or a second signal arrives. */
  async #drain(server: Server): Promise<void> {
    const notice = setTimeout(() => {
      this.#logger.info(
        `Waiting for ${plural(server.stats.connectionsOpen, "connection")} to take the replies ` +
          `to requests already read (a client that does not read gets ` +
          `${SERVE_DEFAULTS.shutdownGrace} s); a second SIGINT or SIGTERM stops without waiting`,
      );
    }, DRAIN_NOTICE_MS);
    try {
      await Promise.race([server.shutdown(), this.#drainCutShort.promise]);
    } finally {
      clearTimeout(notice);
    }
  }

  /** Commits what is pending and closes the data file; a failure is one line and exit code 1. */
  async #closeDataFile({ durable, store }: OpenedDataFile): Promise<void> {
    await durable.flush();
    try {
      store.close();
      this.#logger.info(`Closed data file ${store.path}`);
    } catch (error) {
      this.#logger.error(errorMessage(error));
      this.#exitCode = 1;
    }
  }
}
