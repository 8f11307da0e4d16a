/**
 * The dependency index: which packages are indexed and what each depends on.
 *
 * The index is pure, synchronous and does no I/O, so every operation is atomic on Deno's single
 * thread: nothing can interleave between the check ("are all dependencies indexed?") and the
 * change. Callers must keep it that way and never `await` between reading and mutating.
 *
 * The request path hands the index names as byte ranges of the read buffer
 * ({@linkcode RequestNames}); they are looked up by their bytes in the {@linkcode NameTable},
 * which interns each package name to a small integer slot and copies its bytes only when the
 * package is first stored. The graph is kept in typed arrays indexed by slot: every dependency
 * list lives in one shared `Int32Array`, and per package there are three more 32-bit words (where
 * its list starts, its length, its dependents count) and a byte (a mark for walks).
 *
 * Memory, per package: 13 bytes of slot arrays, a 4-byte header for its list when it has
 * dependencies, and its name in the {@linkcode NameTable} (for a 10-byte name, 23 to 31 bytes):
 * about 43 bytes. Per dependency edge: 4 bytes. A million packages with 2.3 dependencies each
 * and 11-byte names take about 52 MB by this count, with 4 each about 59 MB, plus up to a quarter
 * of each array grown but not yet used; `deno task bench:memory` measures the whole server (the
 * runtime adds its own, about 56 MiB empty and 71 MiB once it has served a million requests).
 *
 * Nothing stops the server to grow or tidy these arrays (see docs/decisions.md, "Growth without a
 * stop"): past 1 MiB they grow in place ({@linkcode grownTo}), and the space of replaced and removed
 * lists is reclaimed a little with every change, by sliding live lists down over it, once it is
 * half of the edge array. Each list starts with a header word naming its package, or, for space
 * no list uses, minus its length, so that the slide can walk the array. Slots of removed packages
 * are recycled, and the space a slide frees is reused as lists are added again; an edge array
 * that a slide leaves within 1 MiB moves back into a plain array, giving its memory back.
 *
 * @module
 */

import type { IndexOperations, RequestNames } from "../protocol/command_table.ts";
import { namesOf } from "../protocol/request_parser.ts";
import { nameFromBytes } from "../protocol/names.ts";
import { grownTo, shrinkTo } from "./growable_array.ts";
import { MAX_NAMES, NameTable } from "./name_table.ts";
import { postOrder } from "./post_order.ts";
import { runToEnd } from "./walk_runner.ts";

const encoder = new TextEncoder();

/** What `INDEX` of a package would do now: see {@linkcode PackageIndex.checkIndex}. */
export type IndexCheck = "ok" | "missing-dependency" | "cycle";

const MISSING_DEPENDENCY = -1;
const CLOSES_CYCLE = -2;

/** What a change that was refused replaced: nothing, as it changed nothing. */
export const REFUSED: unique symbol = Symbol("refused");

/**
 * What an INDEX replaced when the package was already indexed with exactly the dependencies it
 * names, in the same order: nothing, as it changed nothing.
 */
export const UNCHANGED: unique symbol = Symbol("unchanged");

/**
 * What a change to the index replaced, for an undo log: {@linkcode REFUSED} when the change was
 * refused, {@linkcode UNCHANGED} when an INDEX found the package as it would leave it,
 * `undefined` when the package was not indexed before it, or else the package's dependencies
 * before it.
 */
export type Replaced = string[] | undefined | typeof REFUSED | typeof UNCHANGED;

/**
 * An in-memory dependency graph that only ever holds a consistent state: every dependency of an
 * indexed package is itself indexed, and there is no dependency cycle.
 *
 * The request path uses the byte-level {@linkcode IndexOperations} (`indexRequest`,
 * `removeRequest`, `hasRequest`); everything else may use the same operations by name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PackageIndex } from "./package_index.ts";
 *
 * const index = new PackageIndex();
 * assert.equal(index.index("gmp", []), true);
 * assert.equal(index.index("cloog", ["gmp", "isl"]), false); // isl is not indexed
 * assert.equal(index.index("isl", ["gmp"]), true);
 * assert.equal(index.index("cloog", ["gmp", "isl"]), true);
 * assert.equal(index.remove("gmp"), false); // isl and cloog depend on it
 * assert.equal(index.has("cloog"), true);
 * ```
 */
export class PackageIndex implements IndexOperations {
  /** Name ↔ slot, for indexed packages only. */
  #table = new NameTable();
  /**
   * Every dependency list, back to back, each after a header word holding its package's slot:
   * slot `s` depends on the slots in `#edges[#firstEdge[s] .. #firstEdge[s] + #degree[s])`,
   * without duplicates, and `#edges[#firstEdge[s] - 1]` is `s`. Space that no list uses starts
   * with minus its length.
   */
  #edges = new Int32Array(INITIAL_EDGES);
  /** The end of the used part of #edges. */
  #edgesEnd = 0;
  /** Positions before #edgesEnd that no list uses (replaced and removed lists, a slide's gap). */
  #edgesGarbage = 0;
  /** While compacting: where the next block to slide is, and where it goes; else -1. */
  #compactFrom = -1;
  #compactTo = -1;
  /** The number of dependency edges. */
  #edgeCount = 0;
  #firstEdge = new Int32Array(INITIAL_SLOTS);
  #degree = new Int32Array(INITIAL_SLOTS);
  /**
   * Slot → how many indexed packages depend on it. Stored, though the edges say it too: REMOVE
   * must know at once. #setDependencies keeps it with the edges; a test checks they agree.
   */
  #dependentCounts = new Int32Array(INITIAL_SLOTS);
  /**
   * Slot → 1 while a cycle check or the reading of a dependency list has marked it, else 0: a set
   * of slots that allocates nothing. Whatever marks slots lists them, and unmarks them all before
   * it returns, so that it costs one byte per slot.
   */
  #marks = new Uint8Array(INITIAL_SLOTS);
  /** Scratch list of the dependency slots of the request being handled, reused between requests. */
  #dependencySlots = new Int32Array(64);
  /** The slot (or -1) and name hash of the package the last INDEX check was about. */
  #checkedSlot = -1;
  #checkedHash = 0;
  /** Scratch list of the slots the cycle check marked, in the order it walks them. */
  #walk = new Int32Array(64);
  /** Scratch bytes of a name given as a string, for looking it up. */
  #nameBytes = new Uint8Array(1024);
  /** Counts the changes to the index; see {@linkcode PackageIndex.version}. */
  #version = 0;

  /**
   * Builds an index from entries in any order (a data file loads by slot instead: see
   * {@linkcode PackageIndex.loadSlots}), checking that every dependency is listed and that there
   * is no cycle. Throws an error naming the offending package otherwise. Costs O(packages +
   * dependencies), in one pass over `entries`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PackageIndex } from "./package_index.ts";
   *
   * const index = PackageIndex.fromEntries([["isl", ["gmp"]], ["gmp", []]]);
   * assert.equal(index.size, 2);
   * assert.throws(
   *   () => PackageIndex.fromEntries([["isl", ["gmp"]]]),
   *   /Package 'isl' depends on 'gmp', which is not listed/,
   * );
   * ```
   */
  static fromEntries(entries: Iterable<readonly [string, readonly string[]]>): PackageIndex {
    const index = new PackageIndex();
    // One pass: a dependency named before its own entry gets a slot at once and must be listed
    // by the end. `listed` marks the slots whose own entry has been read.
    const listed: boolean[] = [];
    for (const [name, dependencies] of entries) {
      const slot = index.#slotOfName(name, { create: true });
      if (listed[slot]) throw new Error(`Package '${name}' is listed twice`);
      listed[slot] = true;
      let count = 0;
      for (const dependency of dependencies) {
        count = index.#addDependency(count, index.#slotOfName(dependency, { create: true }));
      }
      index.#unmarkDependencies(count);
      index.#setDependencies(slot, index.#dependencySlots, count);
    }
    for (let slot = 0; slot < index.#table.slotCount; slot++) {
      if (!listed[slot]) {
        const missing = index.#table.nameOf(slot);
        const [dependent] = [...index.entries()].find(([, deps]) => deps.includes(missing))!;
        throw new Error(`Package '${dependent}' depends on '${missing}', which is not listed`);
      }
    }
    index.#refuseCycles();
    return index;
  }

  /**
   * Starts loading an index whose slots were stored (a data file stores each package with its
   * slot), straight into the slot arrays: each name is hashed once, and no dependency is looked
   * up by name. Every slot must be below `slotCount`. Give every package's name first, in
   * ascending slots (the slots skipped are free), then each package's dependencies, then call
   * `finish`, which checks that there is no dependency cycle. See {@linkcode IndexLoader}.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PackageIndex } from "./package_index.ts";
   *
   * const names = new TextEncoder().encode("gmpisl");
   * const loader = PackageIndex.loadSlots(3);
   * loader.addName(0, names, 0, 3); // gmp in slot 0
   * loader.addName(2, names, 3, 6); // isl in slot 2; slot 1 is free
   * loader.setDependencies(2, Int32Array.of(0), 1); // isl depends on gmp
   * const index = loader.finish();
   * assert.deepEqual([...index.entries()], [["gmp", []], ["isl", ["gmp"]]]);
   * assert.equal(index.slotOf("isl"), 2);
   * ```
   */
  static loadSlots(slotCount: number): IndexLoader {
    const index = new PackageIndex();
    if (slotCount > 0) index.#growSlotArrays(slotCount - 1);
    const table = index.#table;
    const checkSlot = (slot: number) => {
      if (!(slot >= 0 && slot < slotCount)) {
        throw new RangeError(`Cannot load slot ${slot}: slots are below ${slotCount}`);
      }
    };
    return {
      index,
      addName(slot, bytes, start, end) {
        checkSlot(slot);
        const hash = table.hash(bytes, start, end);
        if (table.find(hash, bytes, start, end) !== -1) {
          throw new Error(`Package '${nameFromBytes(bytes, start, end)}' is listed twice`);
        }
        table.insertAt(hash, bytes, start, end, slot);
      },
      setDependencies(slot, dependencySlots, count) {
        let unique = 0;
        for (let i = 0; i < count; i++) {
          const dependency = dependencySlots[i]!;
          if (!table.isUsed(dependency)) {
            index.#unmarkDependencies(unique);
            throw new RangeError(`Cannot load a dependency on slot ${dependency}: it is free`);
          }
          unique = index.#addDependency(unique, dependency);
        }
        index.#unmarkDependencies(unique);
        if (!table.isUsed(slot)) throw new RangeError(`Cannot load slot ${slot}: it is free`);
        index.#setDependencies(slot, index.#dependencySlots, unique);
      },
      finish() {
        index.#refuseCycles();
        return index;
      },
    };
  }

  /** The number of packages indexed. */
  get size(): number {
    return this.#table.size;
  }

  /** The number of dependency edges between indexed packages (duplicates counted once). */
  get edgeCount(): number {
    return this.#edgeCount;
  }

  /**
   * A number that changes whenever the index may have changed: with every successful index (a
   * re-index with the same list included) and every removal of an indexed package, and never
   * otherwise. A walk over the graph that spans several turns of the event loop compares it to
   * know that it saw one state.
   */
  get version(): number {
    return this.#version;
  }

  /** One more than the highest slot in use: every indexed package's slot is below it. */
  get slotCount(): number {
    return this.#table.slotCount;
  }

  /**
   * The slot of the package called `name`, or -1 when it is not indexed. Slots, like the other
   * slot-level reads below, are for read-only walks over the graph; a slot means nothing after
   * the index changes.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PackageIndex } from "./package_index.ts";
   *
   * const index = PackageIndex.fromEntries([["gmp", []], ["isl", ["gmp"]]]);
   * const isl = index.slotOf("isl");
   * assert.equal(index.degreeOf(isl), 1);
   * assert.equal(index.nameOf(index.dependencyAt(isl, 0)), "gmp");
   * assert.equal(index.dependentCountOf(index.slotOf("gmp")), 1);
   * ```
   */
  slotOf(name: string): number {
    return this.#slotOfName(name, { create: false });
  }

  /** Whether `slot` holds an indexed package. */
  isIndexed(slot: number): boolean {
    return this.#table.isUsed(slot);
  }

  /** The name of the package in `slot`, which must hold one. */
  nameOf(slot: number): string {
    return this.#table.nameOf(slot);
  }

  /**
   * Compares the name of the package in `slot` with the name `bytes` in byte order (negative,
   * 0 or positive), without making a string: for walks that sort or filter a million names.
   */
  compareName(slot: number, bytes: Uint8Array): number {
    return this.#table.compareName(slot, bytes);
  }

  /** Whether the name of the package in `slot` starts with the bytes `prefix`. */
  nameStartsWith(slot: number, prefix: Uint8Array): boolean {
    return this.#table.nameStartsWith(slot, prefix);
  }

  /** How many dependencies the package in `slot` has. */
  degreeOf(slot: number): number {
    return this.#degree[slot]!;
  }

  /** The slot of dependency `i` (from 0 to `degreeOf(slot) - 1`) of the package in `slot`. */
  dependencyAt(slot: number, i: number): number {
    return this.#edges[this.#firstEdge[slot]! + i]!;
  }

  /** How many indexed packages depend on the package in `slot`. */
  dependentCountOf(slot: number): number {
    return this.#dependentCounts[slot]!;
  }

  /** Whether the request's package is indexed. */
  hasRequest(request: RequestNames): boolean {
    const { bytes, nameStart, nameEnd } = request;
    const table = this.#table;
    return table.find(table.hash(bytes, nameStart, nameEnd), bytes, nameStart, nameEnd) !== -1;
  }

  /**
   * What `INDEX` of the request would do now, decided without changing the index: `"ok"` when it
   * would succeed, `"missing-dependency"` when a dependency is not indexed, and `"cycle"` when the
   * new list would close a dependency cycle (a package depending on itself included). This is the
   * decision {@linkcode PackageIndex.indexRequest} takes before it changes anything.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PackageIndex } from "./package_index.ts";
   * import { namesOf } from "../protocol/request_parser.ts";
   *
   * const index = PackageIndex.fromEntries([["gmp", []], ["isl", ["gmp"]]]);
   * assert.equal(index.checkIndex(namesOf("cloog", ["isl", "gmp"])), "ok");
   * assert.equal(index.checkIndex(namesOf("cloog", ["isl", "ppl"])), "missing-dependency");
   * assert.equal(index.checkIndex(namesOf("gmp", ["isl"])), "cycle");
   * assert.equal(index.has("cloog"), false); // nothing changed
   * ```
   */
  checkIndex(request: RequestNames): IndexCheck {
    const count = this.#checkIndex(request);
    return count >= 0 ? "ok" : count === MISSING_DEPENDENCY ? "missing-dependency" : "cycle";
  }

  /**
   * Indexes the request's package with exactly its dependencies (duplicates count once),
   * replacing any dependency list it had. Returns `false` and changes nothing when a dependency
   * is not indexed or when the new list would close a dependency cycle (a package depending on
   * itself included): a package on a cycle could never be removed.
   *
   * Costs O(number of dependencies named), except that re-indexing a package that others depend
   * on with a dependency it did not have before walks the graph below that dependency.
   */
  indexRequest(request: RequestNames): boolean {
    return this.#indexReplacing(request, { keepPrevious: false }) !== REFUSED;
  }

  /**
   * Does what {@linkcode PackageIndex.indexRequest} does, and says what the change replaced, for
   * an undo log: {@linkcode REFUSED} when it was refused, {@linkcode UNCHANGED} when the package
   * already had exactly these dependencies in this order, `undefined` when the package was not
   * indexed before, or else its previous dependencies. Names are made only for a change that was
   * made.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PackageIndex, REFUSED, UNCHANGED } from "./package_index.ts";
   * import { namesOf } from "../protocol/request_parser.ts";
   *
   * const index = new PackageIndex();
   * assert.equal(index.indexReplacing(namesOf("gmp", [])), undefined); // new
   * assert.equal(index.indexReplacing(namesOf("isl", ["mpfr"])), REFUSED); // mpfr is not indexed
   * index.index("isl", []);
   * assert.deepEqual(index.indexReplacing(namesOf("isl", ["gmp"])), []); // it had no dependencies
   * assert.equal(index.indexReplacing(namesOf("isl", ["gmp"])), UNCHANGED); // the same again
   * ```
   */
  indexReplacing(request: RequestNames): Replaced {
    return this.#indexReplacing(request, { keepPrevious: true });
  }

  /**
   * Removes the request's package. Returns `true` when it was removed or was not indexed, and
   * `false`, changing nothing, while any indexed package depends on it.
   */
  removeRequest(request: RequestNames): boolean {
    return this.#removeReplacing(request, { keepPrevious: false }) !== REFUSED;
  }

  /**
   * Does what {@linkcode PackageIndex.removeRequest} does, and says what the change replaced, for
   * an undo log: {@linkcode REFUSED} while something depends on the package, `undefined` when
   * it was not indexed (nothing changed), or else its dependencies before it was removed.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PackageIndex, REFUSED } from "./package_index.ts";
   * import { namesOf } from "../protocol/request_parser.ts";
   *
   * const index = PackageIndex.fromEntries([["gmp", []], ["isl", ["gmp"]]]);
   * assert.equal(index.removeReplacing(namesOf("gmp", [])), REFUSED); // isl depends on it
   * assert.deepEqual(index.removeReplacing(namesOf("isl", [])), ["gmp"]);
   * assert.equal(index.removeReplacing(namesOf("isl", [])), undefined); // not indexed any more
   * ```
   */
  removeReplacing(request: RequestNames): Exclude<Replaced, typeof UNCHANGED> {
    return this.#removeReplacing(request, { keepPrevious: true });
  }

  /** Whether `name` is indexed. */
  has(name: string): boolean {
    return this.slotOf(name) !== -1;
  }

  /** Indexes `name` with exactly `dependencies`; see {@linkcode PackageIndex.indexRequest}. */
  index(name: string, dependencies: readonly string[]): boolean {
    return this.indexRequest(namesOf(name, dependencies));
  }

  /** Removes `name`; see {@linkcode PackageIndex.removeRequest}. */
  remove(name: string): boolean {
    return this.removeRequest(namesOf(name, []));
  }

  /** The dependencies of `name` as last indexed, or `undefined` when it is not indexed. */
  dependenciesOf(name: string): string[] | undefined {
    const slot = this.slotOf(name);
    return slot === -1 ? undefined : this.#dependencyNames(slot);
  }

  /** How many indexed packages depend on `name` (0 when it is not indexed). */
  dependentCount(name: string): number {
    const slot = this.slotOf(name);
    return slot === -1 ? 0 : this.#dependentCounts[slot]!;
  }

  /** Every indexed package with its dependencies, dependencies before their dependents. */
  *entries(): IterableIterator<[name: string, dependencies: string[]]> {
    const { order } = runToEnd(postOrder(this, { from: 0, to: this.slotCount }));
    for (const slot of order) {
      yield [this.#table.nameOf(slot), this.#dependencyNames(slot)];
    }
  }

  /** Throws, naming one of its packages, if the graph has a cycle (a loaded one may). */
  #refuseCycles(): void {
    const { cycleMember } = runToEnd(postOrder(this, { from: 0, to: this.slotCount }));
    if (cycleMember !== undefined) {
      throw new Error(`Package '${this.#table.nameOf(cycleMember)}' is part of a dependency cycle`);
    }
  }

  #indexReplacing(request: RequestNames, options: { keepPrevious: boolean }): Replaced {
    const count = this.#checkIndex(request);
    if (count < 0) return REFUSED;
    let slot = this.#checkedSlot;
    let previous: string[] | undefined;
    if (slot !== -1 && this.#hasDependencies(slot, this.#dependencySlots, count)) {
      this.#version++; // counted as a change applied, as the version promises
      return UNCHANGED;
    }
    if (slot === -1) {
      const { bytes, nameStart, nameEnd } = request;
      slot = this.#table.insert(this.#checkedHash, bytes, nameStart, nameEnd);
      this.#growSlotArrays(slot);
    } else if (options.keepPrevious) {
      previous = this.#dependencyNames(slot);
    }
    this.#setDependencies(slot, this.#dependencySlots, count);
    this.#version++;
    return previous;
  }

  #removeReplacing(
    request: RequestNames,
    options: { keepPrevious: boolean },
  ): Exclude<Replaced, typeof UNCHANGED> {
    const { bytes, nameStart, nameEnd } = request;
    const table = this.#table;
    const hash = table.hash(bytes, nameStart, nameEnd);
    const slot = table.find(hash, bytes, nameStart, nameEnd);
    if (slot === -1) return undefined;
    if (this.#dependentCounts[slot] !== 0) return REFUSED;
    const previous = options.keepPrevious ? this.#dependencyNames(slot) : undefined;
    this.#setDependencies(slot, this.#dependencySlots, 0);
    table.remove(hash, slot);
    this.#version++;
    return previous;
  }

  /**
   * The one decision of INDEX: the number of distinct dependencies when the request may be
   * applied (their slots in #dependencySlots, the package's slot or -1 in #checkedSlot, its
   * name's hash in #checkedHash), else {@linkcode MISSING_DEPENDENCY} or
   * {@linkcode CLOSES_CYCLE}. Changes nothing but scratch space.
   */
  #checkIndex(request: RequestNames): number {
    const count = this.#resolveDependencies(request);
    if (count === -1) return MISSING_DEPENDENCY;
    const { bytes, nameStart, nameEnd } = request;
    const table = this.#table;
    const hash = table.hash(bytes, nameStart, nameEnd);
    const slot = table.find(hash, bytes, nameStart, nameEnd);
    this.#checkedHash = hash;
    this.#checkedSlot = slot;
    if (slot !== -1 && this.#wouldCloseCycle(slot, count)) return CLOSES_CYCLE;
    return count;
  }

  /**
   * Puts the slots of the request's dependencies, without repeats, in #dependencySlots and
   * returns how many there are, or -1 when one of them is not indexed.
   */
  #resolveDependencies(request: RequestNames): number {
    const { bytes, dependencyBounds, dependencyCount } = request;
    if (dependencyCount === 0) return 0;
    const table = this.#table;
    // Room for every dependency first: nothing may throw while slots are marked.
    if (dependencyCount > this.#dependencySlots.length) {
      const options = { length: dependencyCount, maxLength: MAX_NAMES };
      this.#dependencySlots = grownTo(this.#dependencySlots, options);
    }
    let count = 0;
    for (let i = 0; i < 2 * dependencyCount; i += 2) {
      const start = dependencyBounds[i]!;
      const end = dependencyBounds[i + 1]!;
      const slot = table.find(table.hash(bytes, start, end), bytes, start, end);
      if (slot === -1) {
        this.#unmarkDependencies(count);
        return -1;
      }
      count = this.#addDependency(count, slot);
    }
    this.#unmarkDependencies(count);
    return count;
  }

  /**
   * Puts `slot` in #dependencySlots after the first `count`, which are distinct and marked,
   * unless it is one of them, and marks it; returns how many there are then. Listed before
   * marked, as in {@linkcode PackageIndex.#visit}. The caller clears the marks with
   * {@linkcode PackageIndex.#unmarkDependencies}.
   */
  #addDependency(count: number, slot: number): number {
    if (this.#marks[slot] === 1) return count;
    this.#pushDependencySlot(count, slot);
    this.#marks[slot] = 1;
    return count + 1;
  }

  /** Clears the marks of the first `count` #dependencySlots. */
  #unmarkDependencies(count: number): void {
    const slots = this.#dependencySlots;
    for (let i = 0; i < count; i++) this.#marks[slots[i]!] = 0;
  }

  #pushDependencySlot(position: number, slot: number): void {
    if (position === this.#dependencySlots.length) {
      const options = { length: position + 1, maxLength: MAX_NAMES };
      this.#dependencySlots = grownTo(this.#dependencySlots, options);
    }
    this.#dependencySlots[position] = slot;
  }

  /** The slot of the package called `name`; with `create`, an absent one gets a slot. */
  #slotOfName(name: string, options: { create: boolean }): number {
    if (name.length * 3 > this.#nameBytes.length) {
      this.#nameBytes = new Uint8Array(name.length * 3);
    }
    const bytes = this.#nameBytes;
    const end = encoder.encodeInto(name, bytes).written;
    const table = this.#table;
    const hash = table.hash(bytes, 0, end);
    const slot = table.find(hash, bytes, 0, end);
    if (slot !== -1 || !options.create) return slot;
    const created = table.insert(hash, bytes, 0, end);
    this.#growSlotArrays(created);
    this.#setDependencies(created, this.#dependencySlots, 0);
    return created;
  }

  #dependencyNames(slot: number): string[] {
    const start = this.#firstEdge[slot]!;
    const names: string[] = [];
    for (let i = start; i < start + this.#degree[slot]!; i++) {
      names.push(this.#table.nameOf(this.#edges[i]!));
    }
    return names;
  }

  /** Whether making `slot` depend on the first `count` #dependencySlots would let it reach itself. */
  #wouldCloseCycle(slot: number, count: number): boolean {
    const dependencies = this.#dependencySlots;
    for (let i = 0; i < count; i++) if (dependencies[i] === slot) return true;
    // Only a package that something depends on can be reached from another package.
    if (this.#dependentCounts[slot] === 0) return false;
    // Edges the package already has cannot close a cycle (the graph is acyclic now): they are
    // marked, not walked. #walk lists every other slot marked; all are unmarked at the end.
    const start = this.#firstEdge[slot]!;
    const end = start + this.#degree[slot]!;
    for (let i = start; i < end; i++) this.#marks[this.#edges[i]!] = 1;
    let visited = 0;
    let closes = false;
    try {
      for (let i = 0; i < count; i++) visited = this.#visit(visited, dependencies[i]!);
      for (let next = 0; next < visited && !closes; next++) {
        const current = this.#walk[next]!;
        const first = this.#firstEdge[current]!;
        for (let i = first; i < first + this.#degree[current]!; i++) {
          const dependency = this.#edges[i]!;
          if (dependency === slot) {
            closes = true;
            break;
          }
          visited = this.#visit(visited, dependency);
        }
      }
    } finally {
      // Also when growing #walk failed: a mark left behind would hide that slot from every
      // later check.
      for (let i = 0; i < visited; i++) this.#marks[this.#walk[i]!] = 0;
      for (let i = start; i < end; i++) this.#marks[this.#edges[i]!] = 0;
    }
    return closes;
  }

  /**
   * Puts `slot` in #walk after the first `visited` and marks it, unless it is marked already;
   * returns how many are listed then. Listed before marked, so a failed growth marks nothing.
   */
  #visit(visited: number, slot: number): number {
    if (this.#marks[slot] === 1) return visited;
    this.#pushWalk(visited, slot);
    this.#marks[slot] = 1;
    return visited + 1;
  }

  #pushWalk(position: number, slot: number): void {
    if (position === this.#walk.length) {
      this.#walk = grownTo(this.#walk, { length: position + 1, maxLength: MAX_NAMES });
    }
    this.#walk[position] = slot;
  }

  /**
   * The one place that changes edges, so dependent counts, lists and the edge count always agree:
   * `slot` now depends on the first `count` slots of `dependencies`. A list that does not grow is
   * rewritten in place; a longer one moves to the end of #edges.
   */
  /** Whether the package in `slot` depends on exactly `dependencies[0, count)`, in that order. */
  #hasDependencies(slot: number, dependencies: Int32Array, count: number): boolean {
    if (this.#degree[slot] !== count) return false;
    const start = this.#firstEdge[slot]!;
    for (let i = 0; i < count; i++) if (this.#edges[start + i] !== dependencies[i]) return false;
    return true;
  }

  #setDependencies(slot: number, dependencies: Int32Array, count: number): void {
    this.#compactionStep(count);
    const edges = this.#edges;
    const counts = this.#dependentCounts;
    const oldStart = this.#firstEdge[slot]!;
    const oldDegree = this.#degree[slot]!;
    for (let i = oldStart; i < oldStart + oldDegree; i++) counts[edges[i]!]! -= 1;
    for (let i = 0; i < count; i++) counts[dependencies[i]!]! += 1;
    this.#edgeCount += count - oldDegree;
    let start = oldStart;
    if (count > oldDegree || count === 0) {
      if (oldDegree > 0) this.#markUnused(oldStart - 1, 1 + oldDegree);
      start = count === 0 ? 0 : this.#appendList(slot, count);
    } else if (count < oldDegree) {
      this.#markUnused(oldStart + count, oldDegree - count);
    }
    for (let i = 0; i < count; i++) this.#edges[start + i] = dependencies[i]!;
    this.#firstEdge[slot] = start;
    this.#degree[slot] = count;
  }

  /** Records that the `length` positions of #edges from `at` hold no list any more. */
  #markUnused(at: number, length: number): void {
    this.#edges[at] = -length;
    this.#edgesGarbage += length;
  }

  /** Makes room for a list of `count` edges of `slot` at the end of #edges; returns its start. */
  #appendList(slot: number, count: number): number {
    if (this.#edgesEnd + 1 + count > this.#edges.length) {
      const needed = this.#edgesEnd + 1 + count;
      this.#edges = grownTo(this.#edges, { length: needed, maxLength: MAX_EDGE_WORDS });
    }
    this.#edges[this.#edgesEnd] = slot;
    const start = this.#edgesEnd + 1;
    this.#edgesEnd = start + count;
    return start;
  }

  /**
   * The share of compaction each change of a list does, when it writes `count` edges: it starts
   * a compaction when half of #edges is unused, and slides lists down over the unused space for
   * twice what it writes and a little more, so that a compaction ends long before the array could
   * double.
   */
  #compactionStep(count: number): void {
    if (this.#compactFrom === -1) {
      if (this.#edgesGarbage * 2 <= this.#edgesEnd || this.#edgesEnd < INITIAL_EDGES) return;
      this.#compactFrom = this.#compactTo = 0;
    }
    const edges = this.#edges;
    let from = this.#compactFrom;
    let to = this.#compactTo;
    const stop = Math.min(this.#edgesEnd, from + COMPACTED_WORDS_PER_STEP + 2 * count);
    while (from < stop) {
      const header = edges[from]!;
      if (header < 0) {
        from -= header;
        continue;
      }
      const length = 1 + this.#degree[header]!;
      if (to !== from) {
        edges.copyWithin(to, from, from + length);
        this.#firstEdge[header] = to + 1;
      }
      from += length;
      to += length;
    }
    if (from < this.#edgesEnd) {
      this.#compactFrom = from;
      this.#compactTo = to;
      return;
    }
    this.#edgesGarbage -= from - to;
    this.#edgesEnd = to;
    this.#compactFrom = this.#compactTo = -1;
    this.#edges = shrinkTo(edges, Math.max(INITIAL_EDGES, to + (to >>> 2)));
  }

  /** Makes the slot arrays long enough for `slot`. */
  #growSlotArrays(slot: number): void {
    // #marks holds bytes, so it stays plain (and doubles) longer than the 32-bit arrays, which
    // grow by a quarter past 1 MiB: both lengths are checked.
    if (slot < this.#firstEdge.length && slot < this.#marks.length) return;
    const options = { length: slot + 1, maxLength: MAX_NAMES };
    this.#firstEdge = grownTo(this.#firstEdge, options);
    this.#degree = grownTo(this.#degree, options);
    this.#dependentCounts = grownTo(this.#dependentCounts, options);
    this.#marks = grownTo(this.#marks, options);
  }
}

const INITIAL_SLOTS = 1024;
const INITIAL_EDGES = 4096;
/** The largest edge array: 2^30 words, 4 GiB of address space (a WebAssembly memory's most). */
const MAX_EDGE_WORDS = 2 ** 30;
/** The edge words each change of a list slides while #edges is being compacted, at least. */
const COMPACTED_WORDS_PER_STEP = 64;

/**
 * Loads stored slots into a new {@linkcode PackageIndex}; made by
 * {@linkcode PackageIndex.loadSlots}. Names are given as byte ranges, dependencies as slots.
 */
export interface IndexLoader {
  /**
   * The index being loaded, for reading what is loaded so far (`isIndexed`, `nameOf`); it must
   * not be changed or served before `finish` returns it.
   */
  readonly index: PackageIndex;
  /**
   * Stores the name `bytes[start, end)` in `slot`, which must be higher than every slot given
   * before. Throws when the name is already stored, or the slot is out of order or range.
   */
  addName(slot: number, bytes: Uint8Array, start: number, end: number): void;
  /**
   * Sets the dependencies of the package in `slot` to the first `count` slots of
   * `dependencySlots` (repeats count once), once every name is added. Throws a `RangeError`
   * when a slot holds no package.
   */
  setDependencies(slot: number, dependencySlots: Int32Array, count: number): void;
  /** Checks that there is no dependency cycle and returns the index. Throws otherwise. */
  finish(): PackageIndex;
}
