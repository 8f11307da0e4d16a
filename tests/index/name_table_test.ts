import assert from "node:assert/strict";
import { NameTable } from "../../lib/index/name_table.ts";
import { createRandom, randomInt } from "../../lib/tools/random.ts";

const encoder = new TextEncoder();

/** Every slot of `table` in use, in slot order. */
function usedSlots(table: NameTable): number[] {
  const slots = [];
  for (let slot = 0; slot < table.slotCount; slot++) if (table.isUsed(slot)) slots.push(slot);
  return slots;
}

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
  assert.deepEqual(usedSlots(table.table), [gmp, isl]);
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

Deno.test("NameTable answers every lookup right at every step while it grows with removals and shrinks", () => {
  // Through several rehashes (each moves its buckets a few at a time, so lookups must search two
  // tables) and arena compactions (names slide a few at a time), removals included, long names
  // included: after each change the name changed and a few others are checked.
  const random = createRandom(16);
  const table = new NamedTable();
  const model = new Map<string, number>();
  const live: string[] = [];
  let next = 0;
  const newName = () => `n${next++}-`.padEnd(1 + randomInt(random, random() < 0.1 ? 255 : 24), "y");
  // [live names to reach, chance that a step adds a name]: grow with so many removals that the
  // arena compacts again and again while the buckets rehash, then shrink.
  const phases = [[24_000, 0.6], [2_000, 0.2]] as const;
  for (const [target, addChance] of phases) {
    const growing = live.length < target;
    while (growing ? live.length < target : live.length > target) {
      if (live.length === 0 || random() < addChance) {
        const name = newName();
        const slot = table.add(name);
        assert.equal(table.slotOf(name), slot);
        model.set(name, slot);
        live.push(name);
      } else {
        const at = randomInt(random, live.length);
        const name = live[at]!;
        live[at] = live[live.length - 1]!;
        live.pop();
        assert.equal(table.delete(name), model.get(name));
        model.delete(name);
        assert.equal(table.slotOf(name), -1);
      }
      for (let i = 0; i < 3 && live.length > 0; i++) {
        const name = live[randomInt(random, live.length)]!;
        assert.equal(table.slotOf(name), model.get(name));
      }
      assert.equal(table.slotOf(`n${randomInt(random, next)}-absent`), -1);
    }
    assert.equal(table.table.size, model.size);
    for (const [name, slot] of model) {
      assert.equal(table.slotOf(name), slot);
      assert.equal(table.table.nameOf(slot), name);
    }
  }
});

Deno.test("NameTable stays correct through growth when names collide in a few buckets", () => {
  const clustered = new NameTable({
    hasher: { hash: (bytes, start, end) => ((end - start) << 24) | (bytes[end - 1]! << 8) | 3 },
  });
  agreeWithMap(new NamedTable(clustered), { names: 6000, steps: 60_000 });
});

Deno.test("NameTable stays right when its arena compacts in the middle of a rehash", () => {
  // 600 names of 250 bytes and 425 short ones: the 1,025th name starts a rehash, which moves 4
  // buckets per change. Removing most long names then makes the arena mostly garbage, and it
  // starts sliding names down while buckets are still moving; the removals hit both tables.
  const table = new NamedTable();
  const model = new Map<string, number>();
  const add = (name: string) => model.set(name, table.add(name));
  const remove = (name: string) => {
    assert.equal(table.delete(name), model.get(name));
    model.delete(name);
  };
  const checkAll = () => {
    for (const [name, slot] of model) assert.equal(table.slotOf(name), slot);
    assert.equal(table.table.size, model.size);
  };
  const long = (i: number) => `long-${i}-`.padEnd(250, "z");
  for (let i = 0; i < 600; i++) add(long(i));
  for (let i = 0; i < 425; i++) add(`short-${i}`);
  for (let i = 0; i < 600; i++) {
    if (i % 3 === 0) continue;
    remove(long(i));
    if (i % 2 === 0) add(`later-${i}`);
    if (i % 10 === 0) checkAll();
  }
  checkAll();
  for (const [name, slot] of model) assert.equal(table.table.nameOf(slot), name);
});

Deno.test("NameTable stores a name in a given slot, freeing the slots skipped, in ascending order only", () => {
  const table = new NameTable();
  const bytes = encoder.encode("gmpislmpfr");
  table.insertAt(table.hash(bytes, 0, 3), bytes, 0, 3, 2);
  table.insertAt(table.hash(bytes, 3, 6), bytes, 3, 6, 3);
  assert.equal(table.slotCount, 4);
  assert.equal(table.size, 2);
  assert.deepEqual(usedSlots(table), [2, 3]);
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
