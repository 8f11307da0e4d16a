/**
 * The TCP server: accepts connections and runs each one as a line-stream pipeline feeding a
 * parse-and-dispatch loop over one shared index.
 *
 * @module
 */

import {
  COMMAND_TABLE,
  COMMANDS,
  type CommandSpec,
  type IndexOperations,
} from "../protocol/command_table.ts";
import { REPLY_CODES } from "../protocol/replies.ts";
import { RequestLine, requestName } from "../protocol/request_parser.ts";
import { PackageIndex } from "../index/package_index.ts";
import { errorMessage } from "../util/errors.ts";
import { closeQuietly, writeAll } from "../util/io.ts";
import { createLogger, type Logger } from "../util/log.ts";
import { nextTurn } from "../util/event_loop.ts";
import { formatHostPort, listenTcp } from "../util/net.ts";
import { ReplyBuffer } from "./reply_buffer.ts";
import { readRequestBatches } from "./request_reader.ts";
import { Slowlog } from "./slowlog.ts";
import { ServerStats } from "./stats.ts";

/** Options for {@linkcode serve}. */
export interface ServeOptions {
  /** The address to listen on. Default: `"0.0.0.0"`. */
  hostname?: string;
  /** The TCP port to listen on; 0 picks a free one. Default: `8080`. */
  port?: number;
  /**
   * A listener already bound (with {@linkcode listenTcp}), used instead of `hostname` and `port`,
   * so that the port can be taken before slow startup work while clients wait in its backlog.
   * The server closes it at shutdown.
   */
  listener?: Deno.TcpListener;
  /** The longest request line accepted, in bytes, without its `\n`. Default: `65536`. */
  maxLineBytes?: number;
  /** Connections served at once; more are closed as soon as they are accepted. Default: `10000`. */
  maxConnections?: number;
  /** Seconds a connection may send nothing before it is closed; 0 never closes. Default: `300`. */
  idleTimeout?: number;
  /** Seconds shutdown waits for replies still being written before it closes their connections. Default: `5`. */
  shutdownGrace?: number;
  /**
   * Milliseconds an INDEX may take in the index before it goes into the slow log. Default: `5`.
   * Only requests that name dependencies are timed; the others cost one name's work.
   */
  slowlogThreshold?: number;
  /** The index to serve. Default: a new, empty {@linkcode PackageIndex}. */
  index?: IndexOperations;
  /**
   * Whether this process may answer now (with PostgreSQL: it leads and its lease is valid).
   * Asked on accepting a connection, before answering each batch and before sending its replies;
   * when it says no, the connection is closed without a byte, and unanswered requests get no
   * reply. Default: always.
   */
  mayAnswer?: () => boolean;
  /** Where to log. Default: standard error at level `info`. */
  logger?: Logger;
}

/** The defaults of {@linkcode ServeOptions}, as the CLI documents them. */
export const SERVE_DEFAULTS = {
  hostname: "0.0.0.0",
  port: 8080,
  maxLineBytes: 65536,
  maxConnections: 10000,
  idleTimeout: 300,
  shutdownGrace: 5,
  slowlogThreshold: 5,
} as const;

/** Accept errors that mean the process is out of a resource, not that one client went away. */
const RESOURCE_EXHAUSTED = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

/** One open connection and what the server needs to know about it. */
interface Session {
  readonly conn: Deno.TcpConn;
  /** `Date.now()` when it was accepted. */
  readonly openedAt: number;
  /** `Date.now()` when bytes last arrived (a reply still being written counts as idle time). */
  lastActive: number;
  /** Lines answered, counted slice by slice. */
  requests: number;
  /** Bytes received. */
  bytesIn: number;
  /** Bytes of replies sent. */
  bytesOut: number;
  /** True from the moment bytes are read until the replies to the lines they completed are written. */
  owesReplies: boolean;
  /** `Date.now()` when the write of the current replies began; 0 when not writing. */
  writingSince: number;
}

/** One open connection, as {@linkcode Server.connections} shows it. */
export interface ConnectionInfo {
  /** The client's address and port. */
  peer: string;
  /** `Date.now()` when it was accepted. */
  openedAt: number;
  /** `Date.now()` when bytes last arrived. */
  lastActive: number;
  /** Lines answered so far (the batch being answered is counted when its slice ends). */
  requests: number;
  /** Bytes received. */
  bytesIn: number;
  /** Bytes of replies sent. */
  bytesOut: number;
}

/** Some of the open connections, and how many there are. */
export interface ConnectionList {
  /** The oldest open connections, up to the limit asked for. */
  connections: ConnectionInfo[];
  /** How many connections are open. */
  total: number;
}

/**
 * Starts a pkgindex server and returns it once it is listening.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve } from "./server.ts";
 * import { createLogger } from "../util/log.ts";
 *
 * const server = serve({ hostname: "127.0.0.1", port: 0, logger: createLogger({ level: "error" }) });
 * assert.ok(server.addr.port > 0); // port 0 asked for any free port
 * await server.shutdown();
 * ```
 */
export function serve(options: ServeOptions = {}): Server {
  return new Server(options);
}

/** A running server. Create it with {@linkcode serve}; stop it with {@linkcode Server.shutdown}. */
export class Server {
  /** The address the server listens on, with the real port when port 0 was asked for. */
  readonly addr: Deno.NetAddr;
  /** Counters of everything the server has done. */
  readonly stats: ServerStats = new ServerStats();
  /** The last INDEX requests that took the slow log threshold or longer. */
  readonly slowlog: Slowlog;
  /**
   * The request being answered. One object serves every connection: a request is parsed and
   * answered without awaiting anything in between.
   */
  readonly #request = new RequestLine();
  /** The request counters of each command, in `COMMAND_TABLE` order. */
  readonly #countsByCommand = COMMANDS.map((command) => this.stats.requests[command]);

  readonly #listener: Deno.TcpListener;
  readonly #index: IndexOperations;
  readonly #mayAnswer: () => boolean;
  readonly #logger: Logger;
  readonly #maxLineBytes: number;
  readonly #maxConnections: number;
  readonly #idleTimeoutMs: number;
  readonly #shutdownGraceMs: number;
  readonly #sessions = new Set<Session>();
  /** Resolved during shutdown once no connection is left open. */
  readonly #allClosed = Promise.withResolvers<void>();
  readonly #acceptTask: Promise<void>;
  #idleSweep: ReturnType<typeof setInterval> | undefined;
  #atConnectionLimit = false;
  /** Whether accepting last failed for lack of descriptors or memory (logged once per episode). */
  #acceptStarved = false;
  #closing = false;
  #shutdownTask: Promise<void> | undefined;

  /** Use {@linkcode serve}. Throws when the address cannot be listened on. */
  constructor(options: ServeOptions) {
    const hostname = options.hostname ?? SERVE_DEFAULTS.hostname;
    const port = options.port ?? SERVE_DEFAULTS.port;
    this.#index = options.index ?? new PackageIndex();
    this.#mayAnswer = options.mayAnswer ?? (() => true);
    this.#logger = options.logger ?? createLogger();
    this.#maxLineBytes = options.maxLineBytes ?? SERVE_DEFAULTS.maxLineBytes;
    this.#maxConnections = options.maxConnections ?? SERVE_DEFAULTS.maxConnections;
    this.#idleTimeoutMs = (options.idleTimeout ?? SERVE_DEFAULTS.idleTimeout) * 1000;
    this.#shutdownGraceMs = (options.shutdownGrace ?? SERVE_DEFAULTS.shutdownGrace) * 1000;
    this.slowlog = new Slowlog(options.slowlogThreshold ?? SERVE_DEFAULTS.slowlogThreshold);
    this.#listener = options.listener ?? listenTcp(hostname, port);
    this.addr = this.#listener.addr;
    if (this.#idleTimeoutMs > 0) {
      const interval = Math.min(1000, Math.max(10, this.#idleTimeoutMs / 4));
      this.#idleSweep = setInterval(() => this.#closeIdleSessions(), interval);
    }
    this.#acceptTask = this.#acceptLoop();
  }

  /**
   * Stops accepting, answers the requests already read, closes every connection and resolves when
   * all are closed. A client that has not taken its replies within the shutdown grace period has
   * its connection closed.
   * Calling it again returns the same promise.
   */
  shutdown(): Promise<void> {
    this.#shutdownTask ??= this.#shutdown();
    return this.#shutdownTask;
  }

  /** The oldest `limit` open connections with their counters, and how many are open. */
  connections(limit: number): ConnectionList {
    const connections: ConnectionInfo[] = [];
    for (const session of this.#sessions) {
      if (connections.length === limit) break;
      connections.push({
        peer: formatAddress(session.conn.remoteAddr),
        openedAt: session.openedAt,
        lastActive: session.lastActive,
        requests: session.requests,
        bytesIn: session.bytesIn,
        bytesOut: session.bytesOut,
      });
    }
    return { connections, total: this.#sessions.size };
  }

  /**
   * Closes every connection at once, without the replies still owed: for a process that has
   * just stopped leading and must answer nothing more.
   */
  closeConnections(): void {
    for (const session of this.#sessions) closeQuietly(session.conn);
  }

  async #shutdown(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#idleSweep);
    this.#listener.close();
    await this.#acceptTask;
    // A connection waiting for its next request has nothing unanswered: close it now. The others
    // close themselves once their replies are written; one whose client has not taken its
    // replies within the grace period (counted from the later of shutdown and the start of the
    // write; time spent computing replies does not count) is closed.
    for (const session of this.#sessions) {
      if (!session.owesReplies) closeQuietly(session.conn);
    }
    const shutdownStarted = Date.now();
    const stuckWriters = setInterval(() => {
      const cutoff = Date.now() - this.#shutdownGraceMs;
      for (const { conn, writingSince } of this.#sessions) {
        if (writingSince !== 0 && Math.max(writingSince, shutdownStarted) <= cutoff) {
          closeQuietly(conn);
        }
      }
    }, Math.min(100, this.#shutdownGraceMs));
    if (this.stats.connectionsOpen === 0) this.#allClosed.resolve();
    await this.#allClosed.promise;
    clearInterval(stuckWriters);
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closing) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closing) return;
        if (!RESOURCE_EXHAUSTED.has((error as { code?: string }).code ?? "")) {
          // The client gave up before being accepted (reset, aborted): nothing to do about it.
          this.#logger.debug(`Cannot accept a connection: ${errorMessage(error)}`);
          continue;
        }
        // Out of file descriptors or memory: back off briefly instead of spinning, and say so once.
        if (!this.#acceptStarved) {
          this.#logger.warn(`Cannot accept connections: ${errorMessage(error)}; retrying`);
        }
        this.#acceptStarved = true;
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      this.#acceptStarved = false;
      if (!this.#mayAnswer()) {
        closeQuietly(conn);
        this.stats.connectionsRefused++;
        continue;
      }
      if (this.stats.connectionsOpen >= this.#maxConnections) {
        this.#reject(conn);
        continue;
      }
      this.#atConnectionLimit = false;
      // Not awaited: it never rejects, and shutdown waits for every connection through #allClosed.
      this.#serveConnection(conn);
    }
  }

  #reject(conn: Deno.TcpConn): void {
    closeQuietly(conn);
    this.stats.connectionsRejected++;
    if (!this.#atConnectionLimit) {
      this.#atConnectionLimit = true;
      this.#logger.warn(
        `Connection limit of ${this.#maxConnections} reached; closing new connections until one ends`,
      );
    }
  }

  /** Serves one connection until it ends. Never rejects: a connection's failure stays its own. */
  async #serveConnection(conn: Deno.TcpConn): Promise<void> {
    const now = Date.now();
    const session: Session = {
      conn,
      openedAt: now,
      lastActive: now,
      requests: 0,
      bytesIn: 0,
      bytesOut: 0,
      owesReplies: false,
      writingSince: 0,
    };
    const stats = this.stats;
    this.#sessions.add(session);
    stats.connectionsAccepted++;
    stats.connectionsOpen++;
    this.#logger.debug(`Connection from ${formatAddress(conn.remoteAddr)} opened`);
    try {
      conn.setNoDelay(true);
      const batches = readRequestBatches(conn, {
        maxLineBytes: this.#maxLineBytes,
        onRead: (byteCount) => {
          stats.bytesRead += byteCount;
          session.bytesIn += byteCount;
          session.lastActive = Date.now();
          session.owesReplies = true;
        },
      });
      const replies = new ReplyBuffer();
      const request = this.#request;
      const slice: Slice = { requests: 0, repliesFrom: 0, countsBefore: [], countsAfter: [] };
      for await (const batch of batches) {
        if (!this.#mayAnswer()) break;
        if (batch.end > batch.start || batch.overlongLineEnded) {
          // Each request is atomic on its own, so a long batch (one read can hold thousands of
          // requests, and a re-INDEX may walk the whole graph) is answered in slices of about
          // BATCH_SLICE_MS (the clock is read every 4 requests), letting other connections in
          // between: one client cannot hold the server. Before the replies leave, everything they
          // may have observed is made durable.
          this.#startSlice(slice, replies);
          let sliceStarted = session.lastActive; // when these lines were read
          if (batch.overlongLineEnded) replies.push(this.#refuseOverlongLine(slice));
          const bytes = batch.bytes;
          for (let at = batch.start; at < batch.end;) {
            const newline = request.parse(bytes, at);
            replies.push(this.#answer(request, newline - at, session));
            at = newline + 1;
            if ((++slice.requests & 3) === 0 && Date.now() - sliceStarted >= BATCH_SLICE_MS) {
              await this.#confirmDurable(slice, replies);
              session.requests += slice.requests;
              await nextTurn();
              this.#startSlice(slice, replies);
              sliceStarted = Date.now();
            }
          }
          const confirming = this.#confirmDurable(slice, replies);
          if (confirming !== undefined) await confirming;
          session.requests += slice.requests;
          // A leader may have lost its lease while the replies waited for their commit.
          if (!this.#mayAnswer()) break;
          session.writingSince = Date.now();
          await writeAll(conn, replies.bytes());
          session.writingSince = 0;
          stats.bytesWritten += replies.length;
          session.bytesOut += replies.length;
          replies.clear();
        }
        session.owesReplies = false;
        if (this.#closing) break;
      }
      this.#logger.debug(`Connection from ${formatAddress(conn.remoteAddr)} closed`);
    } catch (error) {
      this.#logger.debug(
        `Connection from ${formatAddress(conn.remoteAddr)} failed: ${errorMessage(error)}`,
      );
    } finally {
      this.#sessions.delete(session);
      stats.connectionsOpen--;
      if (this.#closing && stats.connectionsOpen === 0) this.#allClosed.resolve();
      closeQuietly(conn);
    }
  }

  /**
   * Runs the request just parsed from a line of `lineLength` bytes (before its `\n`) against the
   * index, counts the reply and returns its code.
   */
  #answer(request: RequestLine, lineLength: number, session: Session): number {
    if (lineLength > this.#maxLineBytes) {
      this.stats.overlongLines++;
      this.stats.malformedRequests++;
      return REPLY_CODES.ERROR;
    }
    const command = request.command;
    if (command === -1) {
      this.stats.malformedRequests++;
      return REPLY_CODES.ERROR;
    }
    const counts = this.#countsByCommand[command]!;
    const spec = COMMAND_TABLE[command]!;
    const ok = spec.takesDependencies
      ? this.#runTimed(spec, request, session)
      : spec.run(this.#index, request);
    if (ok) {
      counts.OK++;
      return REPLY_CODES.OK;
    }
    counts.FAIL++;
    return REPLY_CODES.FAIL;
  }

  /**
   * Runs a request that names dependencies (only those can cost more than one name's work: a
   * long list, or a cycle check that walks the graph), and records it in the slow log when the
   * index took the threshold or longer. Two clock reads per request; the others are not timed.
   */
  #runTimed(spec: CommandSpec, request: RequestLine, session: Session): boolean {
    const started = performance.now();
    const ok = spec.run(this.#index, request);
    const durationMs = performance.now() - started;
    if (durationMs >= this.slowlog.thresholdMs) {
      this.slowlog.record({
        time: Date.now(),
        command: spec.name,
        package: requestName(request),
        dependencies: request.dependencyCount,
        durationMs,
        peer: formatAddress(session.conn.remoteAddr),
      });
    }
    return ok;
  }

  /** Counts and refuses a line that was too long to keep, as the first request of `slice`. */
  #refuseOverlongLine(slice: Slice): number {
    this.stats.overlongLines++;
    this.stats.malformedRequests++;
    slice.requests++;
    return REPLY_CODES.ERROR;
  }

  /** Starts `slice` at the end of `replies`, noting the counters to undo on failure. */
  #startSlice(slice: Slice, replies: ReplyBuffer): void {
    slice.requests = 0;
    slice.repliesFrom = replies.length;
    if (this.#index.whenDurable !== undefined) this.stats.countRequests(slice.countsBefore);
  }

  /**
   * Waits until the changes that the replies of `slice` may have observed are durable. If that
   * commit failed, those replies all become `ERROR`, and are counted so: any of them may have
   * observed the changes that were undone. Returns `undefined`, so that the caller need not wait
   * at all, when nothing awaits a commit.
   */
  #confirmDurable(slice: Slice, replies: ReplyBuffer): Promise<void> | undefined {
    const durable = this.#index.whenDurable?.();
    if (durable === undefined) return undefined;
    this.stats.countRequests(slice.countsAfter);
    return durable.then((committed) => {
      if (committed) return;
      this.stats.failRequests(slice.countsBefore, slice.countsAfter);
      replies.truncate(slice.repliesFrom);
      for (let i = 0; i < slice.requests; i++) replies.push(REPLY_CODES.ERROR);
    });
  }

  #closeIdleSessions(): void {
    const cutoff = Date.now() - this.#idleTimeoutMs;
    for (const session of this.#sessions) {
      if (session.lastActive >= cutoff) continue;
      this.stats.idleTimeouts++;
      this.#logger.debug(`Connection from ${formatAddress(session.conn.remoteAddr)} idle; closing`);
      closeQuietly(session.conn);
      this.#sessions.delete(session);
    }
  }
}

/**
 * A stretch of a batch answered without yielding, whose replies wait on one commit. One object
 * per connection serves slice after slice.
 */
interface Slice {
  /** How many requests it has answered so far. */
  requests: number;
  /** Where its replies start in the batch's reply buffer. */
  repliesFrom: number;
  /** The request counters when it started (only with a durable index). */
  countsBefore: number[];
  /** The request counters when it ended (only with a durable index). */
  countsAfter: number[];
}

/** How long one connection's batch may run before other connections get a turn. */
const BATCH_SLICE_MS = 5;

function formatAddress(addr: Deno.Addr): string {
  return addr.transport === "tcp" ? formatHostPort(addr.hostname, addr.port) : addr.transport;
}
