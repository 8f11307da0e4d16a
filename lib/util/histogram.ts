/**
 * A histogram with fixed bucket bounds: constant memory however many values it counts.
 *
 * @module
 */

/**
 * Counts values in buckets with fixed upper bounds (a value lands in the first bucket whose
 * bound is at least the value; values above every bound land in one last bucket), and keeps
 * their count, sum and exact maximum. Recording is a binary search over the bounds.
 *
 * One class serves both latency reports of pkgindex: the commit durations that `/metrics`
 * exposes in Prometheus bucket bounds, and the request latencies that `pkgindex bench` reports
 * as percentiles with {@linkcode LOG_LINEAR_BOUNDS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Histogram } from "./histogram.ts";
 *
 * const histogram = new Histogram([0.001, 0.01, 0.1]);
 * histogram.record(0.0005);
 * histogram.record(0.05, 2); // two values of 0.05
 * histogram.record(3);
 * assert.deepEqual(histogram.bucketCounts(), [1, 0, 2, 1]);
 * assert.equal(histogram.count, 4);
 * assert.equal(histogram.max, 3);
 * assert.equal(histogram.percentile(50), 0.1);
 * ```
 */
export class Histogram {
  /** The buckets' upper bounds, ascending. */
  readonly bounds: readonly number[];
  /** Values per bucket; the last one counts values above every bound. */
  readonly #counts: Float64Array;
  #count = 0;
  #sum = 0;
  #max = 0;

  /** Makes an empty histogram with these upper bounds, which must be ascending. */
  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.#counts = new Float64Array(bounds.length + 1);
  }

  /** The number of values recorded. */
  get count(): number {
    return this.#count;
  }

  /** The sum of the values recorded. */
  get sum(): number {
    return this.#sum;
  }

  /** The largest value recorded, exactly; 0 when empty. */
  get max(): number {
    return this.#max;
  }

  /** Records `value`, `times` times (default once). */
  record(value: number, times = 1): void {
    const bounds = this.bounds;
    let low = 0;
    let high = bounds.length; // the overflow bucket
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (bounds[middle]! >= value) high = middle;
      else low = middle + 1;
    }
    this.#counts[low]! += times;
    this.#count += times;
    this.#sum += value * times;
    if (value > this.#max) this.#max = value;
  }

  /** The number of values in each bucket (not cumulative); the last is above every bound. */
  bucketCounts(): number[] {
    return Array.from(this.#counts);
  }

  /**
   * The smallest bucket bound that `percent` % of the values are at or below, never more than
   * the maximum (which it is when the rank falls above every bound); 0 when empty.
   */
  percentile(percent: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((percent / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(this.bounds[i]!, this.#max);
    }
    return this.#max;
  }
}

/**
 * Bounds for integer values such as latencies in microseconds, like HdrHistogram's: every value
 * below 128 has its own bucket, and each power of two above is cut into 64 equal buckets, up to
 * 2^40 (about 12 days in microseconds). A percentile read with these bounds is within 1/64
 * (about 1.6%) of the true value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Histogram, LOG_LINEAR_BOUNDS } from "./histogram.ts";
 *
 * const histogram = new Histogram(LOG_LINEAR_BOUNDS);
 * for (let i = 1; i <= 1000; i++) histogram.record(i);
 * assert.ok(Math.abs(histogram.percentile(99) - 990) <= 990 / 64);
 * ```
 */
export const LOG_LINEAR_BOUNDS: readonly number[] = (() => {
  const bounds: number[] = [];
  for (let value = 0; value < 128; value++) bounds.push(value);
  for (let shift = 1; shift < 40; shift++) {
    for (let sub = 64; sub < 128; sub++) bounds.push((sub + 1) * 2 ** shift - 1);
  }
  return bounds;
})();
