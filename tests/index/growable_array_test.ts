import assert from "node:assert/strict";
import { grownTo, shrinkTo } from "../../lib/index/growable_array.ts";

Deno.test("grownTo doubles a small plain array by copying, keeping its elements", () => {
  const small = Int32Array.of(1, 2, 3);
  const grown = grownTo(small, { length: 5, maxLength: 1 << 20 });
  assert.notEqual(grown, small);
  assert.equal(grown.buffer.resizable, false);
  assert.ok(grown.length >= 5);
  assert.deepEqual([...grown.subarray(0, 4)], [1, 2, 3, 0]);
  assert.equal(grownTo(grown, { length: 4, maxLength: 1 << 20 }), grown, "long enough already");
});

Deno.test("grownTo moves an array past 1 MiB into a resizable buffer once, then grows it in place", () => {
  let array = new Uint8Array(1024);
  array[1023] = 9;
  array = grownTo(array, { length: (1 << 20) + 1, maxLength: 1 << 26 });
  assert.equal(array.buffer.resizable, true);
  assert.equal(array[1023], 9);
  const same = grownTo(array, { length: 3 << 20, maxLength: 1 << 26 });
  assert.equal(same, array);
  assert.ok(array.length >= 3 << 20);
  assert.equal(array[1023], 9);
  assert.equal(array[(3 << 20) - 1], 0);
});

Deno.test("grownTo refuses to grow an array past its maximum", () => {
  assert.throws(
    () => grownTo(new Int32Array(8), { length: 100, maxLength: 64 }),
    /Cannot grow an array to 100 elements: it holds at most 64/,
  );
});

Deno.test("shrinkTo gives back the end of a resizable array and leaves plain ones alone", () => {
  const big = grownTo(new Int32Array(1024), { length: 4 << 20, maxLength: 1 << 24 });
  big[5] = 5;
  shrinkTo(big, 1 << 19);
  assert.equal(big.length, 1 << 19);
  assert.equal(big[5], 5);
  shrinkTo(big, (1 << 19) - 10);
  assert.equal(big.length, 1 << 19, "not worth it for a few elements");
  const plain = new Int32Array(100);
  shrinkTo(plain, 10);
  assert.equal(plain.length, 100);
});
