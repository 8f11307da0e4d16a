/**
 * The dependency index: which packages are indexed and what each depends on.
 *
 * The index is pure, synchronous and does no I/O, so every operation is atomic on Deno's single
 * thread: nothing can interleave between the check ("are all dependencies indexed?") and the
 * change. Callers must keep it that way and never `await` between reading and mutating.
 *
 * Memory layout: each package name is interned to a small integer slot when it is first indexed
 * ({@linkcode NameTable}), and the graph is kept in typed arrays indexed by slot. Every dependency
 * list lives in one shared `Int32Array` (4 bytes per edge) instead of a JavaScript array per
 * package (about 80 bytes for four dependencies). Per package that is its name (about 32 bytes),
 * its place in the name table (8 to 16 bytes), and four 32-bit words: where its list starts, its
 * length, its dependents count and a visit mark. A million packages with four dependencies each
 * take about 80 MB. Slots of removed packages are recycled, and the space of replaced lists is
 * reclaimed by compacting the edge array when it fills up, so memory follows what is indexed
 * now, not what ever was.
 *
 * @module
 */

import { NameTable } from "./name_table.ts";

/**
 * A copy of `name` that shares memory with nothing else. A name cut out of a request is, to V8,
 * a slice of the whole batch of requests it was read with, and keeping the slice would keep the
 * batch alive; the index keeps names for as long as the package stays. V8 copies substrings
 * shorter than 13 characters anyway; a longer one is copied by a JSON round trip, which makes a
 * plain string of exactly the name (concatenating and slicing would keep a slice again).
 */
function ownCopy(name: string): string {
  return name.length < 13 ? name : JSON.parse(JSON.stringify(name));
}

/**
 * An in-memory dependency graph that only ever holds a consistent state: every dependency of an
 * indexed package is itself indexed, and there is no dependency cycle.
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
export class PackageIndex {
  /** Name ↔ slot, for indexed packages only. */
  #table = new NameTable();
  /**
   * Every dependency list, back to back: slot `s` depends on the slots in
   * `#edges[#firstEdge[s] .. #firstEdge[s] + #degree[s])`, without duplicates.
   */
  #edges = new Int32Array(4096);
  /** The end of the used part of #edges. */
  #edgesEnd = 0;
  /** Positions before #edgesEnd that no list uses any more (left by replaced or removed lists). */
  #edgesGarbage = 0;
  #firstEdge = new Int32Array(1024);
  #degree = new Int32Array(1024);
  /** Slot → how many indexed packages depend on it. Derived from the edges; kept for speed. */
  #dependentCounts = new Int32Array(1024);
  /** Slot → last generation that visited it; lets one walk mark slots without allocating a set. */
  #marks = new Uint32Array(1024);
  #generation = 0;
  /** Scratch list for the dependency slots of the request being handled; reused to save garbage. */
  #dependencySlots: number[] = [];

  /**
   * Builds an index from stored entries in any order, as loading from disk needs, checking that
   * every dependency is listed and that there is no cycle. Throws an error naming the offending
   * package otherwise. Costs O(packages + dependencies), in one pass over `entries`. The index
   * keeps the very name strings it is given, so hand it strings that pin nothing large.
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
      const slot = index.#slotFor(name);
      if (listed[slot]) throw new Error(`Package '${name}' is listed twice`);
      listed[slot] = true;
      index.#setDependencies(
        slot,
        index.#resolve(dependencies, { createMissing: true }) as number[],
      );
    }
    for (let slot = 0; slot < index.#table.slotCount; slot++) {
      if (!listed[slot]) {
        const missing = index.#table.nameOf(slot);
        const [dependent] = [...index.entries()].find(([, deps]) => deps.includes(missing))!;
        throw new Error(`Package '${dependent}' depends on '${missing}', which is not listed`);
      }
    }
    const { cycleMember } = index.#postOrder();
    if (cycleMember !== undefined) {
      throw new Error(
        `Package '${index.#table.nameOf(cycleMember)}' is part of a dependency cycle`,
      );
    }
    return index;
  }

  /** The number of packages indexed. */
  get size(): number {
    return this.#table.size;
  }

  /** The number of dependency edges between indexed packages (duplicates counted once). */
  get edgeCount(): number {
    return this.#edgesEnd - this.#edgesGarbage;
  }

  /** Whether `name` is indexed. */
  has(name: string): boolean {
    return this.#table.slotOf(name) !== -1;
  }

  /**
   * Indexes `name` with exactly `dependencies` (duplicates count once), replacing any dependency
   * list it had. Returns `false` and changes nothing when a dependency is not indexed or when the
   * new list would close a dependency cycle (a package depending on itself included): a package
   * on a cycle could never be removed.
   *
   * Costs O(number of dependencies named), except that re-indexing a package that others depend
   * on with a dependency it did not have before walks the graph below that dependency.
   */
  index(name: string, dependencies: readonly string[]): boolean {
    const resolved = this.#resolve(dependencies, { createMissing: false });
    if (typeof resolved === "string") return false;
    const slot = this.#table.slotOf(name);
    if (slot === -1) {
      this.#insert(ownCopy(name), resolved);
      return true;
    }
    if (this.#wouldCloseCycle(slot, resolved)) return false;
    this.#setDependencies(slot, resolved);
    return true;
  }

  /**
   * Removes `name`. Returns `true` when it was removed or was not indexed, and `false`, changing
   * nothing, while any indexed package depends on it.
   */
  remove(name: string): boolean {
    const slot = this.#table.slotOf(name);
    if (slot === -1) return true;
    if (this.#dependentCounts[slot] !== 0) return false;
    this.#setDependencies(slot, []);
    this.#table.delete(name);
    return true;
  }

  /** The dependencies of `name` as last indexed, or `undefined` when it is not indexed. */
  dependenciesOf(name: string): string[] | undefined {
    const slot = this.#table.slotOf(name);
    return slot === -1 ? undefined : this.#dependencyNames(slot);
  }

  /** How many indexed packages depend on `name` (0 when it is not indexed). */
  dependentCount(name: string): number {
    const slot = this.#table.slotOf(name);
    return slot === -1 ? 0 : this.#dependentCounts[slot]!;
  }

  /** Every indexed package with its dependencies, dependencies before their dependents. */
  *entries(): IterableIterator<[name: string, dependencies: string[]]> {
    for (const slot of this.#postOrder().order) {
      yield [this.#table.nameOf(slot), this.#dependencyNames(slot)];
    }
  }

  /**
   * The slots of `dependencies` without repeats, in #dependencySlots, or the first name that is not
   * indexed. With `createMissing` (for loading) such a name gets a slot instead.
   */
  #resolve(
    dependencies: readonly string[],
    options: { createMissing: boolean },
  ): number[] | string {
    const generation = this.#nextGeneration();
    const resolved = this.#dependencySlots;
    resolved.length = 0;
    for (const dependency of dependencies) {
      const slot = options.createMissing
        ? this.#slotFor(dependency)
        : this.#table.slotOf(dependency);
      if (slot === -1) return dependency;
      if (this.#marks[slot] === generation) continue;
      this.#marks[slot] = generation;
      resolved.push(slot);
    }
    return resolved;
  }

  #dependencyNames(slot: number): string[] {
    const start = this.#firstEdge[slot]!;
    const names: string[] = [];
    for (let i = start; i < start + this.#degree[slot]!; i++) {
      names.push(this.#table.nameOf(this.#edges[i]!));
    }
    return names;
  }

  /** Whether making `slot` depend on `dependencies` would let `slot` reach itself. */
  #wouldCloseCycle(slot: number, dependencies: readonly number[]): boolean {
    if (dependencies.includes(slot)) return true;
    // Only a package that something depends on can be reached from another package.
    if (this.#dependentCounts[slot] === 0) return false;
    const generation = this.#nextGeneration();
    // Edges the package already has cannot close a cycle: the graph is acyclic now.
    const start = this.#firstEdge[slot]!;
    for (let i = start; i < start + this.#degree[slot]!; i++) {
      this.#marks[this.#edges[i]!] = generation;
    }
    const pending = dependencies.filter((dependency) => this.#marks[dependency] !== generation);
    for (const dependency of pending) this.#marks[dependency] = generation;
    while (pending.length > 0) {
      const current = pending.pop()!;
      const first = this.#firstEdge[current]!;
      for (let i = first; i < first + this.#degree[current]!; i++) {
        const next = this.#edges[i]!;
        if (next === slot) return true;
        if (this.#marks[next] === generation) continue;
        this.#marks[next] = generation;
        pending.push(next);
      }
    }
    return false;
  }

  /**
   * Every slot in depth-first post-order, so each comes after its dependencies, and a slot on a
   * dependency cycle if there is one (the order then puts some dependency after its dependent).
   * Uses an explicit stack: a long dependency chain must not overflow the call stack.
   */
  #postOrder(): { order: number[]; cycleMember: number | undefined } {
    const IN_PROGRESS = 1;
    const DONE = 2;
    const states = new Uint8Array(this.#table.slotCount);
    const order: number[] = [];
    let cycleMember: number | undefined;
    const stack: number[] = [];
    const positions: number[] = [];
    for (const root of this.#table.slots()) {
      if (states[root] !== 0) continue;
      states[root] = IN_PROGRESS;
      stack.push(root);
      positions.push(0);
      while (stack.length > 0) {
        const top = stack.length - 1;
        const slot = stack[top]!;
        const position = positions[top]!;
        if (position === this.#degree[slot]) {
          states[slot] = DONE;
          order.push(slot);
          stack.pop();
          positions.pop();
          continue;
        }
        positions[top] = position + 1;
        const dependency = this.#edges[this.#firstEdge[slot]! + position]!;
        if (states[dependency] === IN_PROGRESS) cycleMember ??= dependency;
        if (states[dependency] !== 0) continue;
        states[dependency] = IN_PROGRESS;
        stack.push(dependency);
        positions.push(0);
      }
    }
    return { order, cycleMember };
  }

  /** The slot of `name`, giving it one (with no dependencies) if it has none. */
  #slotFor(name: string): number {
    const slot = this.#table.slotOf(name);
    return slot === -1 ? this.#insert(name, []) : slot;
  }

  #insert(name: string, dependencies: readonly number[]): number {
    const slot = this.#table.add(name);
    if (slot >= this.#marks.length) this.#growSlotArrays();
    this.#setDependencies(slot, dependencies);
    return slot;
  }

  /**
   * The one place that changes edges, so dependent counts, lists and the edge count always agree.
   * A list that does not grow is rewritten in place; a longer one moves to the end of #edges.
   */
  #setDependencies(slot: number, dependencies: readonly number[]): void {
    const counts = this.#dependentCounts;
    const oldStart = this.#firstEdge[slot]!;
    const oldDegree = this.#degree[slot]!;
    for (let i = oldStart; i < oldStart + oldDegree; i++) counts[this.#edges[i]!]! -= 1;
    for (const dependency of dependencies) counts[dependency]! += 1;
    let start = oldStart;
    if (dependencies.length > oldDegree) {
      this.#degree[slot] = 0; // the old list is garbage now, and compaction must not keep it
      this.#edgesGarbage += oldDegree;
      start = this.#reserveEdges(dependencies.length);
    } else {
      this.#edgesGarbage += oldDegree - dependencies.length;
    }
    this.#edges.set(dependencies, start);
    this.#firstEdge[slot] = start;
    this.#degree[slot] = dependencies.length;
  }

  /** Makes room for `count` edges at the end of #edges and returns where they start. */
  #reserveEdges(count: number): number {
    if (this.#edgesEnd + count > this.#edges.length) {
      if (this.#edgesGarbage >= this.#edgesEnd / 2) this.#compactEdges();
      if (this.#edgesEnd + count > this.#edges.length) {
        const edges = new Int32Array(Math.max(this.#edges.length * 2, this.#edgesEnd + count));
        edges.set(this.#edges.subarray(0, this.#edgesEnd));
        this.#edges = edges;
      }
    }
    const start = this.#edgesEnd;
    this.#edgesEnd += count;
    return start;
  }

  /** Moves every live list to the front of #edges, dropping the garbage between them. */
  #compactEdges(): void {
    const edges = new Int32Array(this.#edges.length);
    let end = 0;
    for (let slot = 0; slot < this.#table.slotCount; slot++) {
      const degree = this.#degree[slot]!;
      if (degree === 0) continue;
      const start = this.#firstEdge[slot]!;
      edges.set(this.#edges.subarray(start, start + degree), end);
      this.#firstEdge[slot] = end;
      end += degree;
    }
    this.#edges = edges;
    this.#edgesEnd = end;
    this.#edgesGarbage = 0;
  }

  #nextGeneration(): number {
    if (this.#generation === 0xffffffff) {
      this.#marks.fill(0);
      this.#generation = 0;
    }
    return ++this.#generation;
  }

  #growSlotArrays(): void {
    const capacity = this.#marks.length * 2;
    const grow = <T extends Int32Array | Uint32Array>(array: T, empty: T): T => {
      empty.set(array);
      return empty;
    };
    this.#firstEdge = grow(this.#firstEdge, new Int32Array(capacity));
    this.#degree = grow(this.#degree, new Int32Array(capacity));
    this.#dependentCounts = grow(this.#dependentCounts, new Int32Array(capacity));
    this.#marks = grow(this.#marks, new Uint32Array(capacity));
  }
}
