import assert from "node:assert/strict";
import { Histogram, LOG_LINEAR_BOUNDS } from "../../lib/util/histogram.ts";
import { createRandom } from "../../lib/tools/random.ts";

Deno.test("Histogram reports small values exactly", () => {
  const histogram = new Histogram(LOG_LINEAR_BOUNDS);
  for (let i = 1; i <= 100; i++) histogram.record(i);
  assert.deepEqual(histogram.count, 100);
  assert.deepEqual(histogram.percentile(50), 50);
  assert.deepEqual(histogram.percentile(90), 90);
  assert.deepEqual(histogram.percentile(99), 99);
  assert.deepEqual(histogram.percentile(100), 100);
  assert.deepEqual(histogram.max, 100);
});

Deno.test("Histogram percentiles stay within 1/64 of the exact ones over a wide range", () => {
  const random = createRandom(3);
  const values: number[] = [];
  const histogram = new Histogram(LOG_LINEAR_BOUNDS);
  for (let i = 0; i < 20000; i++) {
    const value = Math.floor(Math.exp(random() * 16)); // 1 to ~9 million
    values.push(value);
    histogram.record(value);
  }
  values.sort((a, b) => a - b);
  for (const percent of [50, 90, 99, 99.9]) {
    const exact = values[Math.ceil((percent / 100) * values.length) - 1]!;
    const reported = histogram.percentile(percent);
    assert.ok(reported >= exact, `p${percent}: ${reported} < ${exact}`);
    assert.ok(reported <= exact * (1 + 1 / 64), `p${percent}: ${reported} vs ${exact}`);
  }
  assert.deepEqual(histogram.max, values.at(-1));
});

Deno.test("Histogram never reports a percentile above the maximum", () => {
  const histogram = new Histogram(LOG_LINEAR_BOUNDS);
  histogram.record(1000);
  assert.deepEqual(histogram.percentile(50), 1000);
});

Deno.test("Histogram is empty-safe and counts negative values as 0", () => {
  const histogram = new Histogram(LOG_LINEAR_BOUNDS);
  assert.deepEqual(histogram.percentile(99), 0);
  histogram.record(-5);
  assert.deepEqual(histogram.percentile(50), 0);
  assert.deepEqual(histogram.max, 0);
});

Deno.test("Histogram counts each value in the first bucket whose bound is at least the value", () => {
  const histogram = new Histogram([0.001, 0.01]);
  histogram.record(0.001);
  histogram.record(0.0010001, 3);
  histogram.record(0.5);
  assert.deepEqual(histogram.bucketCounts(), [1, 3, 1]);
  assert.equal(histogram.count, 5);
  assert.equal(histogram.sum, 0.001 + 0.0010001 * 3 + 0.5);
});
