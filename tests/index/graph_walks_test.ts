import assert from "node:assert/strict";
import {
  blockersOf,
  cycleClosedBy,
  dependentsOf,
  installOrderOf,
  listNames,
  onPackage,
} from "../../lib/index/graph_walks.ts";
import { PackageIndex } from "../../lib/index/package_index.ts";
import { STEPS_PER_YIELD, WalkRunner, type WalkSteps } from "../../lib/index/walk_runner.ts";
import { createRandom, randomInt } from "../../lib/tools/random.ts";
import { generatePackages } from "../../lib/tools/synthetic_packages.ts";

/** A walk of the package called `name`, as the inspection API runs it: `undefined` when absent. */
function byName<T>(walk: (index: PackageIndex, slot: number, limit: number) => WalkSteps<T>) {
  return (index: PackageIndex, name: string, limit: number) =>
    onPackage(index, name, (slot) => walk(index, slot, limit));
}
const blockersNamed = byName(blockersOf);
const installOrderNamed = byName(installOrderOf);
const dependentsNamed = byName(dependentsOf);

/** Runs `steps` to its end by hand, as no runner would: its answer and how often it yielded. */
function stepByHand<T>(steps: WalkSteps<T>): { answer: T; yields: number } {
  let yields = 0;
  for (let step = steps.next();; step = steps.next()) {
    if (step.done) return { answer: step.value, yields };
    yields++;
  }
}

/** Runs `walk` over `index` to its answer, in slices. */
function run<T>(index: PackageIndex, walk: (index: PackageIndex) => WalkSteps<T>): Promise<T> {
  return new WalkRunner(index).run(walk, "a test walk");
}

/**
 * A seeded random graph of 600 packages in which some packages were removed and others indexed
 * since, so that slots are reused and slot order is not the order of indexing.
 */
function churnedGraph(): PackageIndex {
  const index = new PackageIndex();
  const packages = generatePackages({ count: 600, seed: 11 });
  for (const spec of packages) assert.ok(index.index(spec.name, spec.dependencies));
  const random = createRandom(5);
  for (let i = 0; i < 300; i++) {
    const spec = packages[randomInt(random, packages.length)]!;
    if (index.remove(spec.name)) index.index(`again-${i}`, spec.dependencies);
  }
  return index;
}

/** The packages from which `name` can be reached along dependencies, not counting itself. */
function transitiveDependents(index: PackageIndex, name: string): Set<string> {
  const found = new Set<string>();
  // Entries come dependencies first, so each package's dependencies are decided before it.
  for (const [other, dependencies] of index.entries()) {
    if (dependencies.some((dependency) => dependency === name || found.has(dependency))) {
      found.add(other);
    }
  }
  return found;
}

/** Everything `name` depends on, directly or not. */
function transitiveDependencies(index: PackageIndex, name: string): Set<string> {
  const found = new Set<string>();
  const pending = [...index.dependenciesOf(name)!];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (found.has(next)) continue;
    found.add(next);
    pending.push(...index.dependenciesOf(next)!);
  }
  return found;
}

Deno.test("blockersOf lists every transitive dependent in an order REMOVE accepts one by one", async () => {
  const index = churnedGraph();
  const names = [...index.entries()].map(([name]) => name);
  let nonTrivial = 0;
  for (const name of names.filter((_, i) => i % 20 === 0)) {
    const blockers = (await run(index, (index) => blockersNamed(index, name, 100_000)))!;
    const expected = transitiveDependents(index, name);
    assert.deepEqual(new Set(blockers.names), expected, `the blockers of ${name}`);
    assert.equal(blockers.names.length, expected.size, "each once");
    assert.equal(blockers.total, expected.size);
    assert.equal(blockers.truncated, false);
    const copy = PackageIndex.fromEntries(index.entries());
    for (const blocker of blockers.names) assert.ok(copy.remove(blocker), `REMOVE ${blocker}`);
    assert.ok(copy.remove(name), `REMOVE ${name} after its blockers`);
    if (expected.size > 1) nonTrivial++;
  }
  assert.ok(nonTrivial >= 3, `some packages had several blockers (${nonTrivial})`);
});

Deno.test("installOrderOf lists every transitive dependency before its dependents, the package last", async () => {
  const index = churnedGraph();
  const names = [...index.entries()].map(([name]) => name);
  for (const name of names.filter((_, i) => i % 20 === 0)) {
    const order = (await run(index, (index) => installOrderNamed(index, name, 100_000)))!;
    const expected = transitiveDependencies(index, name).add(name);
    assert.deepEqual(new Set(order.names), expected, `the install order of ${name}`);
    assert.equal(order.names.length, expected.size, "each once");
    assert.equal(order.names.at(-1), name);
    const fresh = new PackageIndex();
    for (const step of order.names) {
      assert.ok(fresh.index(step, index.dependenciesOf(step)!), `INDEX ${step}`);
    }
  }
});

Deno.test("blockersOf and installOrderOf answer undefined for a package that is not indexed", async () => {
  const index = PackageIndex.fromEntries([["gmp", []]]);
  assert.equal(await run(index, (index) => blockersNamed(index, "isl", 10)), undefined);
  assert.equal(await run(index, (index) => installOrderNamed(index, "isl", 10)), undefined);
  assert.equal(await run(index, (index) => dependentsNamed(index, "isl", 10)), undefined);
});

Deno.test("dependentsOf lists direct dependents in byte order, cut at the limit", async () => {
  const index = PackageIndex.fromEntries([
    ["gmp", []],
    ["zlib", ["gmp"]],
    ["isl", ["gmp"]],
    ["cloog", ["isl", "gmp"]],
    ["ppl", ["cloog"]], // depends on gmp only transitively
    ["Gtk+3", ["gmp"]], // upper case sorts before lower case in byte order
  ]);
  assert.deepEqual(await run(index, (index) => dependentsNamed(index, "gmp", 1000)), {
    names: ["Gtk+3", "cloog", "isl", "zlib"],
    total: 4,
    truncated: false,
  });
  assert.deepEqual(await run(index, (index) => dependentsNamed(index, "gmp", 2)), {
    names: ["Gtk+3", "cloog"],
    total: 4,
    truncated: true,
  });
  assert.deepEqual(await run(index, (index) => dependentsNamed(index, "ppl", 2)), {
    names: [],
    total: 0,
    truncated: false,
  });
});

Deno.test("cycleClosedBy answers the shortest cycle an INDEX would close, or none", async () => {
  const index = PackageIndex.fromEntries([
    ["a", []],
    ["b", ["a"]],
    ["c", ["b"]],
    ["x", ["a"]],
    ["d", ["c", "x"]],
  ]);
  const cycle = (name: string, dependencies: string[], limit = 1000) =>
    run(index, (index) => cycleClosedBy(index, name, dependencies, limit));
  assert.deepEqual(await cycle("a", ["d"]), {
    names: ["a", "d", "x", "a"], // d → c → b → a is longer
    total: 4,
    truncated: false,
  });
  assert.deepEqual(await cycle("b", ["x", "d"]), {
    names: ["b", "d", "c", "b"],
    total: 4,
    truncated: false,
  });
  assert.deepEqual(await cycle("a", ["x", "a"]), { names: ["a", "a"], total: 2, truncated: false });
  assert.deepEqual(await cycle("a", ["d"], 2), { names: ["a", "d"], total: 4, truncated: true });
  assert.equal(await cycle("d", ["a", "b"]), undefined, "d depends on nothing that reaches it");
  assert.equal(await cycle("new", ["d"]), undefined, "nothing depends on a new package");
  assert.equal(await cycle("c", ["x"]), undefined);
});

Deno.test("listNames pages through every name exactly once, in byte order, for any prefix", async () => {
  const index = churnedGraph();
  const all = [...index.entries()].map(([name]) => name).sort();
  const cases: [string, number[]][] = [
    ["", [7, 1000]],
    ["lib", [7, 1000]],
    ["@scope/", [7]],
    ["py@3.1", [1, 1000]],
    ["again-1", [1, 7]],
    ["none-like-this", [1]],
  ];
  for (const [prefix, limits] of cases) {
    const expected = all.filter((name) => name.startsWith(prefix));
    for (const limit of limits) {
      const seen: string[] = [];
      let after = "";
      for (let page = 0;; page++) {
        assert.ok(page <= expected.length, "paging ends");
        const answer = await run(index, (index) => listNames(index, { prefix, after, limit }));
        assert.equal(answer.total, expected.length);
        assert.ok(answer.names.length <= limit);
        seen.push(...answer.names);
        if (answer.next === null) break;
        assert.equal(answer.next, answer.names.at(-1));
        after = answer.next;
      }
      assert.deepEqual(seen, expected, `prefix '${prefix}', limit ${limit}`);
    }
  }
});

Deno.test("walks over a 100,000-package chain yield at least every STEPS_PER_YIELD packages and answer the chain", () => {
  const length = 100_000;
  const index = PackageIndex.fromEntries(
    Array.from({ length }, (_, i): [string, string[]] => [`w${i}`, i === 0 ? [] : [`w${i - 1}`]]),
  );
  const enough = length / STEPS_PER_YIELD;
  const blockers = stepByHand(blockersNamed(index, "w0", 3));
  assert.deepEqual(blockers.answer, {
    names: [`w${length - 1}`, `w${length - 2}`, `w${length - 3}`],
    total: length - 1,
    truncated: true,
  });
  assert.ok(blockers.yields >= enough, `blockersOf yielded ${blockers.yields} times`);
  const order = stepByHand(installOrderNamed(index, `w${length - 1}`, 2));
  assert.deepEqual(order.answer, { names: ["w0", "w1"], total: length, truncated: true });
  assert.ok(order.yields >= enough, `installOrderOf yielded ${order.yields} times`);
  const cycle = stepByHand(cycleClosedBy(index, "w0", [`w${length - 1}`], 3));
  assert.deepEqual(cycle.answer, {
    names: ["w0", `w${length - 1}`, `w${length - 2}`],
    total: length + 1,
    truncated: true,
  });
  assert.ok(cycle.yields >= enough, `cycleClosedBy yielded ${cycle.yields} times`);
});
