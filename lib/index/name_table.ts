/**
 * Interning of package names to small integer slots, looked up by their bytes.
 *
 * Names live back to back in one byte arena, each as a length byte and its bytes, found by a
 * slot's start; an open-addressing hash table (linear probing, at most half full) maps a name's
 * hash to its slot. Looking a name up straight out of a request's bytes hashes and compares bytes
 * and allocates nothing; a name is copied, once, only when its package is first stored.
 *
 * Nothing here ever stops to copy the whole table (see docs/decisions.md, "Growth without a
 * stop"):
 * - The arena and the per-slot arrays grow in place once past 1 MiB ({@linkcode grownTo}).
 * - When the buckets are half full, a table twice as big takes the new names, and every insert
 *   and removal after that moves a few buckets of the old table into it, as Redis rehashes its
 *   dictionaries; until the old table is empty, a lookup that misses in the new one looks there.
 *   The emptied old table's memory is given back at once.
 * - The bytes that removed names leave in the arena are reclaimed by sliding the live names
 *   down a few at a time, with every insert and removal, once they are half of the arena.
 *
 * Memory per name: its bytes plus a length byte in the arena, 4 bytes of start, and one 4-byte
 * bucket entry (the slot and 6 bits of the hash) in a table a quarter to half full, so 8 to 16
 * bytes of buckets (4 to 8 more while a rehash drains the old table). A million 10-byte names
 * take 23 to 31 MB (a million of the benchmarks' 11-byte names, 24.5 MB), against about 70 MB
 * for the same names as JavaScript strings in a `Map`.
 *
 * The hash is {@linkcode NameHasher} (HalfSipHash-1-3 under a random per-process key), so that
 * clients cannot compute names that collide.
 *
 * @module
 */

import { MAX_NAME_BYTES, nameFromBytes } from "../protocol/names.ts";
import { grownTo, shrinkTo } from "./growable_array.ts";
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
const INITIAL_BUCKETS = 2 * INITIAL_SLOTS;
const INITIAL_ARENA_BYTES = 16 * 1024;
/** The largest arena: name starts are 32-bit integers. */
const MAX_ARENA_BYTES = 2 ** 31 - 1;
/** A bucket entry is `tag << SLOT_BITS | (slot + 1)`: 0 is an empty bucket. */
const SLOT_BITS = 26;
const SLOT_FIELD = (1 << SLOT_BITS) - 1;
const TAG_FIELD = ~SLOT_FIELD;
/** An old-table bucket whose entry has moved to the new table or was removed. */
const MOVED = 1 << SLOT_BITS;
/**
 * How many buckets of the old table each insert or removal moves. A rehash starts when the
 * table is half full and the next one when the new table is, at least a quarter of the old
 * table's size of inserts later: moving 4 per insert empties the old table long before.
 */
const MIGRATED_BUCKETS_PER_STEP = 4;
/** The arena bytes each insert or removal slides while the arena is being compacted, at least. */
const COMPACTED_BYTES_PER_STEP = 64;
const NO_BUCKETS: Int32Array<ArrayBuffer> = new Int32Array(0);

/** The most names a table holds: a bucket entry keeps `slot + 1` in 26 bits. */
export const MAX_NAMES: number = SLOT_FIELD;

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
  /**
   * Every stored name as its length (1 to 255) and its bytes, back to back, with the records
   * that removed names left: a 0 byte and the length of the name that was there.
   */
  #arena = new Uint8Array(INITIAL_ARENA_BYTES);
  #arenaEnd = 0;
  /** Bytes before #arenaEnd that no name uses: removed names, and the gap of a compaction. */
  #arenaGarbage = 0;
  /** While compacting: where the next record to slide is, and where it goes; else -1. */
  #compactFrom = -1;
  #compactTo = -1;
  /** Slot → where its name's bytes start in the arena (after its length), or -1 when free. */
  #nameStarts = new Int32Array(INITIAL_SLOTS);
  /** Free slots below #slotCount, as a stack. */
  #freeSlots = new Int32Array(64);
  #freeCount = 0;
  #slotCount = 0;
  /** Bucket → `tag << SLOT_BITS | (slot + 1)`, where the tag is 6 bits of the hash; 0 when empty. */
  #buckets = freshBuckets(INITIAL_BUCKETS);
  #mask = INITIAL_BUCKETS - 1;
  /** While rehashing: the table whose entries are moving to #buckets; else empty. */
  #oldBuckets = NO_BUCKETS;
  #oldMask = 0;
  /** While rehashing: the old buckets before this one have moved. */
  #moved = 0;
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
    const slot = this.#findIn(this.#buckets, this.#mask, hash, bytes, start, end);
    if (slot !== -1 || this.#oldBuckets.length === 0) return slot;
    return this.#findIn(this.#oldBuckets, this.#oldMask, hash, bytes, start, end);
  }

  /**
   * Stores the name `bytes[start, end)`, which must be absent, under its `hash`, copying its
   * bytes, and returns its new slot. Throws a `RangeError` for an empty name or one over
   * {@linkcode MAX_NAME_BYTES} bytes (the protocol never lets one through), and when the table is
   * full: changing nothing.
   */
  insert(hash: number, bytes: Uint8Array, start: number, end: number): number {
    this.#makeRoom(end - start);
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
    if (!Number.isInteger(slot) || slot < this.#slotCount || slot >= MAX_NAMES) {
      throw new RangeError(
        `Cannot store a name in slot ${slot}: slots below ${this.#slotCount} are handed out, ` +
          `and slots are below ${MAX_NAMES}`,
      );
    }
    this.#makeRoom(end - start);
    while (this.#slotCount < slot) this.#pushFreeSlot(this.#newSlot());
    this.#store(hash, bytes, start, end, this.#newSlot());
  }

  /**
   * Checks that a name of `length` bytes may be stored, changing nothing when it may not, and
   * makes room for it: its share of background work, arena space, and a rehash when due.
   */
  #makeRoom(length: number): void {
    if (length < 1 || length > MAX_NAME_BYTES) {
      throw new RangeError(
        `Cannot store a name of ${length} bytes: names are 1 to ${MAX_NAME_BYTES} bytes`,
      );
    }
    if (this.#size === MAX_NAMES) {
      throw new RangeError(`Cannot store more than ${MAX_NAMES} names`);
    }
    this.#step(1 + length);
    if (this.#arenaEnd + 1 + length > this.#arena.length) {
      const needed = this.#arenaEnd + 1 + length;
      this.#arena = grownTo(this.#arena, { length: needed, maxLength: MAX_ARENA_BYTES });
    }
    if ((this.#size + 1) * 2 > this.#buckets.length) this.#startRehash();
  }

  /** Copies the name into the arena and puts it in the buckets, in `slot`. */
  #store(hash: number, bytes: Uint8Array, start: number, end: number, slot: number): void {
    const arena = this.#arena;
    let at = this.#arenaEnd;
    arena[at++] = end - start;
    this.#nameStarts[slot] = at;
    for (let i = start; i < end; i++) arena[at++] = bytes[i]!;
    this.#arenaEnd = at;
    this.#place(hash, ((hash >>> 24) << SLOT_BITS) | (slot + 1));
    this.#size++;
  }

  /** Removes the name in `slot`, whose hash is `hash`, and frees the slot for reuse. */
  remove(hash: number, slot: number): void {
    this.#step(0);
    const entry = slot + 1;
    const buckets = this.#buckets;
    const mask = this.#mask;
    let bucket = hash & mask;
    for (; buckets[bucket] !== 0; bucket = (bucket + 1) & mask) {
      if ((buckets[bucket]! & SLOT_FIELD) === entry) break;
    }
    if (buckets[bucket] !== 0) {
      this.#closeGap(bucket);
    } else {
      // Not moved yet: it is in the old table, where a marker keeps the probe runs whole.
      const old = this.#oldBuckets;
      const oldMask = this.#oldMask;
      for (bucket = hash & oldMask; (old[bucket]! & SLOT_FIELD) !== entry;) {
        bucket = (bucket + 1) & oldMask;
      }
      old[bucket] = MOVED;
    }
    const start = this.#nameStarts[slot]!;
    const length = this.#arena[start - 1]!;
    this.#arena[start - 1] = 0;
    this.#arena[start] = length;
    this.#arenaGarbage += 1 + length;
    this.#pushFreeSlot(slot);
    this.#size--;
  }

  /** Marks `slot` free and puts it on the stack of free slots. */
  #pushFreeSlot(slot: number): void {
    this.#nameStarts[slot] = -1;
    if (this.#freeCount === this.#freeSlots.length) {
      const needed = this.#freeCount + 1;
      this.#freeSlots = grownTo(this.#freeSlots, { length: needed, maxLength: MAX_NAMES });
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
    return nameFromBytes(this.#arena, start, start + this.#arena[start - 1]!);
  }

  /**
   * Compares the name in `slot` with the name `bytes`, byte by byte: negative when it comes
   * first, 0 when they are equal, positive when it comes after. Makes no string.
   */
  compareName(slot: number, bytes: Uint8Array): number {
    const arena = this.#arena;
    const start = this.#nameStarts[slot]!;
    const length = arena[start - 1]!;
    const common = Math.min(length, bytes.length);
    for (let i = 0; i < common; i++) {
      const difference = arena[start + i]! - bytes[i]!;
      if (difference !== 0) return difference;
    }
    return length - bytes.length;
  }

  /** Whether the name in `slot` starts with the bytes `prefix`. Makes no string. */
  nameStartsWith(slot: number, prefix: Uint8Array): boolean {
    const arena = this.#arena;
    const start = this.#nameStarts[slot]!;
    if (arena[start - 1]! < prefix.length) return false;
    for (let i = 0; i < prefix.length; i++) if (arena[start + i] !== prefix[i]) return false;
    return true;
  }

  #findIn(
    buckets: Int32Array,
    mask: number,
    hash: number,
    bytes: Uint8Array,
    start: number,
    end: number,
  ): number {
    const tag = (hash >>> 24) << SLOT_BITS;
    const length = end - start;
    const arena = this.#arena;
    for (let bucket = hash & mask;; bucket = (bucket + 1) & mask) {
      const entry = buckets[bucket]!;
      if (entry === 0) return -1;
      if ((entry & TAG_FIELD) !== tag || entry === MOVED) continue;
      const slot = (entry & SLOT_FIELD) - 1;
      let at = this.#nameStarts[slot]!;
      if (arena[at - 1] !== length) continue;
      let i = start;
      while (i < end && arena[at] === bytes[i]) {
        at++;
        i++;
      }
      if (i === end) return slot;
    }
  }

  /** The hash of the name in `slot`, recomputed from its bytes. */
  #hashOfSlot(slot: number): number {
    const start = this.#nameStarts[slot]!;
    return this.hash(this.#arena, start, start + this.#arena[start - 1]!);
  }

  #newSlot(): number {
    if (this.#slotCount === this.#nameStarts.length) {
      const needed = this.#slotCount + 1;
      this.#nameStarts = grownTo(this.#nameStarts, { length: needed, maxLength: MAX_NAMES });
    }
    return this.#slotCount++;
  }

  /**
   * The bounded share of background work that each insert (which appends `appended` bytes to the
   * arena) and each removal does: moving buckets of a rehash, and sliding names of a compaction.
   */
  #step(appended: number): void {
    if (this.#oldBuckets.length !== 0) this.#moveBuckets(MIGRATED_BUCKETS_PER_STEP);
    if (this.#compactFrom === -1) {
      if (this.#arenaGarbage * 2 <= this.#arenaEnd || this.#arenaEnd < INITIAL_ARENA_BYTES) {
        return;
      }
      this.#compactFrom = this.#compactTo = 0;
    }
    this.#compactArena(COMPACTED_BYTES_PER_STEP + 2 * appended);
  }

  /**
   * Starts a rehash into a table twice as big. The previous one is always over by then (see
   * MIGRATED_BUCKETS_PER_STEP).
   */
  #startRehash(): void {
    this.#oldBuckets = this.#buckets;
    this.#oldMask = this.#mask;
    this.#moved = 0;
    this.#buckets = freshBuckets(this.#buckets.length * 2);
    this.#mask = this.#buckets.length - 1;
  }

  /** Moves the entries of the next `count` old buckets to the new table. */
  #moveBuckets(count: number): void {
    const old = this.#oldBuckets;
    const end = Math.min(old.length, this.#moved + count);
    for (let bucket = this.#moved; bucket < end; bucket++) {
      const entry = old[bucket]!;
      if ((entry & SLOT_FIELD) === 0) continue;
      this.#place(this.#hashOfSlot((entry & SLOT_FIELD) - 1), entry);
      old[bucket] = MOVED;
    }
    this.#moved = end;
    if (end === old.length) {
      this.#oldBuckets = NO_BUCKETS;
      // Frees the drained table now (about 0.1 ms per MiB): the server's V8 flags defer major
      // collections, which alone would free it, while the index grows (docs/decisions.md).
      old.buffer.transfer(0);
    }
  }

  /**
   * Slides the records from #compactFrom on down to #compactTo, dropping removed names, for at
   * least `budget` bytes or to the end of the arena, where the compaction is over.
   */
  #compactArena(budget: number): void {
    const arena = this.#arena;
    let from = this.#compactFrom;
    let to = this.#compactTo;
    const stop = Math.min(this.#arenaEnd, from + budget);
    while (from < stop) {
      const length = arena[from]!;
      if (length === 0) {
        from += 1 + arena[from + 1]!;
        continue;
      }
      if (to !== from) {
        const slot = this.find(
          this.hash(arena, from + 1, from + 1 + length),
          arena,
          from + 1,
          from + 1 + length,
        );
        arena.copyWithin(to, from, from + 1 + length);
        this.#nameStarts[slot] = to + 1;
      }
      from += 1 + length;
      to += 1 + length;
    }
    if (from < this.#arenaEnd) {
      this.#compactFrom = from;
      this.#compactTo = to;
      return;
    }
    this.#arenaGarbage -= from - to;
    this.#arenaEnd = to;
    this.#compactFrom = this.#compactTo = -1;
    this.#arena = shrinkTo(arena, Math.max(INITIAL_ARENA_BYTES, to + (to >>> 2)));
  }

  /**
   * Empties `bucket` of the new table and moves later entries of its probe run back into the gap
   * (backward-shift deletion), so that its lookups never need markers.
   */
  #closeGap(bucket: number): void {
    const buckets = this.#buckets;
    const mask = this.#mask;
    let gap = bucket;
    for (let next = (gap + 1) & mask; buckets[next] !== 0; next = (next + 1) & mask) {
      const home = this.#hashOfSlot((buckets[next]! & SLOT_FIELD) - 1) & mask;
      // The entry at `next` may move to `gap` unless its home lies cyclically after the gap.
      if (((next - home) & mask) >= ((next - gap) & mask)) {
        buckets[gap] = buckets[next]!;
        gap = next;
      }
    }
    buckets[gap] = 0;
  }

  /** Puts `entry`, of a name whose hash is `hash`, in the new table. */
  #place(hash: number, entry: number): void {
    const buckets = this.#buckets;
    const mask = this.#mask;
    let bucket = hash & mask;
    while (buckets[bucket] !== 0) bucket = (bucket + 1) & mask;
    buckets[bucket] = entry;
  }
}

/**
 * A zeroed table of `count` buckets: always a plain `Int32Array`, which V8 reads fastest, as a
 * table never grows (a rehash makes a new one).
 */
function freshBuckets(count: number): Int32Array<ArrayBuffer> {
  return new Int32Array(count);
}
