/**
 * Typed arrays that grow without a long copy: the index's tables never stop the server to move
 * megabytes into a bigger array.
 *
 * An array starts as a plain typed array and doubles by copying while it is at most 1 MiB: such
 * a copy costs well under a millisecond, and V8 reads plain typed arrays fastest (an index the
 * size of Homebrew's never leaves this stage). Past 1 MiB it moves, once, into a view that tracks
 * the length of a resizable `ArrayBuffer` (ES2024). V8 reserves that buffer's maximum size as
 * address space up front, and growing it only makes more of those reserved pages usable: no
 * allocation, no copy, microseconds whatever the size, and the new pages cost memory only once
 * they are written. Shrinking gives pages back to the system. The reservation is address space,
 * not memory: a 64-bit process has terabytes of it. The price is that V8 reads such views more
 * slowly than plain arrays (measured in docs/decisions.md, "Growth without a stop").
 *
 * @module
 */

/** The typed arrays this module grows. */
export type GrowableArray =
  | Int32Array<ArrayBuffer>
  | Uint32Array<ArrayBuffer>
  | Uint8Array<ArrayBuffer>;

/** The largest plain array: past it, an array grows in place instead of by copying. */
const PLAIN_BYTES = 1 << 20;

/**
 * `array`, or the array that replaces it, with room for at least `length` elements, never past
 * `maxLength`: a plain array up to 1 MiB doubles by copying; past it, the array moves once into
 * a view of a resizable buffer that can hold `maxLength` elements, which then grows in place by
 * a quarter at least. The new elements are zero. Throws a `RangeError` when `length` is past
 * `maxLength`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grownTo } from "./growable_array.ts";
 *
 * let counts = new Int32Array(4);
 * counts[3] = 7;
 * counts = grownTo(counts, { length: 1_000_000, maxLength: 1 << 24 });
 * assert.ok(counts.length >= 1_000_000);
 * assert.equal(counts[3], 7);
 * const same = grownTo(counts, { length: 2_000_000, maxLength: 1 << 24 });
 * assert.equal(same, counts); // past 1 MiB it grows in place: nothing is copied
 * ```
 */
export function grownTo<T extends GrowableArray>(
  array: T,
  options: { length: number; maxLength: number },
): T {
  const { length, maxLength } = options;
  if (length <= array.length) return array;
  if (length > maxLength) {
    throw new RangeError(
      `Cannot grow an array to ${length} elements: it holds at most ${maxLength}`,
    );
  }
  const bytes = array.BYTES_PER_ELEMENT;
  if (array.buffer.resizable) {
    const target = Math.min(maxLength, Math.max(length, array.length + (array.length >>> 2)));
    array.buffer.resize(target * bytes);
    return array;
  }
  const type = array.constructor as new (buffer: ArrayBuffer) => T;
  const target = Math.min(maxLength, Math.max(length, 2 * array.length, 1024));
  const buffer = target * bytes <= PLAIN_BYTES
    ? new ArrayBuffer(target * bytes)
    : new ArrayBuffer(target * bytes, { maxByteLength: maxLength * bytes });
  const copy = new type(buffer);
  copy.set(array);
  return copy;
}

/**
 * Shrinks `array` to `length` elements when it is a view of a resizable buffer (see
 * {@linkcode grownTo}) and that frees at least a quarter of it, giving the pages after it back
 * to the system. A plain array stays as it is.
 */
export function shrinkTo(array: GrowableArray, length: number): void {
  if (!array.buffer.resizable) return;
  const target = Math.max(length, PLAIN_BYTES / array.BYTES_PER_ELEMENT);
  if (target > array.length - (array.length >>> 2)) return;
  array.buffer.resize(target * array.BYTES_PER_ELEMENT);
}
