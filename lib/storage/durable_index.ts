/**
 * The index with durability: changes are applied in memory at once, written to a store in group
 * commits, and rolled back in memory if their commit fails.
 *
 * @module
 */

import { clearImmediate, setImmediate } from "node:timers";
import type { IndexOperations, RequestNames } from "../protocol/command_table.ts";
import { namesOf, requestDependencies, requestName } from "../protocol/request_parser.ts";
import { PackageIndex, REFUSED, UNCHANGED } from "../index/package_index.ts";
import { errorMessage } from "../util/errors.ts";
import { Histogram } from "../util/histogram.ts";
import type { Logger } from "../util/log.ts";
import { plural } from "../util/plural.ts";
import { DataFileError, type Mutation, SqliteStore, type SyncMode } from "./sqlite_store.ts";

/**
 * Where committed mutations go: {@linkcode SqliteStore} commits synchronously, a PostgreSQL store
 * asynchronously.
 */
export interface MutationStore {
  /**
   * Persists all of `mutations` atomically, or throws (or rejects) having persisted none. It is
   * called as soon as their group closes, before anything else changes the index: a synchronous
   * store may read what the index holds now for the packages they name instead of the names in
   * them ({@linkcode SqliteStore.commit} reads their slots and dependencies). A returned promise
   * settles once the commit is decided; until then no other commit starts, so an asynchronous
   * store must take what it writes from `mutations` themselves.
   */
  commit(mutations: readonly Mutation[]): void | Promise<void>;
}

/** Upper bounds, in seconds, of the commit latency histogram's buckets. */
export const COMMIT_LATENCY_BOUNDS: readonly number[] = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
];

/** Counters about commits, for metrics. */
export interface CommitStats {
  /** Transactions committed. */
  commits: number;
  /** Transactions that failed and were rolled back in memory. */
  failures: number;
  /** Commit durations in seconds, in the buckets of {@linkcode COMMIT_LATENCY_BOUNDS}. */
  latency: Histogram;
}

/** A group of mutations committed together, and the promise their replies wait on. */
interface CommitGroup {
  applied: AppliedMutation[];
  done: PromiseWithResolvers<boolean>;
}

/** A mutation applied in memory and how to take it back. */
interface AppliedMutation {
  mutation: Mutation;
  /** The package's dependencies before, or `undefined` when it was not indexed. */
  previous: string[] | undefined;
}

/** Options for {@linkcode DurableIndex}. */
export interface DurableIndexOptions {
  /** The in-memory index, already loaded from the store. It answers every request. */
  index: PackageIndex;
  /** Where committed mutations are written. */
  store: MutationStore;
  /** Where commit failures are reported. */
  logger: Logger;
  /**
   * Called once, synchronously, if a failed commit cannot be undone in memory (unreachable while
   * the index is correct). Memory and the store then disagree: nothing more is committed, every
   * reply from then on must be `ERROR`, and the owner must stop and restart from the store.
   */
  onDiverged: (error: Error) => void;
  /** Where to count commits, to share the counters between indexes; default: new counters. */
  commitStats?: CommitStats;
}

/** Commit counters at zero. */
export function newCommitStats(): CommitStats {
  return { commits: 0, failures: 0, latency: new Histogram(COMMIT_LATENCY_BOUNDS) };
}

/** What {@linkcode DurableIndex.whenDurable} returns once memory and the store disagree. */
const NEVER_DURABLE = Promise.resolve(false);

/**
 * Wraps the in-memory index so that every successful mutation is also written to a store. All
 * mutations applied during one turn of the event loop, from every connection, go into one
 * transaction (a group commit) at the end of that turn. With a store that commits asynchronously,
 * at most one commit is in flight; the mutations applied meanwhile form the next group, committed
 * as soon as the one in flight succeeds.
 *
 * Callers must not reply before the changes a reply may have observed are durable: after
 * answering a batch of requests, await {@linkcode DurableIndex.whenDurable}. A batch that only
 * asked about packages no pending change touches, or re-indexed such packages with the
 * dependencies they already have (which writes nothing), observed nothing that is not durable,
 * and need not wait: `whenDurable` then returns `undefined`. When a commit fails, its mutations are undone
 * in memory, newest first, and `whenDurable` resolves to `false` so that every reply that waited
 * on it can be turned into `ERROR`; a later group waiting behind a failed one is undone with it
 * (it may depend on it) and fails too. Failures are logged once per
 * episode: the first one, and the first success after them with their count. If the undo itself
 * fails, the index stops (see {@linkcode DurableIndexOptions.onDiverged}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DurableIndex } from "./durable_index.ts";
 * import { PackageIndex, REFUSED } from "../index/package_index.ts";
 * import { createLogger } from "../util/log.ts";
 *
 * const written: unknown[] = [];
 * const durable = new DurableIndex({
 *   index: new PackageIndex(),
 *   store: { commit: (mutations) => void written.push(...mutations) },
 *   logger: createLogger(),
 *   onDiverged: (error) => assert.fail(error),
 * });
 * assert.equal(durable.index("gmp", []), true); // applied in memory at once
 * assert.equal(written.length, 0); // not written yet: the group commit runs at the end of the turn
 * assert.equal(await durable.whenDurable(), true);
 * assert.deepEqual(written, [{ kind: "index", name: "gmp", dependencies: [] }]);
 * ```
 */
export class DurableIndex implements IndexOperations {
  /** Commit counters and latencies. */
  readonly commitStats: CommitStats;
  readonly #index: PackageIndex;
  readonly #store: MutationStore;
  readonly #logger: Logger;
  readonly #onDiverged: (error: Error) => void;
  /** Mutations applied in memory since the last commit began, oldest first. */
  #pending: AppliedMutation[] = [];
  /** Settles the group of #pending once it is committed (true) or rolled back (false). */
  #group: PromiseWithResolvers<boolean> | undefined;
  /** The group whose asynchronous commit is in flight. */
  #inFlight: CommitGroup | undefined;
  /** How many not-yet-durable changes (pending or in flight) touch each package. */
  readonly #dirty = new Map<string, number>();
  /**
   * Whether a request since the last {@linkcode DurableIndex.whenDurable} may have observed a
   * change that is not durable yet: any INDEX or REMOVE, except an INDEX that changes nothing,
   * or a QUERY of a dirty package (or such an INDEX).
   */
  #observed = false;
  #commitTimer: ReturnType<typeof setImmediate> | undefined;
  /** The failed commits since the last one that succeeded, and their changes. */
  #failing = { commits: 0, changes: 0 };
  /** Set once a failed commit could not be undone in memory. */
  #diverged = false;

  /** Wraps `options.index`; mutations are written to `options.store`. */
  constructor(options: DurableIndexOptions) {
    this.#index = options.index;
    this.#store = options.store;
    this.#logger = options.logger;
    this.#onDiverged = options.onDiverged;
    this.commitStats = options.commitStats ?? newCommitStats();
  }

  /**
   * Indexes the request's package in memory and schedules its commit, unless the package already
   * has exactly these dependencies. See {@linkcode PackageIndex.indexRequest}.
   */
  indexRequest(request: RequestNames): boolean {
    const previous = this.#index.indexReplacing(request);
    if (previous === UNCHANGED) {
      // Nothing to commit. The reply tells what the package's state is: durable unless a pending
      // change touches the package (its dependencies were indexed before it, durably too).
      this.#observeIfDirty(request);
      return true;
    }
    this.#observed = true;
    if (previous === REFUSED) return false;
    const mutation: Mutation = {
      kind: "index",
      name: requestName(request),
      dependencies: requestDependencies(request),
    };
    this.#record({ mutation, previous });
    return true;
  }

  /**
   * Removes the request's package in memory and schedules its commit. See
   * {@linkcode PackageIndex.removeRequest}.
   */
  removeRequest(request: RequestNames): boolean {
    this.#observed = true;
    const previous = this.#index.removeReplacing(request);
    if (previous === REFUSED) return false;
    if (previous !== undefined) {
      this.#record({ mutation: { kind: "remove", name: requestName(request) }, previous });
    }
    return true;
  }

  /**
   * Whether the request's package is indexed (in memory: possibly not yet durable). Only while
   * changes are pending does it look the name up among them (making a string of it).
   */
  hasRequest(request: RequestNames): boolean {
    this.#observeIfDirty(request);
    return this.#index.hasRequest(request);
  }

  /** Indexes `name` with exactly `dependencies`; see {@linkcode DurableIndex.indexRequest}. */
  index(name: string, dependencies: readonly string[]): boolean {
    return this.indexRequest(namesOf(name, dependencies));
  }

  /** Removes `name`; see {@linkcode DurableIndex.removeRequest}. */
  remove(name: string): boolean {
    return this.removeRequest(namesOf(name, []));
  }

  /** Whether `name` is indexed (in memory: possibly not yet durable). */
  has(name: string): boolean {
    return this.#index.has(name);
  }

  /**
   * For the requests answered since the last call: the outcome of the commit that makes durable
   * everything they may have observed. `true` once it is committed, `false` if it failed and was
   * undone (and always, once memory and the store disagree). `undefined` when nothing is waiting
   * to be committed, or those requests observed only durable state (QUERY of packages no pending
   * change touches), so a caller can reply at once without awaiting anything.
   */
  whenDurable(): Promise<boolean> | undefined {
    if (this.#diverged) return NEVER_DURABLE;
    const observed = this.#observed;
    this.#observed = false;
    return observed ? this.#settled() : undefined;
  }

  /**
   * Commits whatever is pending now instead of at the end of the turn, as shutdown needs, and
   * resolves once nothing is pending or in flight.
   */
  async flush(): Promise<void> {
    while (!this.#diverged) {
      if (this.#pending.length > 0 && this.#inFlight === undefined) this.#commit();
      const settled = this.#settled();
      if (settled === undefined) return;
      await settled;
    }
  }

  /** Notes that the request observed a change that is not durable yet, if it names a dirty package. */
  #observeIfDirty(request: RequestNames): void {
    if (this.#dirty.size > 0 && !this.#observed && this.#dirty.has(requestName(request))) {
      this.#observed = true;
    }
  }

  /** The outcome of the commit of everything applied so far; `undefined` when all is durable. */
  #settled(): Promise<boolean> | undefined {
    return (this.#group ?? this.#inFlight?.done)?.promise;
  }

  #record(applied: AppliedMutation): void {
    if (this.#diverged) return; // memory is no longer what the store holds: commit nothing
    this.#pending.push(applied);
    const { name } = applied.mutation;
    this.#dirty.set(name, (this.#dirty.get(name) ?? 0) + 1);
    if (this.#group !== undefined) return;
    this.#group = Promise.withResolvers<boolean>();
    // An immediate runs once every read that completed in this turn of the event loop has been
    // answered in memory: that is the whole group. (A zero-delay setTimeout would wait about
    // 2 ms in Deno and hold every waiting reply that long.)
    this.#commitTimer = setImmediate(() => this.#commit());
  }

  #commit(): void {
    if (this.#commitTimer !== undefined) clearImmediate(this.#commitTimer);
    this.#commitTimer = undefined;
    // The group waits for the commit in flight; that commit's end starts it.
    if (this.#inFlight !== undefined || this.#diverged) return;
    const group: CommitGroup = { applied: this.#pending, done: this.#group! };
    this.#pending = [];
    this.#group = undefined;
    const started = performance.now();
    let committing: void | Promise<void>;
    try {
      committing = this.#store.commit(group.applied.map(({ mutation }) => mutation));
    } catch (error) {
      this.#failed(group, error);
      return;
    }
    if (!(committing instanceof Promise)) {
      this.#succeeded(group, started);
      return;
    }
    this.#inFlight = group;
    committing.then(
      () => {
        this.#inFlight = undefined;
        this.#succeeded(group, started);
        if (this.#pending.length > 0) this.#commit();
      },
      (error) => {
        this.#inFlight = undefined;
        this.#failed(group, error);
      },
    );
  }

  /**
   * Undoes a failed group in memory, and with it the group applied while it was in flight (newest
   * first: the later one may depend on it), and answers both `false`.
   */
  #failed(group: CommitGroup, error: unknown): void {
    this.commitStats.failures++;
    const later = this.#group;
    const applied = [...group.applied, ...this.#pending];
    this.#pending = [];
    this.#group = undefined;
    this.#rollBack(applied, error);
    this.#clean(applied);
    group.done.resolve(false);
    later?.resolve(false);
  }

  /** Marks the packages of `applied` as no longer touched by them: they are durable or undone. */
  #clean(applied: readonly AppliedMutation[]): void {
    for (const { mutation: { name } } of applied) {
      const count = this.#dirty.get(name)! - 1;
      if (count === 0) this.#dirty.delete(name);
      else this.#dirty.set(name, count);
    }
  }

  #succeeded(group: CommitGroup, started: number): void {
    this.commitStats.latency.record((performance.now() - started) / 1000);
    this.commitStats.commits++;
    const { commits, changes } = this.#failing;
    if (commits > 0) {
      this.#logger.info(
        `Commits succeed again after ${plural(commits, "failed commit")} of ` +
          `${plural(changes, "change")}, all undone in memory and answered ERROR`,
      );
      this.#failing = { commits: 0, changes: 0 };
    }
    this.#clean(group.applied);
    group.done.resolve(true);
  }

  /**
   * Undoes the changes of a failed commit in memory and logs the failure if it is the first of
   * an episode; the next commit that succeeds logs how many failed. If the undo fails, reports
   * the divergence instead.
   */
  #rollBack(applied: readonly AppliedMutation[], commitError: unknown): void {
    try {
      this.#undo(applied);
    } catch (undoError) {
      this.#diverged = true;
      this.#onDiverged(
        new Error(
          `${errorMessage(undoError)} after a commit failed (${errorMessage(commitError)}): ` +
            "memory and the data file disagree, so every reply is ERROR until a restart " +
            "reloads the file",
        ),
      );
      return;
    }
    if (this.#failing.commits === 0) {
      this.#logger.error(
        `Commit of ${plural(applied.length, "change")} failed; undone in memory and answered ` +
          `ERROR: ${
            errorMessage(commitError)
          }. Further failures are counted until a commit succeeds`,
      );
    }
    this.#failing.commits++;
    this.#failing.changes += applied.length;
  }

  /** Takes back `applied` in memory, newest first. Each step returns to a state that was valid. */
  #undo(applied: readonly AppliedMutation[]): void {
    for (let i = applied.length - 1; i >= 0; i--) {
      const { mutation, previous } = applied[i]!;
      const undone = previous === undefined
        ? this.#index.remove(mutation.name)
        : this.#index.index(mutation.name, previous);
      if (!undone) {
        // Unreachable while the index is correct; if it ever happens, memory and disk disagree
        // and the only safe thing left is to stop.
        throw new Error(`Cannot undo the change to '${mutation.name}'`);
      }
    }
  }
}

/** Options for {@linkcode openDurableIndex}. */
export interface OpenDurableIndexOptions {
  /** How hard each commit pushes data to disk. */
  sync: SyncMode;
  /** Where commit failures are reported. */
  logger: Logger;
  /** Whether to start empty in place of a file that looks emptied; see {@linkcode SqliteStore.open}. */
  allowEmpty?: boolean;
  /** Called if memory and the file come to disagree; see {@linkcode DurableIndexOptions.onDiverged}. */
  onDiverged: (error: Error) => void;
}

/** A data file opened and loaded: the index to serve and the store to close at shutdown. */
export interface OpenedDataFile {
  /** The index to serve; it persists every change. */
  durable: DurableIndex;
  /** The loaded in-memory index, for its size. */
  index: PackageIndex;
  /** The database; flush `durable` and then close this at shutdown. */
  store: SqliteStore;
}

/**
 * Opens the data file at `path` (creating it if missing), loads and checks every stored package,
 * and only then prepares the file for writing. Throws {@linkcode DataFileError} when the file
 * cannot be opened, is not a pkgindex database, or holds an inconsistent index (a dependency that
 * is not stored, or a cycle); the file is left untouched in those cases.
 */
export function openDurableIndex(path: string, options: OpenDurableIndexOptions): OpenedDataFile {
  const store = SqliteStore.open(path, { allowEmpty: options.allowEmpty ?? false });
  let index: PackageIndex;
  try {
    index = store.load();
    store.prepareForWrites(options.sync);
  } catch (error) {
    store.close();
    throw new DataFileError(`Data file '${path}' cannot be used: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  const durable = new DurableIndex({
    index,
    store,
    logger: options.logger,
    onDiverged: options.onDiverged,
  });
  return { durable, index, store };
}
