import assert from "node:assert/strict";
import { SmallestStrings } from "../../lib/util/smallest_strings.ts";
import { createRandom, randomInt } from "../../lib/tools/random.ts";

Deno.test("SmallestStrings keeps the smallest strings in byte order, however many are added", () => {
  const random = createRandom(8);
  const all = Array.from({ length: 5000 }, () => `p${randomInt(random, 100_000)}`);
  const smallest = new SmallestStrings(100);
  for (const name of all) smallest.add(name);
  assert.equal(smallest.added, 5000);
  assert.equal(smallest.size, 100);
  const kept: string[] = [];
  for (let name = smallest.popLargest(); name !== undefined; name = smallest.popLargest()) {
    kept.push(name);
  }
  assert.deepEqual(kept.reverse(), [...all].sort().slice(0, 100));
});

Deno.test("SmallestStrings names its largest kept string only once it is full", () => {
  const smallest = new SmallestStrings(2);
  smallest.add("isl");
  assert.equal(smallest.largestKept, undefined, "one of two kept: anything would be kept");
  smallest.add("gmp");
  assert.equal(smallest.largestKept, "isl");
  smallest.add("zlib"); // not kept: it sorts after isl
  assert.equal(smallest.largestKept, "isl");
  smallest.add("bzip2");
  assert.equal(smallest.largestKept, "gmp");
});
