/**
 * Typed arrays that grow in place, without copying: the index's tables never stop the server
 * to move their contents into a bigger array.
 *
 * Each array is a view that tracks the length of a resizable `ArrayBuffer` (ES2024). V8 reserves
 * the buffer's maximum size as address space up front, and growing it only makes more of those
 * reserved pages usable: no allocation, no copy, a few microseconds whatever the size, and the
 * new pages cost memory only once they are written. Shrinking gives pages back to the system.
 * The reservation is address space, not memory: a 64-bit process has terabytes of it.
 *
 * Such buffers come from V8's page allocator, not from `malloc`, so a big table is always fresh
 * zeroed pages (never a `memset`), and its pages go back to the system when it is dropped rather
 * than staying in the heap of the C library.
 *
 * @module
 */

/** The typed arrays this module makes. */
export type GrowableArray =
  | Int32Array<ArrayBuffer>
  | Uint32Array<ArrayBuffer>
  | Uint8Array<ArrayBuffer>;

/** The constructor of a {@linkcode GrowableArray}. */
export type GrowableArrayType<T extends GrowableArray> = {
  new (buffer: ArrayBuffer): T;
  readonly BYTES_PER_ELEMENT: number;
};

/**
 * A zero-filled array of `length` elements whose buffer may later grow, in place, to
 * `maxLength` elements (see {@linkcode growTo}). Throws a `RangeError` when `maxLength` cannot
 * be reserved.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { growableArray, growTo } from "./growable_array.ts";
 *
 * const counts = growableArray(Int32Array, { length: 4, maxLength: 1 << 20 });
 * counts[3] = 7;
 * growTo(counts, 100_000);
 * assert.ok(counts.length >= 100_000);
 * assert.equal(counts[3], 7); // the same array, grown: nothing was copied
 * ```
 */
export function growableArray<T extends GrowableArray>(
  type: GrowableArrayType<T>,
  options: { length: number; maxLength: number },
): T {
  const bytes = type.BYTES_PER_ELEMENT;
  return new type(
    new ArrayBuffer(options.length * bytes, { maxByteLength: options.maxLength * bytes }),
  );
}

/** How many elements `array` can ever hold: the most {@linkcode growTo} can give it. */
export function maxLengthOf(array: GrowableArray): number {
  return array.buffer.maxByteLength / array.BYTES_PER_ELEMENT;
}

/**
 * Grows `array`, made by {@linkcode growableArray}, in place to at least `length` elements: by a
 * quarter at least, so that appending element by element costs few resizes, never past its
 * maximum. The new elements are zero. Throws a `RangeError` when `length` is past the maximum.
 */
export function growTo(array: GrowableArray, length: number): void {
  if (length <= array.length) return;
  const max = maxLengthOf(array);
  if (length > max) {
    throw new RangeError(`Cannot grow an array to ${length} elements: it holds at most ${max}`);
  }
  const target = Math.min(max, Math.max(length, array.length + (array.length >>> 2), 1024));
  array.buffer.resize(target * array.BYTES_PER_ELEMENT);
}

/**
 * Shrinks `array`, made by {@linkcode growableArray}, to `length` elements when that frees at
 * least a quarter of it, giving the pages after it back to the system.
 */
export function shrinkTo(array: GrowableArray, length: number): void {
  const target = Math.max(length, 1024);
  if (target > array.length - (array.length >>> 2)) return;
  array.buffer.resize(target * array.BYTES_PER_ELEMENT);
}
