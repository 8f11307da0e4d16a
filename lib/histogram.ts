/**
 * A fixed-size latency histogram: constant memory and O(1) recording however many samples, with
 * every value kept to within 1/64 (about 1.6%) of its true size.
 *
 * @module
 */

/** Sub-buckets per power of two; the relative precision of a recorded value is 1/this/2. */
const SUB_BUCKETS = 64;
/** Powers of two covered: values up to 2^40 units (about 12 days in microseconds). */
const MAGNITUDES = 40;

/**
 * Counts non-negative integer values (such as latencies in microseconds) in log-linear buckets,
 * like HdrHistogram: values below 128 are exact, larger ones fall in one of 64 equal buckets per
 * power of two. Percentiles come out within 1.6% of the true value; the maximum is exact.
 *
 * @example
 * ```ts
 * import { Histogram } from "./histogram.ts";
 *
 * const histogram = new Histogram();
 * for (let i = 1; i <= 100; i++) histogram.record(i);
 * histogram.percentile(50); // 50
 * histogram.max; // 100
 * ```
 */
export class Histogram {
  readonly #counts = new Float64Array((MAGNITUDES + 1) * SUB_BUCKETS);
  #count = 0;
  #max = 0;

  /** The number of values recorded. */
  get count(): number {
    return this.#count;
  }

  /** The largest value recorded, exactly; 0 when empty. */
  get max(): number {
    return this.#max;
  }

  /** Records `value`, rounded down to an integer; negative values count as 0. */
  record(value: number): void {
    const v = value > 0 ? Math.floor(value) : 0;
    this.#counts[bucketOf(v)]!++;
    this.#count++;
    if (v > this.#max) this.#max = v;
  }

  /**
   * The smallest recorded value that `percent` % of the values are at or below, reported as the
   * highest value of its bucket (never above the maximum); 0 when empty.
   */
  percentile(percent: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((percent / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(highestValueOf(i), this.#max);
    }
    return this.#max;
  }
}

function bucketOf(value: number): number {
  if (value < 2 * SUB_BUCKETS) return value;
  // value >> shift lands in [SUB_BUCKETS, 2 * SUB_BUCKETS).
  const shift = Math.min(Math.floor(Math.log2(value)) - 6, MAGNITUDES - 1);
  const sub = Math.min(Math.floor(value / 2 ** shift), 2 * SUB_BUCKETS - 1);
  return (shift + 1) * SUB_BUCKETS + sub - SUB_BUCKETS;
}

function highestValueOf(bucket: number): number {
  if (bucket < 2 * SUB_BUCKETS) return bucket;
  const shift = Math.floor(bucket / SUB_BUCKETS) - 1;
  const sub = (bucket % SUB_BUCKETS) + SUB_BUCKETS;
  return (sub + 1) * 2 ** shift - 1;
}
