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

Deno.test("grownTo moves an array past 1 MiB into a WebAssembly memory once, then grows it in place", () => {
  let array = new Uint8Array(1024);
  array[1023] = 9;
  array = grownTo(array, { length: (1 << 20) + 1, maxLength: 1 << 26 });
  assert.equal(array.buffer.resizable, false, "a plain view, which V8 reads fastest");
  assert.equal(array[1023], 9);
  array[(1 << 20) + 1] = 8;
  const before = array;
  array = grownTo(array, { length: 3 << 20, maxLength: 1 << 26 });
  assert.equal(before.length, 0, "the old view's buffer is detached: the memory grew in place");
  assert.ok(array.length >= 3 << 20);
  assert.equal(array[1023], 9);
  assert.equal(array[(1 << 20) + 1], 8);
  assert.equal(array[(3 << 20) - 1], 0);
  const capped = grownTo(array, { length: (3 << 20) + 1, maxLength: (3 << 20) + 1 });
  assert.equal(capped.length, (3 << 20) + 65_536, "to the maximum, up to a 64 KiB page");
});

Deno.test("grownTo refuses to grow an array past its maximum, or one over 4 GiB", () => {
  assert.throws(
    () => grownTo(new Int32Array(8), { length: 100, maxLength: 64 }),
    /Cannot grow an array to 100 elements: it holds at most 64/,
  );
  assert.throws(
    () => grownTo(new Int32Array(8), { length: 100, maxLength: 2 ** 31 }),
    /Cannot grow an array that may hold 2147483648 elements of 4 bytes: a WebAssembly memory holds at most 4 GiB/,
  );
});

Deno.test("shrinkTo moves an array in a WebAssembly memory back into a plain one once it fits 1 MiB", () => {
  const big = grownTo(new Int32Array(1024), { length: 4 << 20, maxLength: 1 << 24 });
  big[5] = 5;
  assert.equal(shrinkTo(big, 1 << 19), big, "2 MiB in use: it stays");
  const small = shrinkTo(big, 1 << 10);
  assert.notEqual(small, big);
  assert.equal(small.length, 1 << 10);
  assert.equal(small[5], 5);
  const plain = new Int32Array(100);
  assert.equal(shrinkTo(plain, 10), plain);
});
