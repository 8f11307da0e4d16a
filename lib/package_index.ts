/**
 * The dependency index: which packages are indexed and what each depends on.
 *
 * The index is pure, synchronous and does no I/O, so every operation is atomic on Deno's single
 * thread: nothing can interleave between the check ("are all dependencies indexed?") and the
 * change. Callers must keep it that way and never `await` between reading and mutating.
 *
 * Memory layout: each package name is interned to a small integer slot when it is first indexed;
 * the graph is kept in arrays indexed by slot. Per package that is one `Map` entry (name → slot),
 * one exactly sized array of dependency slots (one shared empty one for packages without
 * dependencies), one dependents count and one mark word: about 150 bytes for a package with four
 * dependencies, so 1,000,000 such packages fit in 200 MB. Slots of removed
 * packages are recycled, so memory follows the number of packages indexed now, not ever.
 *
 * @module
 */

/** The dependency list of every package that has none, shared to save an array per package. */
const NO_DEPENDENCIES: readonly number[] = [];

/**
 * An in-memory dependency graph that only ever holds a consistent state: every dependency of an
 * indexed package is itself indexed, and there is no dependency cycle.
 *
 * @example
 * ```ts
 * import { PackageIndex } from "./package_index.ts";
 *
 * const index = new PackageIndex();
 * index.index("gmp", []); // true
 * index.index("cloog", ["gmp", "isl"]); // false: isl is not indexed
 * index.index("isl", ["gmp"]); // true
 * index.index("cloog", ["gmp", "isl"]); // true
 * index.remove("gmp"); // false: isl and cloog depend on it
 * index.has("cloog"); // true
 * ```
 */
export class PackageIndex {
  /** Name → slot, for indexed packages only. */
  #slots = new Map<string, number>();
  /** Slot → the package's name. */
  #names: string[] = [];
  /** Slot → dependency slots, without duplicates. */
  #dependencies: (readonly number[])[] = [];
  /** Slot → how many indexed packages depend on it. Derived from #dependencies; kept for speed. */
  #dependentCounts = new Int32Array(1024);
  /** Slot → last generation that visited it; lets one walk mark slots without allocating a set. */
  #marks = new Uint32Array(1024);
  #generation = 0;
  /** Slots of removed packages, ready to be reused. */
  #freeSlots: number[] = [];
  #edgeCount = 0;
  /** Reused by index() to collect dependency slots before copying them to their exact size. */
  #scratch: number[] = [];

  /** The number of packages indexed. */
  get size(): number {
    return this.#slots.size;
  }

  /** The number of dependency edges between indexed packages (duplicates counted once). */
  get edgeCount(): number {
    return this.#edgeCount;
  }

  /** Whether `name` is indexed. */
  has(name: string): boolean {
    return this.#slots.has(name);
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
    const slot = this.#slots.get(name);
    if (dependencies.length === 0) return this.#apply(name, slot, NO_DEPENDENCIES);
    const generation = this.#nextGeneration();
    const scratch = this.#scratch;
    scratch.length = 0;
    for (const dependency of dependencies) {
      const dependencySlot = this.#slots.get(dependency);
      if (dependencySlot === undefined) return false;
      if (this.#marks[dependencySlot] === generation) continue;
      this.#marks[dependencySlot] = generation;
      scratch.push(dependencySlot);
    }
    // A copy of exactly this length: an array grown by push() keeps room for ~16 more slots.
    const resolved = scratch.slice();
    return this.#apply(name, slot, resolved);
  }

  /** Indexes `name` (at `slot`, when it is indexed already) with resolved `dependencies`. */
  #apply(name: string, slot: number | undefined, dependencies: readonly number[]): boolean {
    if (slot === undefined) {
      this.#insert(name, dependencies);
      return true;
    }
    if (this.#wouldCloseCycle(slot, dependencies)) return false;
    this.#setDependencies(slot, dependencies);
    return true;
  }

  /**
   * Removes `name`. Returns `true` when it was removed or was not indexed, and `false`, changing
   * nothing, while any indexed package depends on it.
   */
  remove(name: string): boolean {
    const slot = this.#slots.get(name);
    if (slot === undefined) return true;
    if (this.#dependentCounts[slot] !== 0) return false;
    this.#setDependencies(slot, []);
    this.#slots.delete(name);
    this.#names[slot] = "";
    this.#freeSlots.push(slot);
    return true;
  }

  /** The dependencies of `name` as last indexed, or `undefined` when it is not indexed. */
  dependenciesOf(name: string): string[] | undefined {
    const slot = this.#slots.get(name);
    if (slot === undefined) return undefined;
    return this.#dependencies[slot]!.map((dependency) => this.#names[dependency]!);
  }

  /** How many indexed packages depend on `name` (0 when it is not indexed). */
  dependentCount(name: string): number {
    const slot = this.#slots.get(name);
    return slot === undefined ? 0 : this.#dependentCounts[slot]!;
  }

  /** Every indexed package with its dependencies, dependencies before their dependents. */
  *entries(): IterableIterator<[name: string, dependencies: string[]]> {
    const generation = this.#nextGeneration();
    const order: number[] = [];
    // Depth-first post-order with an explicit stack: a long dependency chain must not overflow.
    const stack: number[] = [];
    const positions: number[] = [];
    for (const root of this.#slots.values()) {
      if (this.#marks[root] === generation) continue;
      this.#marks[root] = generation;
      stack.push(root);
      positions.push(0);
      while (stack.length > 0) {
        const top = stack.length - 1;
        const dependencies = this.#dependencies[stack[top]!]!;
        const position = positions[top]!;
        if (position < dependencies.length) {
          positions[top] = position + 1;
          const dependency = dependencies[position]!;
          if (this.#marks[dependency] === generation) continue;
          this.#marks[dependency] = generation;
          stack.push(dependency);
          positions.push(0);
        } else {
          order.push(stack.pop()!);
          positions.pop();
        }
      }
    }
    for (const slot of order) {
      yield [this.#names[slot]!, this.#dependencies[slot]!.map((d) => this.#names[d]!)];
    }
  }

  /** Whether making `slot` depend on `dependencies` would let `slot` reach itself. */
  #wouldCloseCycle(slot: number, dependencies: readonly number[]): boolean {
    if (dependencies.includes(slot)) return true;
    // Only a package that something depends on can be reached from another package.
    if (this.#dependentCounts[slot] === 0) return false;
    const generation = this.#nextGeneration();
    // Edges the package already has cannot close a cycle: the graph is acyclic now.
    for (const old of this.#dependencies[slot]!) this.#marks[old] = generation;
    const pending = dependencies.filter((dependency) => this.#marks[dependency] !== generation);
    for (const dependency of pending) this.#marks[dependency] = generation;
    while (pending.length > 0) {
      const current = pending.pop()!;
      for (const next of this.#dependencies[current]!) {
        if (next === slot) return true;
        if (this.#marks[next] === generation) continue;
        this.#marks[next] = generation;
        pending.push(next);
      }
    }
    return false;
  }

  #insert(name: string, dependencies: readonly number[]): void {
    // A name sliced out of a longer string (V8 does that from 13 characters) would keep the whole
    // request batch it was read from alive; a concatenation flattened by slice() keeps only itself.
    if (name.length >= 13) name = (name + " ").slice(0, -1);
    const slot = this.#freeSlots.pop() ?? this.#names.length;
    if (slot === this.#names.length) {
      this.#names.push(name);
      this.#dependencies.push([]);
      if (slot >= this.#marks.length) this.#growSlotArrays();
    } else {
      this.#names[slot] = name;
    }
    this.#slots.set(name, slot);
    this.#setDependencies(slot, dependencies);
  }

  /** The one place that changes edges, so dependent counts and the edge count always agree. */
  #setDependencies(slot: number, dependencies: readonly number[]): void {
    const counts = this.#dependentCounts;
    const old = this.#dependencies[slot]!;
    for (const dependency of old) counts[dependency]! -= 1;
    for (const dependency of dependencies) counts[dependency]! += 1;
    this.#edgeCount += dependencies.length - old.length;
    this.#dependencies[slot] = dependencies;
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
    const marks = new Uint32Array(capacity);
    marks.set(this.#marks);
    this.#marks = marks;
    const counts = new Int32Array(capacity);
    counts.set(this.#dependentCounts);
    this.#dependentCounts = counts;
  }
}
