/**
 * Interning of package names to small integer slots, looked up by their bytes.
 *
 * Names live back to back in one byte arena, found by a slot's start and length; an
 * open-addressing hash table (linear probing, at most half full) maps a name's hash to its
 * slot. Looking a name up straight out of a request's bytes hashes and compares bytes and
 * allocates nothing; a name is copied, once, only when its package is first stored. For a
 * million 10-byte names that is 10 MB of arena, 5 MB of slot fields and 16 MB of buckets,
 * against about 70 MB for the same names as JavaScript strings in a `Map`.
 *
 * The hash is {@linkcode NameHasher} (HalfSipHash-1-3 under a random per-process key), so that
 * clients cannot compute names that collide.
 *
 * @module
 */

import { MAX_NAME_BYTES, nameFromBytes } from "../protocol/names.ts";
import { NameHasher } from "./name_hash.ts";

/** Options for {@linkcode NameTable}. */
export interface NameTableOptions {
  /**
   * How names are hashed. Default: {@linkcode NameHasher} with a random key. Tests pass hashers
   * that collide on purpose.
   */
  hasher?: { hash(bytes: Uint8Array, start: number, end: number): number };
}

const INITIAL_SLOTS = 1024;
const INITIAL_ARENA_BYTES = 16 * 1024;

/**
 * A two-way mapping between names (byte strings of 1 to {@linkcode MAX_NAME_BYTES} bytes, the
 * protocol's limit) and slots: each name added gets the slot freed last, or else the next new
 * one, so slots stay dense and can index typed arrays. Because freed slots are a stack, undoing
 * changes newest first gives every name its slot back; data files rely on it, as they store
 * slots (see `storage/sqlite_store.ts`).
 *
 * A name is passed as `bytes[start, end)`; the caller hashes it once with
 * {@linkcode NameTable.hash} and hands the hash to {@linkcode NameTable.find},
 * {@linkcode NameTable.insert} and {@linkcode NameTable.remove}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NameTable } from "./name_table.ts";
 *
 * const table = new NameTable();
 * const bytes = new TextEncoder().encode("gmp");
 * const hash = table.hash(bytes, 0, 3);
 * assert.equal(table.find(hash, bytes, 0, 3), -1);
 * const slot = table.insert(hash, bytes, 0, 3);
 * assert.equal(table.find(hash, bytes, 0, 3), slot);
 * assert.equal(table.nameOf(slot), "gmp");
 * table.remove(hash, slot);
 * assert.equal(table.find(hash, bytes, 0, 3), -1);
 * ```
 */
export class NameTable {
  readonly #hasher: { hash(bytes: Uint8Array, start: number, end: number): number };
  /** Every stored name's bytes, back to back, with the gaps that removed names left. */
  #arena = new Uint8Array(INITIAL_ARENA_BYTES);
  #arenaEnd = 0;
  /** Bytes before #arenaEnd that no name uses any more. */
  #arenaGarbage = 0;
  /** Slot → where its name starts in the arena, or -1 for a free slot. */
  #nameStarts = new Int32Array(INITIAL_SLOTS).fill(-1);
  /** Slot → its name's length in bytes (one byte holds {@linkcode MAX_NAME_BYTES}). */
  #nameLengths = new Uint8Array(INITIAL_SLOTS);
  /** Free slots below #slotCount, as a stack. */
  #freeSlots = new Int32Array(64);
  #freeCount = 0;
  #slotCount = 0;
  /** Bucket → the full hash of the name stored there (never 0), or 0 for an empty bucket. */
  #bucketHashes = new Int32Array(2 * INITIAL_SLOTS);
  /** Bucket → the slot of the name stored there. */
  #bucketSlots = new Int32Array(2 * INITIAL_SLOTS);
  #mask = 2 * INITIAL_SLOTS - 1;
  #size = 0;

  /** Makes an empty table. */
  constructor(options: NameTableOptions = {}) {
    this.#hasher = options.hasher ?? new NameHasher();
  }

  /** The number of names in the table. */
  get size(): number {
    return this.#size;
  }

  /** One more than the highest slot ever handed out: the length typed arrays by slot need. */
  get slotCount(): number {
    return this.#slotCount;
  }

  /** The hash of the name `bytes[start, end)`, for the other methods: 1 to 2^30 - 1. */
  hash(bytes: Uint8Array, start: number, end: number): number {
    return this.#hasher.hash(bytes, start, end) || 1;
  }

  /** The slot of the name `bytes[start, end)` whose hash is `hash`, or -1 when it is absent. */
  find(hash: number, bytes: Uint8Array, start: number, end: number): number {
    const length = end - start;
    const hashes = this.#bucketHashes;
    const mask = this.#mask;
    for (let bucket = hash & mask;; bucket = (bucket + 1) & mask) {
      const stored = hashes[bucket];
      if (stored === 0) return -1;
      if (stored !== hash) continue;
      const slot = this.#bucketSlots[bucket]!;
      if (this.#nameLengths[slot] !== length) continue;
      const arena = this.#arena;
      let at = this.#nameStarts[slot]!;
      let i = start;
      while (i < end && arena[at] === bytes[i]) {
        at++;
        i++;
      }
      if (i === end) return slot;
    }
  }

  /**
   * Stores the name `bytes[start, end)`, which must be absent, under its `hash`, copying its
   * bytes, and returns its new slot. Throws a `RangeError` for an empty name or one over
   * {@linkcode MAX_NAME_BYTES} bytes: the protocol never lets one through.
   */
  insert(hash: number, bytes: Uint8Array, start: number, end: number): number {
    checkNameLength(end - start);
    const slot = this.#freeCount > 0 ? this.#freeSlots[--this.#freeCount]! : this.#newSlot();
    this.#store(hash, bytes, start, end, slot);
    return slot;
  }

  /**
   * Stores the name `bytes[start, end)`, which must be absent, under its `hash` in `slot`, for
   * loading names whose slots were stored: `slot` must not have been handed out yet (it is at
   * least {@linkcode NameTable.slotCount}), and the slots skipped on the way become free. Throws
   * a `RangeError` otherwise, or for a name {@linkcode NameTable.insert} refuses.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { NameTable } from "./name_table.ts";
   *
   * const table = new NameTable();
   * const bytes = new TextEncoder().encode("gmp");
   * table.insertAt(table.hash(bytes, 0, 3), bytes, 0, 3, 2);
   * assert.equal(table.nameOf(2), "gmp");
   * assert.equal(table.slotCount, 3);
   * assert.equal(table.isUsed(0), false); // free, handed out by the next insert
   * ```
   */
  insertAt(hash: number, bytes: Uint8Array, start: number, end: number, slot: number): void {
    checkNameLength(end - start);
    if (!Number.isInteger(slot) || slot < this.#slotCount) {
      throw new RangeError(
        `Cannot store a name in slot ${slot}: slots below ${this.#slotCount} are handed out`,
      );
    }
    while (this.#slotCount < slot) this.#pushFreeSlot(this.#newSlot());
    this.#store(hash, bytes, start, end, this.#newSlot());
  }

  #store(hash: number, bytes: Uint8Array, start: number, end: number, slot: number): void {
    const length = end - start;
    if ((this.#size + 1) * 2 > this.#bucketHashes.length) this.#growBuckets();
    if (this.#arenaEnd + length > this.#arena.length) this.#makeArenaRoom(length);
    this.#arena.set(bytes.subarray(start, end), this.#arenaEnd);
    this.#nameStarts[slot] = this.#arenaEnd;
    this.#nameLengths[slot] = length;
    this.#arenaEnd += length;
    this.#place(hash, slot);
    this.#size++;
  }

  /** Removes the name in `slot`, whose hash is `hash`, and frees the slot for reuse. */
  remove(hash: number, slot: number): void {
    const mask = this.#mask;
    let bucket = hash & mask;
    while (this.#bucketSlots[bucket] !== slot || this.#bucketHashes[bucket] !== hash) {
      bucket = (bucket + 1) & mask;
    }
    this.#closeGap(bucket);
    this.#arenaGarbage += this.#nameLengths[slot]!;
    this.#nameStarts[slot] = -1;
    this.#pushFreeSlot(slot);
    this.#size--;
  }

  #pushFreeSlot(slot: number): void {
    if (this.#freeCount === this.#freeSlots.length) {
      const grown = new Int32Array(this.#freeSlots.length * 2);
      grown.set(this.#freeSlots);
      this.#freeSlots = grown;
    }
    this.#freeSlots[this.#freeCount++] = slot;
  }

  /** Whether `slot` holds a name. */
  isUsed(slot: number): boolean {
    return slot < this.#slotCount && this.#nameStarts[slot]! !== -1;
  }

  /** The name in `slot`, which must hold one, as a string. */
  nameOf(slot: number): string {
    const start = this.#nameStarts[slot]!;
    return nameFromBytes(this.#arena, start, start + this.#nameLengths[slot]!);
  }

  /**
   * Compares the name in `slot` with the name `bytes`, byte by byte: negative when it comes
   * first, 0 when they are equal, positive when it comes after. Makes no string.
   */
  compareName(slot: number, bytes: Uint8Array): number {
    const arena = this.#arena;
    const start = this.#nameStarts[slot]!;
    const length = this.#nameLengths[slot]!;
    const common = Math.min(length, bytes.length);
    for (let i = 0; i < common; i++) {
      const difference = arena[start + i]! - bytes[i]!;
      if (difference !== 0) return difference;
    }
    return length - bytes.length;
  }

  /** Whether the name in `slot` starts with the bytes `prefix`. Makes no string. */
  nameStartsWith(slot: number, prefix: Uint8Array): boolean {
    if (this.#nameLengths[slot]! < prefix.length) return false;
    const arena = this.#arena;
    const start = this.#nameStarts[slot]!;
    for (let i = 0; i < prefix.length; i++) if (arena[start + i] !== prefix[i]) return false;
    return true;
  }

  /** Every slot in use, in slot order. */
  *slots(): IterableIterator<number> {
    for (let slot = 0; slot < this.#slotCount; slot++) {
      if (this.#nameStarts[slot] !== -1) yield slot;
    }
  }

  #newSlot(): number {
    if (this.#slotCount === this.#nameStarts.length) {
      const starts = new Int32Array(this.#slotCount * 2).fill(-1);
      starts.set(this.#nameStarts);
      this.#nameStarts = starts;
      const lengths = new Uint8Array(this.#slotCount * 2);
      lengths.set(this.#nameLengths);
      this.#nameLengths = lengths;
    }
    return this.#slotCount++;
  }

  /** Makes room for `length` more bytes: compacts when half the arena is garbage, else grows it. */
  #makeArenaRoom(length: number): void {
    const live = this.#arenaEnd - this.#arenaGarbage;
    let capacity = this.#arena.length;
    if (this.#arenaGarbage < this.#arenaEnd / 2) capacity *= 2;
    while (live + length > capacity) capacity *= 2;
    const arena = new Uint8Array(capacity);
    let end = 0;
    for (let slot = 0; slot < this.#slotCount; slot++) {
      const start = this.#nameStarts[slot]!;
      if (start === -1) continue;
      const nameEnd = start + this.#nameLengths[slot]!;
      arena.set(this.#arena.subarray(start, nameEnd), end);
      this.#nameStarts[slot] = end;
      end += nameEnd - start;
    }
    this.#arena = arena;
    this.#arenaEnd = end;
    this.#arenaGarbage = 0;
  }

  /**
   * Empties `bucket` and moves later entries of its probe run back into the gap (backward-shift
   * deletion), so lookups never need tombstones.
   */
  #closeGap(bucket: number): void {
    const mask = this.#mask;
    let gap = bucket;
    for (let next = (gap + 1) & mask; this.#bucketHashes[next] !== 0; next = (next + 1) & mask) {
      const home = this.#bucketHashes[next]! & mask;
      // The entry at `next` may move to `gap` unless its home lies cyclically after the gap.
      if (((next - home) & mask) >= ((next - gap) & mask)) {
        this.#bucketHashes[gap] = this.#bucketHashes[next]!;
        this.#bucketSlots[gap] = this.#bucketSlots[next]!;
        gap = next;
      }
    }
    this.#bucketHashes[gap] = 0;
  }

  #place(hash: number, slot: number): void {
    let bucket = hash & this.#mask;
    while (this.#bucketHashes[bucket] !== 0) bucket = (bucket + 1) & this.#mask;
    this.#bucketHashes[bucket] = hash;
    this.#bucketSlots[bucket] = slot;
  }

  #growBuckets(): void {
    const hashes = this.#bucketHashes;
    const slots = this.#bucketSlots;
    this.#bucketHashes = new Int32Array(hashes.length * 2);
    this.#bucketSlots = new Int32Array(hashes.length * 2);
    this.#mask = hashes.length * 2 - 1;
    for (let bucket = 0; bucket < hashes.length; bucket++) {
      if (hashes[bucket] !== 0) this.#place(hashes[bucket]!, slots[bucket]!);
    }
  }
}

function checkNameLength(length: number): void {
  if (length < 1 || length > MAX_NAME_BYTES) {
    throw new RangeError(
      `Cannot store a name of ${length} bytes: names are 1 to ${MAX_NAME_BYTES} bytes`,
    );
  }
}
