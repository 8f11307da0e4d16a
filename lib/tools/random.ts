/**
 * A small seeded pseudo-random generator, so test data and load runs repeat exactly.
 *
 * @module
 */

/** Returns numbers in [0, 1), like `Math.random`, from a 32-bit state. */
export type Random = () => number;

/**
 * Makes a seeded generator (mulberry32): the same seed always gives the same sequence. Good
 * enough for test data and load shaping; not for anything secret.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createRandom } from "./random.ts";
 *
 * const a = createRandom(42);
 * const b = createRandom(42);
 * assert.equal(a(), b());
 * ```
 */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, `bound`) from `random`. */
export function randomInt(random: Random, bound: number): number {
  return Math.floor(random() * bound);
}

/** Shuffles `items` in place (Fisher-Yates) and returns it. */
export function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
