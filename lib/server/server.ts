/**
 * The TCP server: accepts connections and, for each one, reads batches of complete request lines
 * ({@linkcode readRequestBatches}), parses and answers every line of a batch against one shared
 * index, and writes the batch's replies at once.
 *
 * @module
 */

import {
  COMMAND_TABLE,
  type CommandSpec,
  type IndexOperations,
} from "../protocol/command_table.ts";
import { REPLY_CODES } from "../protocol/replies.ts";
import { type Problem, PROBLEMS, RequestLine, requestName } from "../protocol/request_parser.ts";
import { PackageIndex } from "../index/package_index.ts";
import { errorMessage } from "../util/errors.ts";
import { closeQuietly, writeAll } from "../util/io.ts";
import { createLogger, type Logger } from "../util/log.ts";
import { nextTurn } from "../util/event_loop.ts";
import { formatHostPort, listenTcp } from "../util/net.ts";
import { ReplyBuffer } from "./reply_buffer.ts";
import { readRequestBatches, type RequestBatch } from "./request_reader.ts";
import { Slowlog } from "./slowlog.ts";
import { ServerStats, SliceCounts } from "./stats.ts";

/**
 * Options for {@linkcode serve}. The `@default` of each option that {@linkcode SERVE_DEFAULTS}
 * holds is checked against it by a test.
 */
export interface ServeOptions {
  /**
   * The address to listen on.
   *
   * @default {"0.0.0.0"}
   */
  hostname?: string;
  /**
   * The TCP port to listen on; 0 picks a free one.
   *
   * @default {8080}
   */
  port?: number;
  /**
   * A listener already bound (with {@linkcode listenTcp}), used instead of `hostname` and `port`,
   * so that the port can be taken before slow startup work while clients wait in its backlog.
   * The server closes it at shutdown.
   */
  listener?: Deno.TcpListener;
  /**
   * The longest request line accepted, in bytes, without its `\n`.
   *
   * @default {65536}
   */
  maxLineBytes?: number;
  /**
   * Connections served at once; more are closed as soon as they are accepted.
   *
   * @default {10000}
   */
  maxConnections?: number;
  /**
   * Seconds a connection may send nothing before it is closed; 0 never closes.
   *
   * @default {300}
   */
  idleTimeout?: number;
  /**
   * Seconds shutdown waits for replies still being written before it closes their connections.
   *
   * @default {5}
   */
  shutdownGrace?: number;
  /**
   * Milliseconds an INDEX may take in the index before it goes into the slow log. Every INDEX is
   * timed; REMOVE and QUERY cost one name's work and are not.
   *
   * @default {5}
   */
  slowlogThreshold?: number;
  /**
   * The index to serve.
   *
   * @default {new PackageIndex()}
   */
  index?: IndexOperations;
  /**
   * Whether this process may answer now (with PostgreSQL: it leads and its lease is valid).
   * Asked on accepting a connection, before answering each batch and before sending its replies;
   * when it says no, the connection is closed without a byte, and unanswered requests get no
   * reply.
   *
   * @default {() => true}
   */
  mayAnswer?: () => boolean;
  /**
   * Where to log.
   *
   * @default {createLogger()}
   */
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
  bytesReceived: number;
  /** Bytes of replies sent. */
  bytesSent: number;
  /** True from the moment bytes are read until the replies to the lines they completed are written. */
  owesReplies: boolean;
  /**
   * While the current replies are being written, when that began; 0 when not writing. Only
   * shutdown reads it, counting its grace period from the later of this and its own start, so a
   * write begun before shutdown keeps the time its lines were read, which is no later, instead
   * of reading the clock again.
   */
  writingSince: number;
  /** Whether the idle sweep has closed it (it stays open until its loop has ended). */
  timedOut: boolean;
  /** The replies to its current batch, written at once when the batch has been answered. */
  readonly replies: ReplyBuffer;
  /** The slice of its current batch being answered. */
  readonly slice: Slice;
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
  bytesReceived: number;
  /** Bytes of replies sent. */
  bytesSent: number;
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
  /** The open connections; each leaves the set when its loop has ended. */
  readonly #sessions = new Set<Session>();
  /** Counters of everything the server has done. */
  readonly stats: ServerStats = new ServerStats({ openConnections: this.#sessions });
  /** The last INDEX requests that took the slow log threshold or longer. */
  readonly slowlog: Slowlog;
  /**
   * The request being answered. One object serves every connection: a request is parsed and
   * answered without awaiting anything in between.
   */
  readonly #request: RequestLine;

  readonly #listener: Deno.TcpListener;
  readonly #index: IndexOperations;
  readonly #mayAnswer: () => boolean;
  readonly #logger: Logger;
  readonly #maxLineBytes: number;
  readonly #maxConnections: number;
  readonly #idleTimeoutMs: number;
  readonly #shutdownGraceMs: number;
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
    this.#request = new RequestLine({ maxLineBytes: this.#maxLineBytes });
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
        bytesReceived: session.bytesReceived,
        bytesSent: session.bytesSent,
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
    if (this.#sessions.size === 0) this.#allClosed.resolve();
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
      if (this.#sessions.size >= this.#maxConnections) {
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
    const session = this.#openSession(conn);
    try {
      conn.setNoDelay(true);
      const batches = readRequestBatches(conn, {
        maxLineBytes: this.#maxLineBytes,
        onRead: (byteCount) => {
          this.stats.bytesReceived += byteCount;
          session.bytesReceived += byteCount;
          session.lastActive = Date.now();
          session.owesReplies = true;
        },
      });
      const replies = session.replies;
      for await (const batch of batches) {
        if (!this.#mayAnswer()) break;
        if (batch.end > batch.start || batch.overlongLineEnded) {
          const answering = this.#answerBatch(batch, session);
          if (answering !== undefined) await answering;
          // A leader may have lost its lease while the replies waited for their commit.
          if (!this.#mayAnswer()) break;
          session.writingSince = this.#closing ? Date.now() : session.lastActive;
          await writeAll(conn, replies.bytes());
          session.writingSince = 0;
          this.stats.bytesSent += replies.length;
          session.bytesSent += replies.length;
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
      if (this.#closing && this.#sessions.size === 0) this.#allClosed.resolve();
      closeQuietly(conn);
    }
  }

  /** Counts `conn` as accepted and open, and returns its session. */
  #openSession(conn: Deno.TcpConn): Session {
    const now = Date.now();
    const session: Session = {
      conn,
      openedAt: now,
      lastActive: now,
      requests: 0,
      bytesReceived: 0,
      bytesSent: 0,
      owesReplies: false,
      writingSince: 0,
      timedOut: false,
      replies: new ReplyBuffer(),
      slice: { startedAt: 0, repliesFrom: 0, counts: new SliceCounts() },
    };
    this.#sessions.add(session);
    this.stats.connectionsAccepted++;
    this.#logger.debug(`Connection from ${formatAddress(conn.remoteAddr)} opened`);
    return session;
  }

  /**
   * Answers every line of `batch`, read from `session`, into the session's reply buffer. Returns
   * `undefined` when the replies are ready to be written, else a promise that they will be.
   *
   * Each request is atomic on its own, so a long batch (one read can hold thousands of requests,
   * and a re-INDEX may walk the whole graph) is answered in slices of about
   * {@linkcode BATCH_SLICE_MS}, letting other connections in between: one client cannot hold the
   * server. Before the replies leave, everything they may have observed is made durable.
   */
  #answerBatch(batch: RequestBatch, session: Session): Promise<void> | undefined {
    this.#startSlice(session, session.lastActive); // when these lines were read
    if (batch.overlongLineEnded) {
      // The reader dropped a line too long to keep as it streamed in: it is answered first.
      session.replies.push(this.#refuse(PROBLEMS.lineTooLong, session.slice.counts));
    }
    const stoppedAt = this.#answerSlice(batch, batch.start, session);
    if (stoppedAt < batch.end) return this.#answerInSlices(batch, stoppedAt, session);
    return this.#endSlice(session);
  }

  /** Answers the rest of a long `batch`, from `from`, one slice per turn of the event loop. */
  async #answerInSlices(batch: RequestBatch, from: number, session: Session): Promise<void> {
    for (let at = from; at < batch.end;) {
      await this.#endSlice(session);
      await nextTurn();
      this.#startSlice(session, Date.now());
      at = this.#answerSlice(batch, at, session);
    }
    await this.#endSlice(session);
  }

  /**
   * Answers the lines of `batch` from `from` until the batch ends or the session's slice has run
   * {@linkcode BATCH_SLICE_MS}; returns where it stopped. While lines remain, the clock is read
   * after every request that names dependencies (an INDEX may walk the graph) and after every
   * 64th: reading it costs about as much as answering a QUERY, and 64 QUERYs or REMOVEs take
   * microseconds.
   */
  #answerSlice(batch: RequestBatch, from: number, session: Session): number {
    const { slice, replies } = session;
    const counts = slice.counts;
    const request = this.#request;
    const { bytes, end } = batch;
    let at = from;
    while (at < end) {
      const newline = request.parse(bytes, at);
      replies.push(this.#answer(request, session));
      at = newline + 1;
      if (
        at < end && ((counts.lines & 63) === 0 || request.dependencyCount > 0) &&
        Date.now() - slice.startedAt >= BATCH_SLICE_MS
      ) break;
    }
    return at;
  }

  /**
   * Runs the request just parsed against the index, counts the reply in the session's slice and
   * returns its code.
   */
  #answer(request: RequestLine, session: Session): number {
    const counts = session.slice.counts;
    const command = request.command;
    if (command === -1) return this.#refuse(request.problem!, counts);
    const spec = COMMAND_TABLE[command]!;
    const ok = spec.takesDependencies
      ? this.#runTimed(spec, request, session)
      : spec.run(this.#index, request);
    const code = ok ? REPLY_CODES.OK : REPLY_CODES.FAIL;
    counts.countReply(command, code);
    return code;
  }

  /** Counts a malformed line, whose `problem` says why, in `counts`, and returns `ERROR`. */
  #refuse(problem: Problem, counts: SliceCounts): number {
    counts.countMalformed(problem === PROBLEMS.lineTooLong);
    return REPLY_CODES.ERROR;
  }

  /**
   * Runs an INDEX (a long dependency list, or a cycle check that walks the graph, can cost more
   * than one name's work) and records it in the slow log when the index took the threshold or
   * longer. Two clock reads per INDEX; REMOVE and QUERY are not timed.
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

  /** Starts the slice of `session` at `startedAt`, at the end of its replies, with nothing counted. */
  #startSlice(session: Session, startedAt: number): void {
    const { slice } = session;
    slice.startedAt = startedAt;
    slice.repliesFrom = session.replies.length;
    slice.counts.clear();
  }

  /**
   * Ends the slice of `session`: waits until the changes that its replies may have observed are
   * durable, then adds its counts to the server's, once. If that commit failed, those replies
   * all become `ERROR`, and are counted so: any of them may have observed the changes that were
   * undone. Returns `undefined`, so that the caller need not wait at all, when nothing awaits a
   * commit.
   */
  #endSlice(session: Session): Promise<void> | undefined {
    const durable = this.#index.whenDurable?.();
    if (durable === undefined) {
      this.#countSlice(session, true);
      return undefined;
    }
    return durable.then((committed) => this.#countSlice(session, committed));
  }

  /** Adds the counts of the slice of `session`, and turns its replies into `ERROR` if the commit failed. */
  #countSlice(session: Session, committed: boolean): void {
    const { replies, slice: { repliesFrom, counts } } = session;
    this.stats.addSlice(counts, committed);
    session.requests += counts.lines;
    if (committed) return;
    replies.truncate(repliesFrom);
    for (let i = 0; i < counts.lines; i++) replies.push(REPLY_CODES.ERROR);
  }

  #closeIdleSessions(): void {
    const cutoff = Date.now() - this.#idleTimeoutMs;
    for (const session of this.#sessions) {
      if (session.timedOut || session.lastActive >= cutoff) continue;
      session.timedOut = true;
      this.stats.idleTimeouts++;
      this.#logger.debug(`Connection from ${formatAddress(session.conn.remoteAddr)} idle; closing`);
      closeQuietly(session.conn);
    }
  }
}

/**
 * A stretch of a batch answered without yielding, whose replies wait on one commit. One object
 * per connection serves slice after slice.
 */
interface Slice {
  /** `Date.now()` when it started, or when its lines were read for the first slice of a batch. */
  startedAt: number;
  /** Where its replies start in the batch's reply buffer. */
  repliesFrom: number;
  /** What it has answered so far, added to the server's counters once it has ended. */
  readonly counts: SliceCounts;
}

/** How long one connection's batch may run before other connections get a turn. */
const BATCH_SLICE_MS = 5;

function formatAddress(addr: Deno.Addr): string {
  return addr.transport === "tcp" ? formatHostPort(addr.hostname, addr.port) : addr.transport;
}
