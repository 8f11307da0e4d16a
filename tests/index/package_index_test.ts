import assert from "node:assert/strict";
import { PackageIndex, REFUSED, UNCHANGED } from "../../lib/index/package_index.ts";
import { namesOf } from "../../lib/protocol/request_parser.ts";
import { createRandom, randomInt, shuffle } from "../../lib/tools/random.ts";
import { generatePackages } from "../../lib/tools/synthetic_packages.ts";
import { CountingModel, reaches } from "../support/counting_model.ts";

/** Checks the stored dependents counts and edge count against the edges themselves. */
function assertConsistent(index: PackageIndex): void {
  const entries = [...index.entries()];
  assert.equal(entries.length, index.size);
  const dependents = new Map<string, number>();
  const seen = new Set<string>();
  let edges = 0;
  for (const [name, dependencies] of entries) {
    for (const dependency of dependencies) {
      assert.ok(seen.has(dependency), `${dependency} must come before its dependent ${name}`);
      dependents.set(dependency, (dependents.get(dependency) ?? 0) + 1);
      edges++;
    }
    seen.add(name);
  }
  assert.equal(index.edgeCount, edges);
  for (const [name] of entries) {
    assert.equal(index.dependentCount(name), dependents.get(name) ?? 0, `dependents of ${name}`);
  }
}

Deno.test("PackageIndex indexes a package only when all its dependencies are indexed", () => {
  const index = new PackageIndex();
  assert.equal(index.index("cloog", ["gmp", "isl"]), false);
  assert.equal(index.has("cloog"), false);
  assert.equal(index.index("gmp", []), true);
  assert.equal(index.index("cloog", ["gmp", "isl"]), false);
  assert.equal(index.index("isl", ["gmp"]), true);
  assert.equal(index.index("cloog", ["gmp", "isl"]), true);
  assert.deepEqual(index.dependenciesOf("cloog"), ["gmp", "isl"]);
  assert.equal(index.size, 3);
  assert.equal(index.edgeCount, 3);
  assertConsistent(index);
});

Deno.test("PackageIndex refuses to remove a package something depends on", () => {
  const index = new PackageIndex();
  index.index("gmp", []);
  index.index("isl", ["gmp"]);
  assert.equal(index.remove("gmp"), false);
  assert.equal(index.has("gmp"), true);
  assert.equal(index.remove("isl"), true);
  assert.equal(index.remove("gmp"), true);
  assert.equal(index.size, 0);
  assert.equal(index.edgeCount, 0);
});

Deno.test("PackageIndex treats removing a package that is not indexed as success", () => {
  const index = new PackageIndex();
  assert.equal(index.remove("never-indexed"), true);
  assert.equal(index.size, 0);
});

Deno.test("PackageIndex counts a repeated dependency once", () => {
  const index = new PackageIndex();
  index.index("gmp", []);
  assert.equal(index.index("isl", ["gmp", "gmp", "gmp"]), true);
  assert.deepEqual(index.dependenciesOf("isl"), ["gmp"]);
  assert.equal(index.dependentCount("gmp"), 1);
  assert.equal(index.remove("isl"), true);
  assert.equal(index.remove("gmp"), true, "one removal of isl releases gmp");
});

Deno.test("PackageIndex re-index replaces the dependency list and drops old edges", () => {
  const index = new PackageIndex();
  index.index("a", []);
  index.index("b", []);
  index.index("c", ["a"]);
  assert.equal(index.index("c", ["b"]), true);
  assert.deepEqual(index.dependenciesOf("c"), ["b"]);
  assert.equal(index.remove("a"), true, "a no longer has a dependent");
  assert.equal(index.remove("b"), false);
  assert.equal(index.index("c", []), true);
  assert.equal(index.remove("b"), true);
  assertConsistent(index);
});

Deno.test("PackageIndex refuses a package depending on itself", () => {
  const index = new PackageIndex();
  assert.equal(index.index("a", ["a"]), false, "not indexed yet: a missing dependency");
  index.index("a", []);
  assert.equal(index.index("a", ["a"]), false);
  assert.deepEqual(index.dependenciesOf("a"), []);
});

Deno.test("PackageIndex refuses a cycle on re-index and changes nothing", () => {
  const index = new PackageIndex();
  index.index("a", []);
  index.index("b", ["a"]);
  index.index("c", ["b"]);
  index.index("d", []);
  assert.equal(index.index("a", ["d", "c"]), false, "a → c → b → a");
  assert.deepEqual(index.dependenciesOf("a"), []);
  assert.equal(index.dependentCount("d"), 0);
  assert.equal(index.index("a", ["d"]), true, "a new edge that closes no cycle is fine");
  assertConsistent(index);
});

Deno.test("PackageIndex leaves no slot marked after a cycle check or a refused list", () => {
  // The cycle check and the reading of a list mark slots; a mark left behind would make a later
  // list drop that slot as a repeat.
  const index = new PackageIndex();
  index.index("a", []);
  index.index("b", ["a"]);
  index.index("c", ["b"]);
  assert.equal(index.index("a", ["c"]), false, "a → c → b → a: the check walked b and c");
  assert.equal(index.index("b", ["a", "a"]), true, "a walk that closes no cycle");
  assert.equal(index.index("x", ["b", "c", "missing"]), false);
  assert.equal(index.index("y", ["c", "b", "a", "b"]), true);
  assert.deepEqual(index.dependenciesOf("y"), ["c", "b", "a"]);
  assert.deepEqual(index.dependenciesOf("b"), ["a"]);
  assertConsistent(index);
});

Deno.test("PackageIndex leaves no slot marked when growing its scratch space fails mid-check", () => {
  // An allocation can fail (out of memory) while a list is read or a cycle check walks; the
  // error ends one request, and the index must answer every later one right.
  const index = new PackageIndex();
  const names = Array.from({ length: 2000 }, (_, i) => `w${i}`);
  names.forEach((name, i) => index.index(name, i === 0 ? [] : [names[i - 1]!]));
  const failingAllocations = <T>(body: () => T) => {
    const real = globalThis.ArrayBuffer;
    globalThis.ArrayBuffer = function () {
      throw new RangeError("Array buffer allocation failed");
    } as unknown as ArrayBufferConstructor;
    try {
      assert.throws(body, /allocation failed/);
    } finally {
      globalThis.ArrayBuffer = real;
    }
  };
  // A list longer than the scratch list so far; a walk of the whole chain, longer than the
  // walk's scratch list so far.
  failingAllocations(() => index.index("x", names));
  failingAllocations(() => index.index("w0", [names[1999]!]));
  assert.equal(index.index("w0", [names[1999]!]), false, "the cycle is still found");
  assert.equal(index.index("y", ["w0", "w1"]), true);
  assert.deepEqual(index.dependenciesOf("y"), ["w0", "w1"]);
  assert.equal(index.remove("w0"), false, "w1 and y depend on it");
  assertConsistent(index);
});

Deno.test("PackageIndex keeps every per-slot array in step past a million slots, indexed or loaded", () => {
  // The 32-bit slot arrays grow by a quarter past 1 MiB (262,144 slots) while the one-byte marks
  // double until 1 MiB (1,048,576 slots): the slots between must grow both.
  const index = new PackageIndex();
  index.index("base", []);
  for (let i = 0; i < 1_100_000; i++) index.index(`p${i}`, ["base"]);
  for (const slot of [655_360, 900_000, 1_048_575, 1_100_000]) {
    const name = index.nameOf(slot);
    assert.deepEqual(index.dependenciesOf(name), ["base"], name);
    assert.equal(index.index("top", [name]), true);
    assert.equal(index.dependentCount(name), 1, name);
    assert.equal(index.remove(name), false, name);
  }
  assert.equal(index.edgeCount, 1_100_001);
  assert.equal(index.dependentCount("base"), 1_100_000);

  const count = 1_000_001;
  const loader = PackageIndex.loadSlots(count);
  const encoder = new TextEncoder();
  for (let slot = 0; slot < count; slot++) {
    const bytes = encoder.encode(`q${slot}`);
    loader.addName(slot, bytes, 0, bytes.length);
  }
  const loaded = loader.finish();
  for (let i = 0; i < 60_000; i++) assert.equal(loaded.index(`new${i}`, ["q0"]), true);
  assert.deepEqual(loaded.dependenciesOf("new59999"), ["q0"]);
  assert.equal(loaded.dependentCount("q0"), 60_000);
  assert.equal(loaded.edgeCount, 60_000);
  assert.equal(loaded.remove("new59999"), true);
});

Deno.test("PackageIndex refuses a missing dependency on re-index and keeps the old list", () => {
  const index = new PackageIndex();
  index.index("a", []);
  index.index("b", ["a"]);
  assert.equal(index.index("b", ["a", "missing"]), false);
  assert.deepEqual(index.dependenciesOf("b"), ["a"]);
  assert.equal(index.dependentCount("a"), 1);
});

Deno.test("PackageIndex reuses the slots of removed packages without mixing them up", () => {
  const index = new PackageIndex();
  index.index("a", []);
  index.index("b", ["a"]);
  index.remove("b");
  index.index("c", []);
  index.index("d", ["c"]);
  assert.equal(index.has("b"), false);
  assert.deepEqual(index.dependenciesOf("d"), ["c"]);
  assert.equal(index.dependentCount("a"), 0);
  assert.equal(index.remove("c"), false);
  assertConsistent(index);
});

Deno.test("PackageIndex lists entries dependencies first, even along a very long chain", () => {
  const index = new PackageIndex();
  const length = 100_000;
  index.index("p0", []);
  for (let i = 1; i < length; i++) assert.ok(index.index(`p${i}`, [`p${i - 1}`]));
  const names = [...index.entries()].map(([name]) => name);
  assert.equal(names.length, length);
  assert.equal(names[0], "p0");
  assert.equal(names[length - 1], `p${length - 1}`);
  assert.equal(index.index("p0", [`p${length - 1}`]), false, "closing the chain is a cycle");
});

Deno.test("PackageIndex stays consistent under a long random sequence of operations", () => {
  const random = createRandom(2024);
  const packages = generatePackages({ count: 300, seed: 5 });
  const names = packages.map((spec) => spec.name);
  const index = new PackageIndex();
  for (let step = 0; step < 20_000; step++) {
    const name = names[randomInt(random, names.length)]!;
    const choice = random();
    if (choice < 0.5) {
      const dependencies = Array.from(
        { length: randomInt(random, 4) },
        () => names[randomInt(random, names.length)]!,
      );
      const allIndexed = dependencies.every((dependency) => index.has(dependency));
      const accepted = index.index(name, dependencies);
      if (!allIndexed) assert.equal(accepted, false);
    } else if (choice < 0.8) {
      const hadDependents = index.dependentCount(name) > 0;
      assert.equal(index.remove(name), !hadDependents);
    } else {
      index.has(name);
    }
    if (step % 1000 === 0) assertConsistent(index);
  }
  assertConsistent(index);
});

Deno.test("PackageIndex.fromEntries loads entries in any order", () => {
  const packages = generatePackages({ count: 500, seed: 3 });
  const entries = shuffle(
    packages.map((spec): [string, string[]] => [spec.name, spec.dependencies]),
    createRandom(3),
  );
  const index = PackageIndex.fromEntries(entries);
  assert.equal(index.size, 500);
  for (const spec of packages) {
    assert.deepEqual(index.dependenciesOf(spec.name)?.sort(), [...spec.dependencies].sort());
  }
  assertConsistent(index);
  const depended = packages.find((spec) => index.dependentCount(spec.name) > 0)!;
  assert.equal(index.remove(depended.name), false, "loaded edges protect dependencies");
});

Deno.test("PackageIndex.fromEntries refuses a dependency that is not listed", () => {
  assert.throws(
    () => PackageIndex.fromEntries([["a", []], ["b", ["a", "ghost"]]]),
    /^Error: Package 'b' depends on 'ghost', which is not listed$/,
  );
});

Deno.test("PackageIndex.fromEntries refuses a dependency cycle", () => {
  assert.throws(
    () => PackageIndex.fromEntries([["a", ["c"]], ["b", ["a"]], ["c", ["b"]], ["d", []]]),
    /^Error: Package '[abc]' is part of a dependency cycle$/,
  );
  assert.throws(
    () => PackageIndex.fromEntries([["a", ["a"]]]),
    /'a' is part of a dependency cycle/,
  );
});

/** The rules, written as plainly as possible, to check PackageIndex against. */
class NaiveIndex {
  readonly packages = new Map<string, Set<string>>();

  index(name: string, dependencies: readonly string[]): boolean {
    if (!dependencies.every((dependency) => this.packages.has(dependency))) return false;
    if (
      this.packages.has(name) &&
      dependencies.some((d) => d === name || reaches(this.packages, d, name))
    ) {
      return false;
    }
    this.packages.set(name, new Set(dependencies));
    return true;
  }

  remove(name: string): boolean {
    for (const dependencies of this.packages.values()) if (dependencies.has(name)) return false;
    this.packages.delete(name);
    return true;
  }
}

Deno.test("PackageIndex makes the same decisions as the plain rules through 200,000 operations", () => {
  const random = createRandom(7);
  const names = Array.from(
    { length: 3000 },
    (_, i) => (i % 3 === 0 ? `long-package-name-${i}` : `p${i}`),
  );
  const index = new PackageIndex();
  const model = new NaiveIndex();
  const outcomes = { indexed: 0, cycle: 0, missing: 0, removed: 0, kept: 0 };
  for (let step = 0; step < 200_000; step++) {
    // Early on, mostly new names (growing the tables); later, churn among the existing ones.
    const pool = Math.min(names.length, 50 + step / 20);
    const name = names[randomInt(random, pool)]!;
    const choice = random();
    if (choice < 0.55) {
      const dependencies = Array.from(
        { length: randomInt(random, 5) },
        () => names[randomInt(random, pool)]!,
      );
      const allIndexed = dependencies.every((dependency) => model.packages.has(dependency));
      const accepted = model.index(name, dependencies);
      assert.equal(index.index(name, dependencies), accepted, `step ${step}: INDEX ${name}`);
      outcomes[accepted ? "indexed" : allIndexed ? "cycle" : "missing"]++;
    } else if (choice < 0.9) {
      const removed = model.remove(name);
      assert.equal(index.remove(name), removed, `step ${step}: REMOVE ${name}`);
      outcomes[removed ? "removed" : "kept"]++;
    } else {
      assert.equal(index.has(name), model.packages.has(name), `step ${step}: QUERY ${name}`);
    }
  }
  for (const [outcome, count] of Object.entries(outcomes)) {
    assert.ok(count > 1000, `the run exercised '${outcome}' (${count} times)`);
  }
  assert.equal(index.size, model.packages.size);
  for (const [name, dependencies] of model.packages) {
    assert.deepEqual(new Set(index.dependenciesOf(name)), dependencies, name);
  }
  assertConsistent(index);
});

Deno.test("PackageIndex.version changes with every change and only then", () => {
  const index = new PackageIndex();
  const versions = [index.version];
  const step = (changed: boolean, operation: () => boolean) => {
    operation();
    const version = index.version;
    assert.equal(version !== versions.at(-1), changed);
    versions.push(version);
  };
  step(true, () => index.index("gmp", []));
  step(true, () => index.index("isl", ["gmp"]));
  step(false, () => index.index("cloog", ["missing"]));
  step(false, () => index.index("gmp", ["isl"])); // would close a cycle
  step(false, () => index.remove("gmp")); // isl depends on it
  step(false, () => index.has("gmp"));
  step(true, () => index.index("isl", ["gmp"])); // the same list again: still a change applied
  step(true, () => index.remove("isl"));
  step(false, () => index.remove("isl")); // not indexed: nothing to change
});

Deno.test("PackageIndex reads the graph by slot for walks", () => {
  const index = PackageIndex.fromEntries([["gmp", []], ["isl", ["gmp"]], ["cloog", [
    "gmp",
    "isl",
  ]]]);
  const cloog = index.slotOf("cloog");
  const dependencies = Array.from(
    { length: index.degreeOf(cloog) },
    (_, i) => index.nameOf(index.dependencyAt(cloog, i)),
  );
  assert.deepEqual(dependencies.sort(), ["gmp", "isl"]);
  assert.equal(index.dependentCountOf(index.slotOf("gmp")), 2);
  assert.equal(index.slotOf("ppl"), -1);
  index.remove("cloog");
  assert.equal(index.isIndexed(cloog), false);
  assert.ok(index.slotCount >= 3);
});

Deno.test("PackageIndex makes the same decisions as the plain rules while it grows through many growth steps, with removals", () => {
  // From empty to 25,000 packages and back down, in phases, so that the name table rehashes
  // (buckets moving a few per change) and the arena and the edge array compact (lists and names
  // sliding a few per change) while packages come and go; re-indexing with longer and shorter
  // lists makes unused edge space. Every decision is checked, and all the state at each phase's end.
  const random = createRandom(1616);
  const index = new PackageIndex();
  const model = new CountingModel();
  const live: string[] = [];
  let next = 0;
  const outcomes = { added: 0, reindexed: 0, refused: 0, removed: 0, kept: 0 };
  const pickLive = () => live[randomInt(random, live.length)]!;
  // Mostly among the first few hundred packages, so that the model's cycle search stays short.
  const pickDependency = () =>
    random() < 0.9 ? live[randomInt(random, Math.min(live.length, 300))]! : pickLive();
  const randomDependencies = () => Array.from({ length: randomInt(random, 6) }, pickDependency);
  const checkAll = () => {
    assert.equal(index.size, model.dependencies.size);
    let edges = 0;
    for (const [name, dependencies] of model.dependencies) {
      assert.deepEqual(new Set(index.dependenciesOf(name)), dependencies, name);
      assert.equal(index.dependentCount(name), model.dependents.get(name) ?? 0, name);
      edges += dependencies.size;
    }
    assert.equal(index.edgeCount, edges);
  };
  // [packages to reach, chance that a step adds a package]
  for (const [target, addChance] of [[25_000, 0.6], [4_000, 0.15], [12_000, 0.55]] as const) {
    const growing = live.length < target;
    while (growing ? live.length < target : live.length > target) {
      const choice = live.length === 0 ? 0 : random();
      if (choice < addChance) {
        const name = `pkg-${next++}`.padEnd(5 + randomInt(random, 40), "-");
        const dependencies = live.length === 0 ? [] : randomDependencies();
        assert.equal(index.index(name, dependencies), model.index(name, dependencies), name);
        live.push(name);
        outcomes.added++;
      } else if (choice < addChance + (1 - addChance) / 3) {
        const name = pickLive();
        const dependencies = randomDependencies();
        const accepted = model.index(name, dependencies);
        assert.equal(index.index(name, dependencies), accepted, `re-INDEX ${name}`);
        outcomes[accepted ? "reindexed" : "refused"]++;
      } else {
        const at = randomInt(random, live.length);
        const name = live[at]!;
        const removed = model.remove(name);
        assert.equal(index.remove(name), removed, `REMOVE ${name}`);
        if (removed) {
          live[at] = live[live.length - 1]!;
          live.pop();
        }
        outcomes[removed ? "removed" : "kept"]++;
      }
      const probe = pickLive();
      assert.equal(index.has(probe), true, `QUERY ${probe}`);
    }
    checkAll();
  }
  for (const [outcome, count] of Object.entries(outcomes)) {
    assert.ok(count > 300, `the run exercised '${outcome}' (${count} times)`);
  }
  assertConsistent(index);
});

Deno.test("PackageIndex re-indexing a package with the same dependencies in the same order changes nothing", () => {
  const index = PackageIndex.fromEntries([["gmp", []], ["mpfr", []], ["isl", ["gmp", "mpfr"]]]);
  assert.equal(index.indexReplacing(namesOf("isl", ["gmp", "mpfr"])), UNCHANGED);
  assert.equal(index.indexReplacing(namesOf("isl", ["gmp", "gmp", "mpfr"])), UNCHANGED);
  assert.equal(index.indexReplacing(namesOf("gmp", [])), UNCHANGED);
  assert.equal(index.indexRequest(namesOf("isl", ["gmp", "mpfr"])), true);
  assert.deepEqual(index.dependenciesOf("isl"), ["gmp", "mpfr"]);
  assert.deepEqual(index.indexReplacing(namesOf("isl", ["mpfr", "gmp"])), ["gmp", "mpfr"]);
  assert.deepEqual(index.dependenciesOf("isl"), ["mpfr", "gmp"], "another order is a change");
  assertConsistent(index);
});

Deno.test("PackageIndex says what each change replaced, and REFUSED for a change it refuses", () => {
  const index = new PackageIndex();
  assert.equal(index.indexReplacing(namesOf("gmp", [])), undefined, "new: nothing replaced");
  assert.equal(index.indexReplacing(namesOf("isl", ["mpfr"])), REFUSED, "mpfr is not indexed");
  assert.equal(index.indexReplacing(namesOf("isl", ["gmp", "gmp"])), undefined);
  assert.deepEqual(index.indexReplacing(namesOf("isl", [])), ["gmp"]);
  assert.deepEqual(index.indexReplacing(namesOf("isl", ["gmp"])), []);
  assert.equal(index.indexReplacing(namesOf("gmp", ["isl"])), REFUSED, "it would close a cycle");
  assert.equal(index.indexReplacing(namesOf("gmp", ["gmp"])), REFUSED, "it depends on itself");
  assert.deepEqual(index.dependenciesOf("gmp"), [], "a refused change changes nothing");
  const version = index.version;
  assert.equal(index.removeReplacing(namesOf("gmp", [])), REFUSED, "isl depends on it");
  assert.equal(index.removeReplacing(namesOf("absent", [])), undefined, "nothing to remove");
  assert.equal(index.version, version, "neither changed the index");
  assert.deepEqual(index.removeReplacing(namesOf("isl", [])), ["gmp"]);
  assert.deepEqual(index.removeReplacing(namesOf("gmp", [])), []);
  assert.equal(index.size, 0);
  assertConsistent(index);
});

Deno.test("PackageIndex.loadSlots gives the index the same packages would give, in the slots given", () => {
  const packages = generatePackages({ count: 400, seed: 9 });
  const expected = PackageIndex.fromEntries(packages.map((spec) => [spec.name, spec.dependencies]));
  // Slots 0, 2, 4, ... in a shuffled assignment: gaps, and dependencies in later slots.
  const order = shuffle(packages.map((_, i) => i), createRandom(9));
  const slotOf = new Map(order.map((p, rank) => [packages[p]!.name, 2 * rank]));
  const loader = PackageIndex.loadSlots(2 * packages.length);
  const encoder = new TextEncoder();
  for (const p of order) {
    const bytes = encoder.encode(packages[p]!.name);
    loader.addName(slotOf.get(packages[p]!.name)!, bytes, 0, bytes.length);
  }
  for (const spec of packages) {
    const slots = Int32Array.from(
      [...spec.dependencies, ...spec.dependencies],
      (name) => slotOf.get(name)!,
    );
    loader.setDependencies(slotOf.get(spec.name)!, slots, slots.length);
  }
  const index = loader.finish();
  assert.deepEqual([...index.entries()].sort(), [...expected.entries()].sort());
  for (const spec of packages) assert.equal(index.slotOf(spec.name), slotOf.get(spec.name));
  assertConsistent(index);
  assert.equal(index.index("new", []), true, "a loaded index takes changes");
  assert.equal(index.slotOf("new") % 2, 1, "in a slot the load left free");
  assertConsistent(index);
});

Deno.test("PackageIndex.loadSlots refuses repeated names, free slots and cycles", () => {
  const bytes = new TextEncoder().encode("ab");
  const twice = PackageIndex.loadSlots(2);
  twice.addName(0, bytes, 0, 1);
  assert.throws(() => twice.addName(1, bytes, 0, 1), /Package 'a' is listed twice/);
  const free = PackageIndex.loadSlots(3);
  free.addName(0, bytes, 0, 1);
  assert.throws(() => free.addName(3, bytes, 1, 2), /Cannot load slot 3: slots are below 3/);
  assert.throws(
    () => free.setDependencies(0, Int32Array.of(1), 1),
    /Cannot load a dependency on slot 1: it is free/,
  );
  const cyclic = PackageIndex.loadSlots(2);
  cyclic.addName(0, bytes, 0, 1);
  cyclic.addName(1, bytes, 1, 2);
  cyclic.setDependencies(0, Int32Array.of(1), 1);
  cyclic.setDependencies(1, Int32Array.of(0), 1);
  assert.throws(() => cyclic.finish(), /Package '[ab]' is part of a dependency cycle/);
});

Deno.test("PackageIndex stays right when its arrays move past 1 MiB into WebAssembly memories and back", () => {
  // 300,000 packages take every array past 1 MiB (262,144 slots), where they stop doubling by
  // copying and grow in place; removing them all compacts the edge array and the arena, which
  // then move back into plain arrays, and the index must still answer and accept new packages.
  const packages = generatePackages({ count: 300_000, seed: 16, averageDependencies: 2.3 });
  const index = new PackageIndex();
  for (const spec of packages) assert.equal(index.index(spec.name, spec.dependencies), true);
  assert.equal(index.size, packages.length);
  const edges = packages.reduce((sum, spec) => sum + new Set(spec.dependencies).size, 0);
  assert.equal(index.edgeCount, edges);
  for (let i = 0; i < packages.length; i += 997) {
    const spec = packages[i]!;
    assert.deepEqual(new Set(index.dependenciesOf(spec.name)), new Set(spec.dependencies));
  }
  for (let i = packages.length - 1; i >= 0; i--) {
    assert.equal(index.remove(packages[i]!.name), true, packages[i]!.name);
    if (i % 50_000 === 0) {
      const spec = packages[i === 0 ? 0 : i - 1]!;
      assert.deepEqual(new Set(index.dependenciesOf(spec.name)), new Set(spec.dependencies));
    }
  }
  assert.equal(index.size, 0);
  assert.equal(index.edgeCount, 0);
  for (const spec of packages.slice(0, 1000)) index.index(spec.name, spec.dependencies);
  assert.equal(index.size, 1000);
  assertConsistent(index);
});
