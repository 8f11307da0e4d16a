/**
 * Keeping the `limit` smallest of a stream of strings in bounded memory, for answers such as
 * "the first 1,000 names in byte order" over a million names.
 *
 * @module
 */

/**
 * The `limit` smallest strings added so far (by `<`, which for ASCII is byte order), in a binary
 * max-heap: adding costs O(log limit), memory stays at `limit` strings however many are added,
 * and taking them out one at a time lets a caller spread the work over several turns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SmallestStrings } from "./smallest_strings.ts";
 *
 * const smallest = new SmallestStrings(3);
 * for (const name of ["isl", "gmp", "zlib", "cloog", "bzip2"]) smallest.add(name);
 * assert.equal(smallest.added, 5);
 * assert.equal(smallest.size, 3);
 * assert.equal(smallest.popLargest(), "gmp");
 * assert.equal(smallest.popLargest(), "cloog");
 * assert.equal(smallest.popLargest(), "bzip2");
 * assert.equal(smallest.popLargest(), undefined);
 * ```
 */
export class SmallestStrings {
  readonly #limit: number;
  /** A max-heap: every entry is at least as large as its children at `2i + 1` and `2i + 2`. */
  readonly #heap: string[] = [];
  #added = 0;

  /** Keeps at most `limit` strings, which must be at least 1. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** How many strings have been added, kept or not. */
  get added(): number {
    return this.#added;
  }

  /** How many strings are kept: the smaller of `limit` and the number added. */
  get size(): number {
    return this.#heap.length;
  }

  /**
   * The largest string kept once `limit` strings are kept, or `undefined` before: a string
   * that is not smaller would not be kept, so a caller can skip making it.
   */
  get largestKept(): string | undefined {
    return this.#heap.length === this.#limit ? this.#heap[0] : undefined;
  }

  /** Adds `value`, keeping it only while it is among the `limit` smallest so far. */
  add(value: string): void {
    this.#added++;
    const heap = this.#heap;
    if (heap.length < this.#limit) {
      heap.push(value);
      this.#siftUp(heap.length - 1);
    } else if (value < heap[0]!) {
      heap[0] = value;
      this.#siftDown(0);
    }
  }

  /** Removes and returns the largest string kept; `undefined` when none is left. */
  popLargest(): string | undefined {
    const heap = this.#heap;
    const largest = heap[0];
    const last = heap.pop();
    if (heap.length > 0) {
      heap[0] = last!;
      this.#siftDown(0);
    }
    return largest;
  }

  #siftUp(position: number): void {
    const heap = this.#heap;
    const value = heap[position]!;
    while (position > 0) {
      const parent = (position - 1) >> 1;
      if (heap[parent]! >= value) break;
      heap[position] = heap[parent]!;
      position = parent;
    }
    heap[position] = value;
  }

  #siftDown(position: number): void {
    const heap = this.#heap;
    const value = heap[position]!;
    while (true) {
      let child = 2 * position + 1;
      if (child >= heap.length) break;
      if (child + 1 < heap.length && heap[child + 1]! > heap[child]!) child++;
      if (heap[child]! <= value) break;
      heap[position] = heap[child]!;
      position = child;
    }
    heap[position] = value;
  }
}
