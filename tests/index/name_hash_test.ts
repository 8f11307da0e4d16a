import assert from "node:assert/strict";
import { NameHasher } from "../../lib/index/name_hash.ts";
import { createRandom, randomInt } from "../../lib/tools/random.ts";

/** The key of the published test vectors: the bytes 0 to 7. */
const VECTOR_KEY = Uint8Array.from({ length: 8 }, (_, i) => i);

/**
 * The first HalfSipHash-2-4 32-bit outputs published with the reference implementation
 * (`vectors_hsip32`), for the messages of the bytes 0, 1, ..., n-1 under VECTOR_KEY, as
 * little-endian words.
 */
const HALFSIPHASH_2_4_VECTORS = [
  0x5b9f35a9,
  0xb85a4727,
  0x03a662fa,
  0x04e7fe8a,
  0x89466e2a,
  0x69b6fac5,
  0x23fc6358,
  0xc563cf8b,
  0x8f84b8d0,
  0x79e706f8,
  0x3479b094,
  0x50300808,
];

/**
 * HalfSipHash-c-d with 32-bit output, written plainly from the specification, independently of
 * the optimized one in lib/: unsigned arithmetic, a round function, a DataView for the words.
 */
function referenceHalfSipHash(
  key: Uint8Array,
  message: Uint8Array,
  rounds: { compression: number; finalization: number },
): number {
  const rotate = (x: number, bits: number) => ((x << bits) | (x >>> (32 - bits))) >>> 0;
  const keyWords = new DataView(key.buffer, key.byteOffset, 8);
  const k0 = keyWords.getUint32(0, true);
  const k1 = keyWords.getUint32(4, true);
  const v = [k0, k1, (0x6c796765 ^ k0) >>> 0, (0x74656462 ^ k1) >>> 0];
  const sipRound = () => {
    v[0] = (v[0]! + v[1]!) >>> 0;
    v[1] = (rotate(v[1]!, 5) ^ v[0]) >>> 0;
    v[0] = rotate(v[0], 16);
    v[2] = (v[2]! + v[3]!) >>> 0;
    v[3] = (rotate(v[3]!, 8) ^ v[2]) >>> 0;
    v[0] = (v[0] + v[3]) >>> 0;
    v[3] = (rotate(v[3], 7) ^ v[0]) >>> 0;
    v[2] = (v[2] + v[1]) >>> 0;
    v[1] = (rotate(v[1], 13) ^ v[2]) >>> 0;
    v[2] = rotate(v[2], 16);
  };
  const absorb = (word: number) => {
    v[3] = (v[3]! ^ word) >>> 0;
    for (let i = 0; i < rounds.compression; i++) sipRound();
    v[0] = (v[0]! ^ word) >>> 0;
  };
  const words = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const whole = message.length - (message.length % 4);
  for (let offset = 0; offset < whole; offset += 4) absorb(words.getUint32(offset, true));
  let last = (message.length << 24) >>> 0;
  for (let i = whole; i < message.length; i++) {
    last = (last | (message[i]! << (8 * (i - whole)))) >>> 0;
  }
  absorb(last);
  v[2] = (v[2]! ^ 0xff) >>> 0;
  for (let i = 0; i < rounds.finalization; i++) sipRound();
  return (v[1]! ^ v[3]!) >>> 0;
}

Deno.test("the reference HalfSipHash reproduces the published HalfSipHash-2-4 vectors", () => {
  for (const [length, expected] of HALFSIPHASH_2_4_VECTORS.entries()) {
    const message = Uint8Array.from({ length }, (_, i) => i);
    const rounds = { compression: 2, finalization: 4 };
    assert.equal(referenceHalfSipHash(VECTOR_KEY, message, rounds), expected, `length ${length}`);
  }
});

Deno.test("NameHasher computes HalfSipHash-1-3 of any byte range (its top 30 bits), as the reference does", () => {
  const random = createRandom(11);
  const rounds = { compression: 1, finalization: 3 };
  for (let trial = 0; trial < 2000; trial++) {
    const key = Uint8Array.from({ length: 8 }, () => randomInt(random, 256));
    const hasher = new NameHasher(key);
    const buffer = Uint8Array.from({ length: 300 }, () => randomInt(random, 256));
    const start = randomInt(random, 20);
    const end = start + randomInt(random, 260);
    const expected = referenceHalfSipHash(key, buffer.subarray(start, end), rounds);
    assert.equal(hasher.hash(buffer, start, end), expected >>> 2, `${start}..${end}`);
  }
});

Deno.test("NameHasher keys differ from process to process, and so do the hashes", () => {
  const name = new TextEncoder().encode("openssl@3");
  const hashes = new Set(Array.from({ length: 20 }, () => new NameHasher().hash(name, 0, 9)));
  assert.ok(hashes.size >= 19, `${hashes.size} distinct hashes of one name under 20 random keys`);
});
