/**
 * Typed arrays that grow without a long copy: the index's tables never stop the server to move
 * megabytes into a bigger array.
 *
 * An array starts as a plain typed array and doubles by copying while it is at most 1 MiB: such
 * a copy costs well under a millisecond. Past 1 MiB it moves, once, into a `WebAssembly.Memory`
 * used as nothing but a block of memory: V8 reserves the memory's maximum as address space up
 * front, and growing it only makes more of those reserved pages usable, with no copy,
 * microseconds whatever the size; the new pages cost memory only once they are written. The
 * array is then a fresh view of the grown memory, a plain typed array, which V8 reads as fast as
 * any (views of resizable `ArrayBuffer`s, which grow the same way, are read markedly more
 * slowly). The reservation is address space, not memory: a 64-bit process has terabytes of it.
 * A WebAssembly memory cannot shrink: {@linkcode shrinkTo} gives memory back only by moving a
 * small enough array back into a plain one. Measured in docs/decisions.md, "Growth without a
 * stop".
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
/** The size of a WebAssembly memory page, the unit memories grow by. */
const PAGE_BYTES = 1 << 16;
/** The most a WebAssembly memory holds: 65,536 pages. */
const MAX_MEMORY_BYTES = 2 ** 32;

/** The memory that each array past {@linkcode PLAIN_BYTES} views, by the array's buffer. */
const memories = new WeakMap<ArrayBuffer, WebAssembly.Memory>();

/**
 * `array`, or the array that replaces it, with room for at least `length` elements, never past
 * `maxLength` (at most 4 GiB in all): a plain array up to 1 MiB doubles by copying; past it,
 * the array moves once into a WebAssembly memory that can hold `maxLength` elements, which then
 * grows in place by a quarter at least. Either way the returned array may be a new object (a new
 * view of the same memory): use it, not `array`, from then on. The new elements are zero.
 * Throws a `RangeError` when `length` is past `maxLength`.
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
 * const grown = grownTo(counts, { length: 2_000_000, maxLength: 1 << 24 });
 * assert.equal(grown[3], 7); // past 1 MiB it grows in place: nothing is copied
 * ```
 */
export function grownTo<T extends GrowableArray>(
  array: T,
  options: { length: number; maxLength: number },
): T {
  const { length, maxLength } = options;
  if (length <= array.length) return array;
  const bytes = array.BYTES_PER_ELEMENT;
  if (length > maxLength) {
    throw new RangeError(
      `Cannot grow an array to ${length} elements: it holds at most ${maxLength}`,
    );
  }
  if (maxLength * bytes > MAX_MEMORY_BYTES) {
    throw new RangeError(
      `Cannot grow an array that may hold ${maxLength} elements of ${bytes} bytes: ` +
        `a WebAssembly memory holds at most 4 GiB`,
    );
  }
  const type = array.constructor as new (buffer: ArrayBuffer) => T;
  const memory = memories.get(array.buffer);
  if (memory !== undefined) {
    const target = Math.min(maxLength, Math.max(length, array.length + (array.length >>> 2)));
    memory.grow(Math.ceil(target * bytes / PAGE_BYTES) - memory.buffer.byteLength / PAGE_BYTES);
    return view(type, memory);
  }
  const target = Math.min(maxLength, Math.max(length, 2 * array.length, 1024));
  if (target * bytes <= PLAIN_BYTES) {
    const copy = new type(new ArrayBuffer(target * bytes));
    copy.set(array);
    return copy;
  }
  const moved = view(
    type,
    new WebAssembly.Memory({
      initial: Math.ceil(target * bytes / PAGE_BYTES),
      maximum: Math.ceil(maxLength * bytes / PAGE_BYTES),
    }),
  );
  moved.set(array);
  return moved;
}

/**
 * `array`, or a plain copy of its first `length` elements when it views a WebAssembly memory
 * (see {@linkcode grownTo}) and they fit in 1 MiB, a copy that costs no more than that: the
 * memory then goes back to the system at the next garbage collection. A plain array, or one with
 * more elements in use, stays as it is; its unused pages are reused as it grows again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grownTo, shrinkTo } from "./growable_array.ts";
 *
 * let words = grownTo(new Int32Array(4), { length: 1_000_000, maxLength: 1 << 24 });
 * words[9] = 42;
 * words = shrinkTo(words, 10); // 10 elements in use: back into a plain array
 * assert.equal(words.buffer.byteLength, 1024 * 4);
 * assert.equal(words[9], 42);
 * ```
 */
export function shrinkTo<T extends GrowableArray>(array: T, length: number): T {
  if (!memories.has(array.buffer) || length * array.BYTES_PER_ELEMENT > PLAIN_BYTES) return array;
  const type = array.constructor as new (length: number) => T;
  const copy = new type(Math.max(length, 1024));
  copy.set(array.subarray(0, length));
  return copy;
}

/** A typed array of `type` over all of `memory`, remembered as viewing it. */
function view<T extends GrowableArray>(
  type: new (buffer: ArrayBuffer) => T,
  memory: WebAssembly.Memory,
): T {
  // Not shared: the memory was made without `shared`.
  const array = new type(memory.buffer as ArrayBuffer);
  memories.set(array.buffer, memory);
  return array;
}
