import assert from "node:assert/strict";
import { Histogram } from "../lib/histogram.ts";
import { createRandom } from "../lib/random.ts";

Deno.test("Histogram reports small values exactly", () => {
  const histogram = new Histogram();
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
  const histogram = new Histogram();
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
  const histogram = new Histogram();
  histogram.record(1000);
  assert.deepEqual(histogram.percentile(50), 1000);
});

Deno.test("Histogram is empty-safe and counts negative values as 0", () => {
  const histogram = new Histogram();
  assert.deepEqual(histogram.percentile(99), 0);
  histogram.record(-5);
  assert.deepEqual(histogram.percentile(50), 0);
  assert.deepEqual(histogram.max, 0);
});
