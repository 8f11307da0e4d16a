import assert from "node:assert/strict";
import { NameTable } from "../../lib/index/name_table.ts";
import { createRandom, randomInt } from "../../lib/tools/random.ts";

const encoder = new TextEncoder();

/** A name table driven by name strings, as the index drives it by the bytes of a request. */
class NamedTable {
  readonly table: NameTable;

  constructor(table = new NameTable()) {
    this.table = table;
  }

  slotOf(name: string): number {
    const bytes = encoder.encode(name);
    return this.table.find(this.table.hash(bytes, 0, bytes.length), bytes, 0, bytes.length);
  }

  add(name: string): number {
    const bytes = encoder.encode(name);
    return this.table.insert(this.table.hash(bytes, 0, bytes.length), bytes, 0, bytes.length);
  }

  delete(name: string): number {
    const bytes = encoder.encode(name);
    const hash = this.table.hash(bytes, 0, bytes.length);
    const slot = this.table.find(hash, bytes, 0, bytes.length);
    if (slot !== -1) this.table.remove(hash, slot);
    return slot;
  }
}

/** Runs random adds and deletes of `names` names against a Map and checks they always agree. */
function agreeWithMap(table: NamedTable, options: { names: number; steps: number }): void {
  const random = createRandom(99);
  const model = new Map<string, number>();
  const nameOf = (i: number) => `p${i}`.padEnd(1 + (i % 40), "x");
  for (let step = 0; step < options.steps; step++) {
    const name = nameOf(randomInt(random, options.names));
    if (random() < 0.55) {
      if (!model.has(name)) model.set(name, table.add(name));
    } else {
      assert.equal(table.delete(name), model.get(name) ?? -1);
      model.delete(name);
    }
    if (step % Math.floor(options.steps / 10) === 0) {
      for (let i = 0; i < options.names; i++) {
        assert.equal(table.slotOf(nameOf(i)), model.get(nameOf(i)) ?? -1);
      }
    }
  }
  assert.equal(table.table.size, model.size);
  for (const [name, slot] of model) {
    assert.equal(table.slotOf(name), slot);
    assert.equal(table.table.nameOf(slot), name);
  }
}

Deno.test("NameTable maps names to slots and back", () => {
  const table = new NamedTable();
  const gmp = table.add("gmp");
  const isl = table.add("isl");
  assert.notEqual(gmp, isl);
  assert.equal(table.slotOf("gmp"), gmp);
  assert.equal(table.slotOf("isl"), isl);
  assert.equal(table.slotOf("cloog"), -1);
  assert.equal(table.table.nameOf(isl), "isl");
  assert.equal(table.table.size, 2);
  assert.deepEqual([...table.table.slots()], [gmp, isl]);
});

Deno.test("NameTable reuses the slot of a deleted name", () => {
  const table = new NamedTable();
  table.add("a");
  const b = table.add("b");
  assert.equal(table.delete("b"), b);
  assert.equal(table.delete("b"), -1, "deleting twice finds nothing");
  assert.equal(table.slotOf("b"), -1);
  assert.equal(table.add("c"), b);
  assert.equal(table.table.slotCount, 2);
  assert.equal(table.table.size, 2);
});

Deno.test("NameTable agrees with a Map through many adds and deletes", () => {
  agreeWithMap(new NamedTable(), { names: 5000, steps: 200_000 });
});

Deno.test("NameTable stays correct when every name hashes alike", () => {
  const colliding = new NameTable({ hasher: { hash: () => 0x5eed } });
  agreeWithMap(new NamedTable(colliding), { names: 300, steps: 20_000 });
});

Deno.test("NameTable stays correct when names collide in a few buckets of the table", () => {
  // Hashes that differ but share their low bits: one long probe run per low-bit value.
  const clustered = new NameTable({
    hasher: { hash: (bytes, start, end) => ((end - start) << 24) | (bytes[start]! << 16) | 7 },
  });
  agreeWithMap(new NamedTable(clustered), { names: 2000, steps: 50_000 });
});

Deno.test("NameTable finds a name given as a range of a longer buffer", () => {
  const table = new NameTable();
  const line = encoder.encode("QUERY|org.example:artifact|\n");
  const name = encoder.encode("org.example:artifact");
  const slot = table.insert(table.hash(name, 0, name.length), name, 0, name.length);
  assert.equal(table.find(table.hash(line, 6, 26), line, 6, 26), slot);
  assert.equal(table.find(table.hash(line, 6, 25), line, 6, 25), -1, "a prefix is another name");
});

Deno.test("NameTable keeps names apart that share a hash but not their bytes", () => {
  const table = new NamedTable(new NameTable({ hasher: { hash: () => 1 } }));
  const ab = table.add("ab");
  const ba = table.add("ba");
  const abc = table.add("abc");
  assert.deepEqual([table.slotOf("ab"), table.slotOf("ba"), table.slotOf("abc")], [ab, ba, abc]);
  assert.equal(table.slotOf("a"), -1);
  assert.equal(table.slotOf("abd"), -1);
});

Deno.test("NameTable reclaims the bytes of removed names as the arena fills", () => {
  const table = new NamedTable();
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 1000; i++) table.add(`round-${round}-package-${i}`);
    for (let i = 0; i < 1000; i++) assert.notEqual(table.delete(`round-${round}-package-${i}`), -1);
  }
  assert.equal(table.table.size, 0);
  const slot = table.add("gmp");
  assert.equal(table.table.nameOf(slot), "gmp");
});

Deno.test("NameTable refuses to store an empty name or one over 255 bytes", () => {
  const table = new NamedTable();
  assert.throws(() => table.add(""), /Cannot store a name of 0 bytes/);
  assert.throws(() => table.add("n".repeat(256)), /Cannot store a name of 256 bytes/);
  assert.equal(table.table.nameOf(table.add("n".repeat(255))), "n".repeat(255));
});

Deno.test("NameTable compares a stored name with bytes in byte order, and checks its prefix", () => {
  const table = new NamedTable();
  const slot = table.add("gtk+3");
  const compare = (other: string) =>
    Math.sign(table.table.compareName(slot, encoder.encode(other)));
  assert.deepEqual(["gtk", "gtk+3", "gtk+4", "gtk+30", "gtk+"].map(compare), [1, 0, -1, -1, 1]);
  assert.equal(compare("Gtk+3"), 1, "bytes, not letters: G (0x47) sorts before g (0x67)");
  const startsWith = (prefix: string) => table.table.nameStartsWith(slot, encoder.encode(prefix));
  assert.deepEqual(["", "g", "gtk+", "gtk+3", "gtk+34", "gtk-"].map(startsWith), [
    true,
    true,
    true,
    true,
    false,
    false,
  ]);
});

Deno.test("NameTable stores a name in a given slot, freeing the slots skipped, in ascending order only", () => {
  const table = new NameTable();
  const bytes = encoder.encode("gmpislmpfr");
  table.insertAt(table.hash(bytes, 0, 3), bytes, 0, 3, 2);
  table.insertAt(table.hash(bytes, 3, 6), bytes, 3, 6, 3);
  assert.equal(table.slotCount, 4);
  assert.equal(table.size, 2);
  assert.deepEqual([...table.slots()], [2, 3]);
  assert.equal(table.find(table.hash(bytes, 3, 6), bytes, 3, 6), 3);
  assert.throws(
    () => table.insertAt(table.hash(bytes, 6, 10), bytes, 6, 10, 1),
    /Cannot store a name in slot 1: slots below 4 are handed out/,
  );
  const reused = [table.insert(table.hash(bytes, 6, 10), bytes, 6, 10)];
  reused.push(table.insert(table.hash(bytes, 0, 1), bytes, 0, 1));
  assert.deepEqual(reused.sort(), [0, 1], "the skipped slots are handed out first");
  assert.equal(table.insert(table.hash(bytes, 1, 2), bytes, 1, 2), 4);
});

Deno.test("NameTable gives names their slots back when changes are undone newest first", () => {
  const named = new NamedTable();
  for (const name of ["a", "b", "c", "d"]) named.add(name);
  const slots = () => ["a", "b", "c", "d", "e"].map((name) => named.slotOf(name));
  const before = slots();
  // Remove b and d, add e (it takes d's slot), then undo all three, newest first.
  named.delete("b");
  named.delete("d");
  named.add("e");
  named.delete("e");
  named.add("d");
  named.add("b");
  assert.deepEqual(slots(), before);
});
