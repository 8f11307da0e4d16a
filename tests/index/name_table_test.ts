import assert from "node:assert/strict";
import { NameTable } from "../../lib/index/name_table.ts";
import { createRandom, randomInt } from "../../lib/tools/random.ts";

Deno.test("NameTable maps names to slots and back", () => {
  const table = new NameTable();
  const gmp = table.add("gmp");
  const isl = table.add("isl");
  assert.notEqual(gmp, isl);
  assert.equal(table.slotOf("gmp"), gmp);
  assert.equal(table.slotOf("isl"), isl);
  assert.equal(table.slotOf("cloog"), -1);
  assert.equal(table.nameOf(isl), "isl");
  assert.equal(table.size, 2);
  assert.deepEqual([...table.slots()], [gmp, isl]);
});

Deno.test("NameTable reuses the slot of a deleted name", () => {
  const table = new NameTable();
  table.add("a");
  const b = table.add("b");
  assert.equal(table.delete("b"), b);
  assert.equal(table.delete("b"), -1, "deleting twice finds nothing");
  assert.equal(table.slotOf("b"), -1);
  assert.equal(table.add("c"), b);
  assert.equal(table.slotCount, 2);
  assert.equal(table.size, 2);
});

Deno.test("NameTable agrees with a Map through many adds and deletes", () => {
  const random = createRandom(99);
  const table = new NameTable();
  const model = new Map<string, number>();
  for (let step = 0; step < 200_000; step++) {
    const name = `p${randomInt(random, 5000)}`;
    if (random() < 0.55) {
      if (!model.has(name)) model.set(name, table.add(name));
    } else {
      assert.equal(table.delete(name), model.get(name) ?? -1);
      model.delete(name);
    }
    if (step % 20_000 === 0) {
      for (let i = 0; i < 5000; i++) assert.equal(table.slotOf(`p${i}`), model.get(`p${i}`) ?? -1);
    }
  }
  assert.equal(table.size, model.size);
  for (const [name, slot] of model) {
    assert.equal(table.slotOf(name), slot);
    assert.equal(table.nameOf(slot), name);
  }
});

Deno.test("NameTable finds a name given as a slice of a longer string", () => {
  const table = new NameTable();
  const slot = table.add("org.example:artifact");
  const line = "QUERY|org.example:artifact|";
  assert.equal(table.slotOf(line.slice(6, -1)), slot);
});
