/**
 * Several pkgindex processes on one PostgreSQL database: exactly one leads and answers the
 * protocol, the others are warm standbys that replay the change log into their own index.
 *
 * - Leadership is PostgreSQL's session-level advisory lock, held by the process's one session.
 * - Fencing: each takeover bumps an epoch; every commit proves in its own transaction that its
 *   session and epoch still lead (see {@linkcode PostgresSession.commit}), so a deposed leader can
 *   never commit.
 * - Lease: a leader may answer only until `lease` seconds after it sent the last query that
 *   proved it leads (a renewal or a commit), on a monotonic clock. PostgreSQL ends a session idle
 *   for `lease` seconds, so a frozen leader has lost its lease before its lock is released.
 *
 * @module
 */

import type { IndexOperations, RequestNames } from "../protocol/command_table.ts";
import { PackageIndex } from "../index/package_index.ts";
import { errorMessage } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { plural } from "../util/plural.ts";
import { type CommitStats, DurableIndex, newCommitStats } from "./durable_index.ts";
import { type ChangeBatch, isFencedOut, PostgresSession, type Snapshot } from "./postgres_store.ts";
import type { PostgresTarget } from "./postgres_url.ts";
import type { Mutation } from "./sqlite_store.ts";

/** What a process is: the leader, a standby following the log, or a candidate without a session. */
export type Role = "leader" | "standby" | "candidate";

/** Every role, in the order metrics list them. */
export const ROLES: readonly Role[] = ["leader", "standby", "candidate"];

/** The default lease in seconds. */
export const DEFAULT_LEASE = 3;
/** The longest lease allowed, in seconds. */
export const MAX_LEASE = 5;
/** How many changes the log keeps: a standby further behind reloads the whole index. */
export const DEFAULT_RETAIN = 100_000;
/** Milliseconds between two attempts to connect while the database cannot be reached. */
export const UNREACHABLE_RETRY_MS = 100;
/** Changes read per round trip while following the log. */
const READ_BATCH = 10_000;

/** Counters about leadership, for metrics. */
export interface LeadershipStats {
  /** Times this process became the leader. */
  takeovers: number;
  /** Successful lease renewals (commits that proved leadership are not counted). */
  leaseRenewals: number;
  /** Renewals that failed, and leases lost while leading. */
  leaseFailures: number;
  /** Times a standby reloaded the whole index. */
  reloads: number;
}

/** Where a process stands, for `/v1/info`, `/v1/health` and metrics. */
export interface ReplicationStatus {
  /** The role now. */
  role: Role;
  /** The epoch of the last takeover this process saw or made. */
  epoch: number;
  /** Whether it is the leader and its lease is valid: only then does it answer. */
  leaseValid: boolean;
  /** The last change of the log reflected in its index. */
  appliedChange: number;
  /**
   * On a standby, the changes its last poll of the log found not yet replayed (0 on the leader):
   * how far behind the replica had fallen before that poll caught it up.
   */
  lagChanges: number;
  /**
   * On a standby, how long the oldest of those changes had been committed when the poll found
   * it, in seconds (0 on the leader).
   */
  lagSeconds: number;
  /** The database, password masked. */
  data: string;
}

/** Options for {@linkcode Replication.open}. */
export interface ReplicationOptions {
  /** The database. */
  target: PostgresTarget;
  /** The lease in seconds; default {@linkcode DEFAULT_LEASE}. */
  lease?: number;
  /** Where role changes and failures are logged. */
  logger: Logger;
  /** Called when memory and the database disagree after a failed undo; the process must stop. */
  onDiverged: (error: Error) => void;
  /** Called when this process stops leading: it must close its protocol connections at once. */
  onDemoted?: () => void;
  /** A monotonic clock in milliseconds; default `performance.now`. Tests move it by hand. */
  clock?: () => number;
  /** How this process names itself in `pkgindex_leader.holder`. */
  holder?: string;
  /** How many changes the log keeps; default {@linkcode DEFAULT_RETAIN}. */
  retain?: number;
}

/**
 * One process's part in a group of processes on one database. Create it with
 * {@linkcode Replication.open} (connects, creates or checks the schema, loads the index), then
 * either call {@linkcode Replication.step} by hand (tests) or {@linkcode Replication.run}.
 *
 * The server answers through {@linkcode Replication.operations} and asks
 * {@linkcode Replication.mayAnswer} before accepting a connection and before answering each
 * batch.
 */
export class Replication {
  /** Leadership counters. */
  readonly stats: LeadershipStats = {
    takeovers: 0,
    leaseRenewals: 0,
    leaseFailures: 0,
    reloads: 0,
  };
  /** Commit counters, kept across leadership terms. */
  readonly commitStats: CommitStats = newCommitStats();
  /** The protocol's view of the index: changes go to the leader's durable index, if leading. */
  readonly operations: IndexOperations;
  readonly #target: PostgresTarget;
  readonly #leaseMs: number;
  readonly #logger: Logger;
  readonly #onDiverged: (error: Error) => void;
  readonly #onDemoted: () => void;
  readonly #clock: () => number;
  readonly #holder: string;
  readonly #retain: number;
  #session: PostgresSession | undefined;
  #index: PackageIndex;
  #role: Role = "candidate";
  #epoch = 0;
  #applied: number;
  #nextSeq = 0;
  #lagChanges = 0;
  #lagSeconds = 0;
  /** Monotonic milliseconds until which the lease is valid; 0 without a lease. */
  #leaseUntil = 0;
  /** When the last query that proved leadership was sent. */
  #provedAt = 0;
  #durable: DurableIndex | undefined;
  /** Settles once the previous term's pending commits have failed and been undone. */
  #settling: Promise<void> = Promise.resolve();
  /** Whether the last attempt to connect failed (logged once per episode). */
  #unreachable = false;
  #running: { stop: () => void; done: Promise<void> } | undefined;

  private constructor(
    options: ReplicationOptions,
    opened: { index: PackageIndex; applied: number },
  ) {
    this.#target = options.target;
    this.#leaseMs = (options.lease ?? DEFAULT_LEASE) * 1000;
    this.#logger = options.logger;
    this.#onDiverged = options.onDiverged;
    this.#onDemoted = options.onDemoted ?? (() => {});
    this.#clock = options.clock ?? (() => performance.now());
    this.#holder = options.holder ?? `pid ${Deno.pid}`;
    this.#retain = options.retain ?? DEFAULT_RETAIN;
    this.#index = opened.index;
    this.#applied = opened.applied;
    this.operations = forwardingOperations(() => this.#durable);
  }

  /**
   * Connects to the database, creates the schema in an empty database (or checks it), and loads
   * the index. The process starts as a candidate; its first {@linkcode Replication.step} opens
   * the session it follows the log and may lead with. (Not the loading one: building a large
   * index takes longer than PostgreSQL lets a session sit idle.)
   * Throws when the database cannot be reached, is foreign, or holds an inconsistent index, with
   * one sentence that shows the database with its password masked.
   */
  static async open(options: ReplicationOptions): Promise<Replication> {
    const lease = options.lease ?? DEFAULT_LEASE;
    const session = await PostgresSession.open(options.target, { lease });
    let snapshot: Snapshot;
    try {
      await session.prepareSchema();
      snapshot = await session.loadSnapshot();
    } finally {
      await session.close();
    }
    const index = indexOf(snapshot.entries, options.target.display);
    return new Replication(options, { index, applied: snapshot.seq });
  }

  /** The index as this process knows it: the leader's, or the standby's replica. */
  get index(): PackageIndex {
    return this.#index;
  }

  /** The role now. */
  get role(): Role {
    return this.#role;
  }

  /**
   * Whether this process may answer the protocol now: it leads and its lease, checked on the
   * monotonic clock, is still valid.
   */
  mayAnswer(): boolean {
    return this.#role === "leader" && this.#clock() < this.#leaseUntil;
  }

  /**
   * The role for load balancers: `leader` only while it may answer, `standby` while it follows
   * the log, `candidate` when it cannot tell (no session, or a leader whose lease lapsed).
   */
  healthRole(): Role {
    if (this.#role === "leader") return this.mayAnswer() ? "leader" : "candidate";
    return this.#role;
  }

  /** Where this process stands. */
  status(): ReplicationStatus {
    return {
      role: this.#role,
      epoch: this.#epoch,
      leaseValid: this.mayAnswer(),
      appliedChange: this.#applied,
      lagChanges: this.#role === "leader" ? 0 : this.#lagChanges,
      lagSeconds: this.#role === "leader" ? 0 : this.#lagSeconds,
      data: this.#target.display,
    };
  }

  /**
   * One round of the protocol between processes: a candidate connects; a standby tries to take
   * the leader lock and takes over if it gets it, or else replays the changes committed since its
   * last round; a leader renews its lease when it is a third gone. Never throws: a failure is
   * logged and leaves the process a candidate for the next round.
   */
  async step(): Promise<void> {
    try {
      await this.#settling;
      if (this.#role === "leader") {
        if (this.mayAnswer()) await this.#renew();
        else this.#lose("The lease expired before it could be renewed");
        return;
      }
      const session = await this.#connected();
      if (session === undefined) return;
      const batch = await session.readChanges(this.#applied, {
        limit: READ_BATCH,
        tryLeaderLock: true,
      });
      await this.#replay(session, batch);
      if (batch.leaderLock) await this.#takeOver(session);
    } catch (error) {
      this.#lose(`${errorMessage(error)}`);
    }
  }

  /**
   * Runs {@linkcode Replication.step} until {@linkcode Replication.close}: every `pollMs` while
   * following (default 25), every sixth of the lease while leading (a renewal once a third of it
   * has passed), and every {@linkcode UNREACHABLE_RETRY_MS} while the database cannot be reached.
   */
  run(pollMs = 25): void {
    if (this.#running !== undefined) return;
    let wake: () => void = () => {};
    let stopped = false;
    const done = (async () => {
      while (!stopped) {
        await this.step();
        if (stopped) break;
        const delay = this.#role === "leader"
          ? this.#leaseMs / 6
          : this.#unreachable
          ? UNREACHABLE_RETRY_MS
          : pollMs;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    })();
    this.#running = {
      stop: () => {
        stopped = true;
        wake();
      },
      done,
    };
  }

  /**
   * Stops running, commits what is pending (when leading) and ends the session, which releases
   * the leader lock at once for a standby to take.
   */
  async close(): Promise<void> {
    if (this.#running !== undefined) {
      this.#running.stop();
      await this.#running.done;
    }
    await this.#durable?.flush();
    this.#role = "candidate";
    this.#leaseUntil = 0;
    this.#durable = undefined;
    const session = this.#session;
    this.#session = undefined;
    await session?.close();
  }

  /** The session, opening a new one when there is none (or it dropped); `undefined` if unreachable. */
  async #connected(): Promise<PostgresSession | undefined> {
    if (this.#session !== undefined && !this.#session.closed) return this.#session;
    this.#session = undefined;
    let session: PostgresSession;
    try {
      session = await PostgresSession.open(this.#target, { lease: this.#leaseMs / 1000 });
    } catch (error) {
      if (!this.#unreachable) {
        this.#logger.warn(`${errorMessage(error)}; retrying as a candidate`);
        this.#unreachable = true;
      }
      return undefined;
    }
    this.#logger.info(
      `Following the change log of database ${this.#target.display} as a standby from change ` +
        `${this.#applied}${this.#unreachable ? ", connected again" : ""}`,
    );
    this.#unreachable = false;
    this.#session = session;
    this.#role = "standby";
    this.#watch(session);
    return session;
  }

  /** Makes `session` dropping demote this process at once. */
  #watch(session: PostgresSession): void {
    session.onClose(() => {
      if (this.#session !== session) return;
      this.#lose(`The session with database ${this.#target.display} ended`);
    });
  }

  /** Takes over with `session`, which holds the leader lock: bump the epoch, catch up, lead. */
  async #takeOver(session: PostgresSession): Promise<void> {
    this.#epoch = await session.takeOver(this.#holder);
    // Nobody else can commit from now on: everything committed is in the log.
    while (await this.#follow(session));
    if (!(await this.#prove(session))) {
      throw new Error(`Lost the leader lock of database ${this.#target.display} while taking over`);
    }
    this.#nextSeq = this.#applied + 1;
    this.#durable = new DurableIndex({
      index: this.#index,
      store: { commit: (mutations) => this.#commit(session, mutations) },
      logger: this.#logger,
      onDiverged: this.#onDiverged,
      commitStats: this.commitStats,
    });
    this.#role = "leader";
    this.#lagChanges = 0;
    this.#lagSeconds = 0;
    this.stats.takeovers++;
    this.#logger.info(
      `Leading database ${this.#target.display} with epoch ${this.#epoch} from change ` +
        `${this.#applied} (${plural(this.#index.size, "package")})`,
    );
  }

  /** Renews the lease when a third of it has passed since the last proof. */
  async #renew(): Promise<void> {
    const session = this.#session!;
    if (this.#clock() - this.#provedAt < this.#leaseMs / 3) return;
    if (await this.#prove(session)) {
      this.stats.leaseRenewals++;
    } else {
      this.#lose(`Another process leads database ${this.#target.display} now`);
    }
  }

  /** Asks the database whether `session` still leads; extends the lease when it does. */
  async #prove(session: PostgresSession): Promise<boolean> {
    const sentAt = this.#clock();
    if (!(await session.provesLeadership(this.#epoch))) return false;
    this.#extendLease(sentAt);
    return true;
  }

  #extendLease(sentAt: number): void {
    if (this.#session === undefined || this.#session.closed) return;
    this.#provedAt = Math.max(this.#provedAt, sentAt);
    this.#leaseUntil = Math.max(this.#leaseUntil, sentAt + this.#leaseMs);
  }

  /** The leader's commit: fenced by session and epoch, numbered after the last change. */
  #commit(session: PostgresSession, mutations: readonly Mutation[]): Promise<void> {
    if (this.#role !== "leader" || this.#session !== session || session.closed) {
      return Promise.reject(new Error("This process no longer leads"));
    }
    const first = this.#nextSeq;
    this.#nextSeq += mutations.length;
    const sentAt = this.#clock();
    return session.commit(mutations, { epoch: this.#epoch, first, retain: this.#retain }).then(
      () => {
        this.#applied = first + mutations.length - 1;
        this.#extendLease(sentAt);
      },
      (error) => {
        if (this.#session !== session) throw error;
        if (session.closed || isFencedOut(error)) {
          this.#lose(`A commit failed: ${errorMessage(error)}`);
        } else {
          // The session and its lock are intact, so the process still leads; the next step
          // proves it again before the lease is extended.
          this.#nextSeq = this.#applied + 1;
          this.#provedAt = 0;
        }
        throw error;
      },
    );
  }

  /** Reads and replays one batch of the log; resolves to whether more may follow. */
  async #follow(session: PostgresSession): Promise<boolean> {
    const batch = await session.readChanges(this.#applied, {
      limit: READ_BATCH,
      tryLeaderLock: false,
    });
    await this.#replay(session, batch);
    return batch.changes.length === READ_BATCH;
  }

  /**
   * Replays `batch` into the index. Reloads the whole index instead when the log no longer holds
   * the next change or the replica cannot apply it.
   */
  async #replay(session: PostgresSession, batch: ChangeBatch): Promise<void> {
    if (this.#role !== "leader") this.#epoch = batch.epoch;
    // The lag is what this poll found before replaying: how far behind the replica had fallen.
    this.#lagChanges = Math.max(0, batch.last - this.#applied);
    this.#lagSeconds = this.#lagChanges === 0 ? 0 : batch.behindSeconds;
    if (batch.last > this.#applied && !this.#canReplay(batch)) await this.#reload(session);
  }

  /** Applies `batch` in order; `false` if its first change is not the next one or one fails. */
  #canReplay(batch: ChangeBatch): boolean {
    if (batch.changes[0]?.seq !== this.#applied + 1) return false;
    for (const { seq, mutation } of batch.changes) {
      const applied = mutation.kind === "index"
        ? this.#index.index(mutation.name, mutation.dependencies)
        : this.#index.remove(mutation.name);
      if (!applied && (mutation.kind === "index" || this.#index.has(mutation.name))) return false;
      this.#applied = seq;
    }
    return true;
  }

  async #reload(session: PostgresSession): Promise<void> {
    const behind = this.#applied;
    const snapshot = await session.loadSnapshot();
    this.#index = indexOf(snapshot.entries, this.#target.display);
    this.#applied = snapshot.seq;
    this.stats.reloads++;
    this.#logger.info(
      `Reloaded ${plural(this.#index.size, "package")} from database ${this.#target.display}: ` +
        `the change log no longer follows on from change ${behind}`,
    );
  }

  /**
   * Stops leading (or following) at once: no more answers, protocol connections closed, the
   * session ended (releasing the lock). Pending commits then fail and are undone; the next step
   * waits for that, reconnects and follows the log again.
   */
  #lose(reason: string): void {
    if (this.#role === "candidate" && this.#session === undefined) return; // already lost
    const wasLeader = this.#role === "leader";
    this.#role = "candidate";
    this.#leaseUntil = 0;
    const session = this.#session;
    this.#session = undefined;
    if (session !== undefined) void session.close();
    if (!wasLeader) {
      this.#logger.warn(`${reason}; following again once reconnected`);
      return;
    }
    this.stats.leaseFailures++;
    this.#logger.warn(`${reason}; no longer leading, so answering nothing`);
    this.#onDemoted();
    const durable = this.#durable;
    this.#durable = undefined;
    if (durable !== undefined) this.#settling = this.#settling.then(() => durable.flush());
  }
}

/** Builds the index of a snapshot, or throws a sentence naming the database. */
function indexOf(entries: Iterable<[string, string[]]>, display: string): PackageIndex {
  try {
    return PackageIndex.fromEntries(entries);
  } catch (error) {
    throw new Error(`Database ${display} holds an inconsistent index: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

/**
 * The protocol's view of a replicated index: reads and changes go to the durable index while
 * leading. Without one (the server answers nothing then), a change is refused and nothing moves.
 */
function forwardingOperations(durable: () => DurableIndex | undefined): IndexOperations {
  return {
    indexRequest: (request: RequestNames) => durable()?.indexRequest(request) ?? false,
    removeRequest: (request: RequestNames) => durable()?.removeRequest(request) ?? false,
    hasRequest: (request: RequestNames) => durable()?.hasRequest(request) ?? false,
    whenDurable: () => durable()?.whenDurable(),
  };
}

/**
 * An index that is always `current()`: for readers (the inspection API, metrics) of a standby
 * whose replica may be replaced by a reload. Methods are bound to the index of the moment, and
 * its `version` changes when the index is replaced, so that a walk in progress starts again
 * rather than mixing two indexes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { liveIndex } from "./replication.ts";
 * import { PackageIndex } from "../index/package_index.ts";
 *
 * let current = PackageIndex.fromEntries([["gmp", []]]);
 * const view = liveIndex(() => current);
 * assert.equal(view.has("gmp"), true);
 * const version = view.version;
 * current = new PackageIndex();
 * assert.equal(view.has("gmp"), false);
 * assert.equal(view.size, 0);
 * assert.notEqual(view.version, version);
 * ```
 */
export function liveIndex(current: () => PackageIndex): PackageIndex {
  let boundTo: PackageIndex | undefined;
  let bound = new Map<PropertyKey, unknown>();
  /** How many times the index was replaced, which `version` adds in its high bits. */
  let replacements = 0;
  return new Proxy({} as PackageIndex, {
    get(_target, key) {
      const index = current();
      if (index !== boundTo) {
        if (boundTo !== undefined) replacements++;
        boundTo = index;
        bound = new Map();
      }
      if (key === "version") return index.version + replacements * 2 ** 40;
      const value: unknown = Reflect.get(index, key, index);
      if (typeof value !== "function") return value;
      let method = bound.get(key);
      if (method === undefined) {
        method = value.bind(index);
        bound.set(key, method);
      }
      return method;
    },
  });
}
