/**
 * Running read-only walks over the index without stalling the protocol, and without mixing two
 * states of the index in one answer.
 *
 * A walk is a generator that reads the index synchronously and `yield`s every few hundred steps.
 * The runner resumes it until a slice of about {@linkcode WALK_SLICE_MS} has passed, then gives
 * the event loop a turn (the connections are served meanwhile) and goes on. The index may change
 * during that turn, so before resuming the runner compares {@linkcode PackageIndex.version} with
 * the version the walk started from; if it changed, the walk starts again from scratch, and after
 * {@linkcode MAX_WALK_RESTARTS} restarts the runner gives up with {@linkcode IndexChangedError}.
 * Between two turns nothing else runs, so a walk that finishes saw one state of the index from
 * beginning to end; one that finishes within its first slice always does.
 *
 * Walks run one at a time, in the order they were asked for: two walks never share a turn, so the
 * protocol never waits for more than one slice.
 *
 * @module
 */

import { nextTurn } from "../util/event_loop.ts";
import type { PackageIndex } from "./package_index.ts";

/** What a walk is: a generator that yields between small steps and returns its answer. */
export type WalkSteps<T> = Generator<void, T, void>;

/** How many steps (a package or an edge looked at) a walk takes between two yields. */
export const STEPS_PER_YIELD = 256;

/**
 * Counts a walk's steps and says when to yield: the one way every walk paces itself, yielding
 * once per {@linkcode STEPS_PER_YIELD} steps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pace, STEPS_PER_YIELD } from "./walk_runner.ts";
 *
 * const pace = new Pace();
 * let yields = 0;
 * for (let i = 0; i < 10 * STEPS_PER_YIELD; i++) if (pace.step()) yields++;
 * assert.equal(yields, 10);
 * assert.equal(pace.step(STEPS_PER_YIELD), true); // a step may count as several
 * ```
 */
export class Pace {
  #steps = 0;

  /** Counts `count` steps; `true` once {@linkcode STEPS_PER_YIELD} have been counted since the last `true`. */
  step(count = 1): boolean {
    this.#steps += count;
    if (this.#steps < STEPS_PER_YIELD) return false;
    this.#steps = 0;
    return true;
  }
}

/**
 * Runs `steps` to its end at once, without giving the event loop a turn: for a walk over an index
 * that nothing else can see or change meanwhile, such as one being built.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runToEnd, type WalkSteps } from "./walk_runner.ts";
 *
 * function* count(): WalkSteps<number> {
 *   yield;
 *   yield;
 *   return 2;
 * }
 * assert.equal(runToEnd(count()), 2);
 * ```
 */
export function runToEnd<T>(steps: WalkSteps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** How long a walk runs before the event loop gets a turn, in milliseconds. */
export const WALK_SLICE_MS = 3;

/** How many times a walk starts again because the index changed, before it is given up. */
export const MAX_WALK_RESTARTS = 3;

/** How many walks may wait for their turn; more are refused with {@linkcode WalkerBusyError}. */
export const MAX_WAITING_WALKS = 32;

/** The index kept changing while a walk was running; asking again may succeed. */
export class IndexChangedError extends Error {
  /** Makes the error; the message says which walk and that trying again may help. */
  constructor(message: string) {
    super(message);
    this.name = "IndexChangedError";
  }
}

/** Too many walks are waiting for their turn already. */
export class WalkerBusyError extends Error {
  /** Makes the error; the message says how many walks are waiting. */
  constructor(message: string) {
    super(message);
    this.name = "WalkerBusyError";
  }
}

/** Options for {@linkcode WalkRunner}. */
export interface WalkRunnerOptions {
  /** Milliseconds a walk runs before the event loop gets a turn. Default: {@linkcode WALK_SLICE_MS}. */
  sliceMs?: number;
  /** The clock slices are measured with, in milliseconds. Default: `performance.now()`. */
  clock?: () => number;
}

/**
 * Runs walks over one index, one at a time, in slices, each on one state of the index.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PackageIndex } from "./package_index.ts";
 * import { WalkRunner, type WalkSteps } from "./walk_runner.ts";
 *
 * const index = PackageIndex.fromEntries([["gmp", []], ["isl", ["gmp"]]]);
 * const runner = new WalkRunner(index);
 * function* countDependencies(index: PackageIndex): WalkSteps<number> {
 *   let edges = 0;
 *   for (let slot = 0; slot < index.slotCount; slot++) {
 *     if (index.isIndexed(slot)) edges += index.degreeOf(slot);
 *     yield;
 *   }
 *   return edges;
 * }
 * assert.equal(await runner.run(countDependencies, "the dependency edges"), 1);
 * ```
 */
export class WalkRunner {
  readonly #index: PackageIndex;
  readonly #sliceMs: number;
  readonly #clock: () => number;
  /** Settles when the last walk asked for has finished: the next one starts after it. */
  #last: Promise<unknown> = Promise.resolve();
  #waiting = 0;
  #restarts = 0;

  /** Makes a runner of walks over `index`. */
  constructor(index: PackageIndex, options: WalkRunnerOptions = {}) {
    this.#index = index;
    this.#sliceMs = options.sliceMs ?? WALK_SLICE_MS;
    this.#clock = options.clock ?? (() => performance.now());
  }

  /** How many times a walk has started again because the index changed under it. */
  get restarts(): number {
    return this.#restarts;
  }

  /**
   * Runs `walk` after the walks asked for before it, and resolves to its answer, computed on one
   * state of the index. `what` names the walk for errors, such as `the blockers of 'gmp'`.
   * Rejects with {@linkcode IndexChangedError} when the index changed during every attempt, with
   * {@linkcode WalkerBusyError} when too many walks wait already, and with whatever the walk
   * throws.
   */
  run<T>(walk: (index: PackageIndex) => WalkSteps<T>, what: string): Promise<T> {
    if (this.#waiting >= MAX_WAITING_WALKS) {
      return Promise.reject(
        new WalkerBusyError(
          `Cannot walk ${what} now: ${this.#waiting} walks are waiting already; try again.`,
        ),
      );
    }
    this.#waiting++;
    const result = this.#last.then(() => {
      this.#waiting--;
      return this.#walk(walk, what);
    });
    this.#last = result.catch(() => {});
    return result;
  }

  async #walk<T>(walk: (index: PackageIndex) => WalkSteps<T>, what: string): Promise<T> {
    const index = this.#index;
    const clock = this.#clock;
    for (let attempt = 0; attempt <= MAX_WALK_RESTARTS; attempt++) {
      if (attempt > 0) this.#restarts++;
      const version = index.version;
      const steps = walk(index);
      let sliceEnd = clock() + this.#sliceMs;
      let step = steps.next();
      while (!step.done) {
        if (clock() >= sliceEnd) {
          await nextTurn();
          if (index.version !== version) break;
          sliceEnd = clock() + this.#sliceMs;
        }
        step = steps.next();
      }
      if (step.done) return step.value;
    }
    throw new IndexChangedError(
      `The index kept changing while walking ${what} (${MAX_WALK_RESTARTS + 1} attempts); ` +
        "try again.",
    );
  }
}
