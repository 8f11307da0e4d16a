/**
 * Read-only walks over the dependency graph, for the inspection API: who depends on a package,
 * what must be removed before it, what must be indexed before it, which cycle an INDEX would
 * close, which dependencies are missing, and the names in byte order.
 *
 * Each walk is a generator for {@linkcode WalkRunner}: it reads the index only through the public
 * slot-level reads of {@linkcode PackageIndex}, never changes it, and yields as its
 * {@linkcode Pace} says so that a walk over a million packages runs in slices. It may
 * assume that the index does not change while it runs: the runner never resumes a walk after a
 * change, it starts it again. Every list a walk returns is cut at a `limit` (and says so); the
 * work is bounded by the size of the graph.
 *
 * Direct dependents have no reverse index: they are found by scanning every package's
 * dependencies, stopping once the package's dependent count is reached.
 *
 * @module
 */

import { SmallestStrings } from "../util/smallest_strings.ts";
import type { PackageIndex } from "./package_index.ts";
import { postOrder } from "./post_order.ts";
import { Pace, type WalkSteps } from "./walk_runner.ts";

const encoder = new TextEncoder();

/** A list of names cut at a limit: the first `limit` of `total`. */
export interface NameList {
  /** The names, at most `limit` of them. */
  names: string[];
  /** How many names the whole list has. */
  total: number;
  /** Whether `names` is only the start of the list (`total` is larger). */
  truncated: boolean;
}

/** A package and its direct neighbours, as `GET /v1/packages/{name}` shows it. */
export interface PackageView {
  /** The package. */
  name: string;
  /** What it depends on, in the order it was last indexed with, at most `limit`. */
  dependencies: string[];
  /** What depends on it directly, in byte order, at most `limit`. */
  dependents: string[];
  /** How many dependencies it has. */
  dependencyCount: number;
  /** How many indexed packages depend on it directly. */
  dependentCount: number;
  /** Whether either list was cut at `limit`. */
  truncated: boolean;
}

/**
 * Runs `walk` on the slot of the package called `name`: the one place the walks look a package
 * up by name. `undefined` when it is not indexed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PackageIndex } from "./package_index.ts";
 * import { dependentsOf, onPackage } from "./graph_walks.ts";
 * import { WalkRunner } from "./walk_runner.ts";
 *
 * const runner = new WalkRunner(PackageIndex.fromEntries([["gmp", []], ["isl", ["gmp"]]]));
 * const isl = (name: string) =>
 *   runner.run((index) => onPackage(index, name, (slot) => dependentsOf(index, slot, 10)), "a walk");
 * assert.deepEqual(await isl("gmp"), { names: ["isl"], total: 1, truncated: false });
 * assert.equal(await isl("ppl"), undefined);
 * ```
 */
export function* onPackage<T>(
  index: PackageIndex,
  name: string,
  walk: (slot: number) => WalkSteps<T>,
): WalkSteps<T | undefined> {
  const slot = index.slotOf(name);
  return slot === -1 ? undefined : yield* walk(slot);
}

/**
 * The package in `slot` with its dependencies and its direct dependents (each list at most
 * `limit` long).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PackageIndex } from "./package_index.ts";
 * import { describePackage } from "./graph_walks.ts";
 * import { WalkRunner } from "./walk_runner.ts";
 *
 * const index = PackageIndex.fromEntries([["gmp", []], ["isl", ["gmp"]], ["cloog", ["gmp", "isl"]]]);
 * const runner = new WalkRunner(index);
 * const isl = index.slotOf("isl");
 * assert.deepEqual(await runner.run((index) => describePackage(index, isl, 1000), "a walk"), {
 *   name: "isl",
 *   dependencies: ["gmp"],
 *   dependents: ["cloog"],
 *   dependencyCount: 1,
 *   dependentCount: 1,
 *   truncated: false,
 * });
 * ```
 */
export function* describePackage(
  index: PackageIndex,
  slot: number,
  limit: number,
): WalkSteps<PackageView> {
  const dependencyCount = index.degreeOf(slot);
  const dependencies: string[] = [];
  const pace = new Pace();
  for (let i = 0; i < Math.min(dependencyCount, limit); i++) {
    dependencies.push(index.nameOf(index.dependencyAt(slot, i)));
    if (pace.step()) yield;
  }
  const dependents = yield* dependentsOf(index, slot, limit);
  return {
    name: index.nameOf(slot),
    dependencies,
    dependents: dependents.names,
    dependencyCount,
    dependentCount: dependents.total,
    truncated: dependencyCount > limit || dependents.truncated,
  };
}

/**
 * The packages that depend directly on the package in `slot`, the `limit` first in byte order. Scans the dependencies of every package until it has found as many
 * dependents as the package has.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PackageIndex } from "./package_index.ts";
 * import { dependentsOf } from "./graph_walks.ts";
 * import { WalkRunner } from "./walk_runner.ts";
 *
 * const index = PackageIndex.fromEntries([["gmp", []], ["isl", ["gmp"]], ["cloog", ["gmp", "isl"]]]);
 * const runner = new WalkRunner(index);
 * const gmp = index.slotOf("gmp");
 * assert.deepEqual(await runner.run((index) => dependentsOf(index, gmp, 1), "a walk"), {
 *   names: ["cloog"],
 *   total: 2,
 *   truncated: true,
 * });
 * ```
 */
export function* dependentsOf(
  index: PackageIndex,
  target: number,
  limit: number,
): WalkSteps<NameList> {
  const total = index.dependentCountOf(target);
  const smallest = new SmallestStrings(limit);
  const pace = new Pace();
  for (let slot = 0; slot < index.slotCount && smallest.added < total; slot++) {
    if (!index.isIndexed(slot)) continue;
    const degree = index.degreeOf(slot);
    for (let i = 0; i < degree; i++) {
      if (index.dependencyAt(slot, i) === target) {
        smallest.add(index.nameOf(slot));
        break;
      }
    }
    if (pace.step(degree + 1)) yield;
  }
  return { names: yield* ascending(smallest), total, truncated: total > limit };
}

/**
 * Everything that depends on the package in `slot`, directly or not, in an order in which
 * `REMOVE` succeeds for each in turn (a package before everything it depends on), so that the
 * package itself can be removed after them. Cut at `limit`, the list is the first steps of that
 * order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PackageIndex } from "./package_index.ts";
 * import { blockersOf } from "./graph_walks.ts";
 * import { WalkRunner } from "./walk_runner.ts";
 *
 * const index = PackageIndex.fromEntries([["gmp", []], ["isl", ["gmp"]], ["cloog", ["isl"]]]);
 * const gmp = index.slotOf("gmp");
 * assert.deepEqual(await new WalkRunner(index).run((index) => blockersOf(index, gmp, 1000), "a walk"), {
 *   names: ["cloog", "isl"],
 *   total: 2,
 *   truncated: false,
 * });
 * ```
 */
export function* blockersOf(
  index: PackageIndex,
  target: number,
  limit: number,
): WalkSteps<NameList> {
  if (index.dependentCountOf(target) === 0) return { names: [], total: 0, truncated: false };
  // In post-order every package comes after its dependencies, so whether one depends on the
  // target is known from its dependencies by the time it is reached.
  const { order } = yield* postOrder(index, { from: 0, to: index.slotCount });
  const reaches = new Uint8Array(index.slotCount);
  reaches[target] = 1;
  let total = 0;
  const pace = new Pace();
  for (const slot of order) {
    const degree = index.degreeOf(slot);
    for (let i = 0; i < degree && reaches[slot] === 0; i++) {
      if (reaches[index.dependencyAt(slot, i)] === 1) {
        reaches[slot] = 1;
        total++;
      }
    }
    if (pace.step(degree + 1)) yield;
  }
  // Reversed, the post-order puts every package before its dependencies: the REMOVE order.
  const blockers = new Int32Array(total);
  let count = 0;
  for (let i = order.length - 1; i >= 0 && count < total; i--) {
    const slot = order[i]!;
    if (reaches[slot] === 1 && slot !== target) blockers[count++] = slot;
    if (pace.step()) yield;
  }
  return yield* namesOfSlots(index, blockers, limit);
}

/**
 * Everything the package in `slot` depends on, directly or not, in an order in which `INDEX`
 * succeeds for each in turn (a package after everything it depends on), ending with the package
 * itself. Cut at `limit`, the list is the first steps of that order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PackageIndex } from "./package_index.ts";
 * import { installOrderOf } from "./graph_walks.ts";
 * import { WalkRunner } from "./walk_runner.ts";
 *
 * const index = PackageIndex.fromEntries([["gmp", []], ["isl", ["gmp"]], ["cloog", ["isl", "gmp"]]]);
 * const cloog = index.slotOf("cloog");
 * assert.deepEqual(await new WalkRunner(index).run((index) => installOrderOf(index, cloog, 1000), "a walk"), {
 *   names: ["gmp", "isl", "cloog"],
 *   total: 3,
 *   truncated: false,
 * });
 * ```
 */
export function* installOrderOf(
  index: PackageIndex,
  slot: number,
  limit: number,
): WalkSteps<NameList> {
  const { order } = yield* postOrder(index, { from: slot, to: slot + 1 });
  return yield* namesOfSlots(index, order, limit);
}

/**
 * The names of `dependencies` that are not indexed, each once, in the order given: why an
 * `INDEX` naming them fails.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PackageIndex } from "./package_index.ts";
 * import { missingDependencies } from "./graph_walks.ts";
 * import { WalkRunner } from "./walk_runner.ts";
 *
 * const index = PackageIndex.fromEntries([["gmp", []]]);
 * const runner = new WalkRunner(index);
 * assert.deepEqual(await runner.run((index) => missingDependencies(index, ["isl", "gmp", "ppl", "isl"]), "a walk"), ["isl", "ppl"]);
 * ```
 */
export function* missingDependencies(
  index: PackageIndex,
  dependencies: readonly string[],
): WalkSteps<string[]> {
  const missing = new Set<string>();
  const pace = new Pace();
  for (const dependency of dependencies) {
    if (!index.has(dependency)) missing.add(dependency);
    if (pace.step()) yield;
  }
  return [...missing];
}

/**
 * The dependency cycle that indexing `name` with `dependencies` (all indexed) would close, as
 * the path from `name` back to itself (`["x", "a", "b", "x"]`: x would depend on a, a depends on
 * b, b on x), the shortest there is; `undefined` when it would close none. Cut at `limit`, the
 * path is its first `limit` names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PackageIndex } from "./package_index.ts";
 * import { cycleClosedBy } from "./graph_walks.ts";
 * import { WalkRunner } from "./walk_runner.ts";
 *
 * const index = PackageIndex.fromEntries([["gmp", []], ["isl", ["gmp"]], ["cloog", ["isl"]]]);
 * const runner = new WalkRunner(index);
 * assert.deepEqual(await runner.run((index) => cycleClosedBy(index, "gmp", ["cloog"], 1000), "a walk"), {
 *   names: ["gmp", "cloog", "isl", "gmp"],
 *   total: 4,
 *   truncated: false,
 * });
 * assert.equal(await runner.run((index) => cycleClosedBy(index, "cloog", ["gmp"], 1000), "a walk"), undefined);
 * ```
 */
export function* cycleClosedBy(
  index: PackageIndex,
  name: string,
  dependencies: readonly string[],
  limit: number,
): WalkSteps<NameList | undefined> {
  const slot = index.slotOf(name);
  if (slot === -1) return undefined; // a new package: nothing depends on it yet
  if (dependencies.includes(name)) {
    return yield* namesOfSlots(index, [slot, slot], limit);
  }
  // Only a package that something depends on can be reached from another package.
  if (index.dependentCountOf(slot) === 0) return undefined;
  // Breadth first from the dependencies: the first path to reach the package is a shortest one.
  // `previous` is -1 for a package not reached yet, and `slot` for a dependency itself.
  const previous = new Int32Array(index.slotCount).fill(-1);
  const queue = new Int32Array(index.slotCount);
  let tail = 0;
  for (const dependency of dependencies) {
    const start = index.slotOf(dependency);
    if (start === -1 || previous[start] !== -1) continue;
    previous[start] = slot;
    queue[tail++] = start;
  }
  const pace = new Pace();
  for (let head = 0; head < tail; head++) {
    const current = queue[head]!;
    const degree = index.degreeOf(current);
    for (let i = 0; i < degree; i++) {
      const next = index.dependencyAt(current, i);
      if (next === slot) {
        return yield* namesOfSlots(index, yield* pathBack(previous, slot, current), limit);
      }
      if (previous[next] !== -1) continue;
      previous[next] = current;
      queue[tail++] = next;
    }
    if (pace.step(degree + 1)) yield;
  }
  return undefined;
}

/**
 * The cycle through `slot` whose last step before returning to it is `last`, as slots: `slot`,
 * its first dependency, ..., `last`, `slot`. Found by following `previous` back from `last`,
 * once to count the steps and once to fill the path from its end.
 */
function* pathBack(previous: Int32Array, slot: number, last: number): WalkSteps<Int32Array> {
  let length = 2;
  const pace = new Pace();
  for (let at = last; at !== slot; at = previous[at]!) {
    length++;
    if (pace.step()) yield;
  }
  const path = new Int32Array(length);
  path[0] = slot;
  path[length - 1] = slot;
  let i = length - 2;
  for (let at = last; at !== slot; at = previous[at]!) {
    path[i--] = at;
    if (pace.step()) yield;
  }
  return path;
}

/** Which names {@linkcode listNames} returns. */
export interface NameQuery {
  /** Only names that start with this (`""` for every name). */
  prefix: string;
  /** Only names after this one in byte order (`""` for the first page). */
  after: string;
  /** At most this many names. */
  limit: number;
}

/** One page of names from {@linkcode listNames}. */
export interface NamePage {
  /** The names, in byte order. */
  names: string[];
  /** How many indexed names start with the prefix, on every page together. */
  total: number;
  /** The `after` of the next page, or `null` when this page is the last. */
  next: string | null;
}

/**
 * The `limit` smallest indexed names in byte order that start with `prefix` and come after
 * `after`, with the cursor of the next page: paging with it returns every name that stays
 * indexed meanwhile exactly once, whatever else changes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PackageIndex } from "./package_index.ts";
 * import { listNames } from "./graph_walks.ts";
 * import { WalkRunner } from "./walk_runner.ts";
 *
 * const index = PackageIndex.fromEntries([["gmp", []], ["isl", []], ["gtk+3", []], ["glib", []]]);
 * const runner = new WalkRunner(index);
 * assert.deepEqual(await runner.run((index) => listNames(index, { prefix: "g", after: "", limit: 2 }), "a walk"), {
 *   names: ["glib", "gmp"],
 *   total: 3,
 *   next: "gmp",
 * });
 * assert.deepEqual(await runner.run((index) => listNames(index, { prefix: "g", after: "gmp", limit: 2 }), "a walk"), {
 *   names: ["gtk+3"],
 *   total: 3,
 *   next: null,
 * });
 * ```
 */
export function* listNames(index: PackageIndex, query: NameQuery): WalkSteps<NamePage> {
  const { limit } = query;
  const prefix = encoder.encode(query.prefix);
  const after = encoder.encode(query.after);
  const smallest = new SmallestStrings(limit);
  /** The bytes of `smallest.largestKept`: a name that does not sort before it is skipped. */
  let largest: Uint8Array | undefined;
  let total = 0;
  let pastCursor = 0;
  const pace = new Pace();
  for (let slot = 0; slot < index.slotCount; slot++) {
    // Byte comparisons in the name table: a string is made only for a name that is kept.
    if (index.isIndexed(slot) && index.nameStartsWith(slot, prefix)) {
      total++;
      if (index.compareName(slot, after) > 0) {
        pastCursor++;
        if (largest === undefined || index.compareName(slot, largest) < 0) {
          smallest.add(index.nameOf(slot));
          const kept = smallest.largestKept;
          largest = kept === undefined ? undefined : encoder.encode(kept);
        }
      }
    }
    if (pace.step()) yield;
  }
  const names = yield* ascending(smallest);
  return { names, total, next: pastCursor > limit ? names.at(-1)! : null };
}

/** The names of the first `limit` of `slots`, as a {@linkcode NameList} of all of them. */
function* namesOfSlots(
  index: PackageIndex,
  slots: ArrayLike<number>,
  limit: number,
): WalkSteps<NameList> {
  const names: string[] = [];
  const pace = new Pace();
  for (let i = 0; i < Math.min(limit, slots.length); i++) {
    names.push(index.nameOf(slots[i]!));
    if (pace.step()) yield;
  }
  return { names, total: slots.length, truncated: slots.length > limit };
}

/** Everything `smallest` keeps, taken out in ascending order. */
function* ascending(smallest: SmallestStrings): WalkSteps<string[]> {
  const names = new Array<string>(smallest.size);
  const pace = new Pace();
  for (let i = names.length - 1; i >= 0; i--) {
    names[i] = smallest.popLargest()!;
    if (pace.step()) yield;
  }
  return names;
}
