/**
 * The protocol's INDEX and REMOVE rules on names, with a dependents count per package: fast
 * enough to check an index of hundreds of thousands of packages against, change by change.
 *
 * @module
 */

/**
 * Whether `to` can be reached from `from` along the dependencies of `graph`, in which every
 * dependency is itself a package (the models keep that true).
 */
export function reaches(
  graph: ReadonlyMap<string, ReadonlySet<string>>,
  from: string,
  to: string,
): boolean {
  const seen = new Set<string>();
  const pending = [from];
  while (pending.length > 0) {
    const current = pending.pop()!;
    if (current === to) return true;
    if (seen.has(current)) continue;
    seen.add(current);
    pending.push(...graph.get(current)!);
  }
  return false;
}

/**
 * The rules with a dependents count per package: a REMOVE reads one count instead of scanning
 * every package, and an INDEX searches for a cycle only when the package has dependents.
 */
export class CountingModel {
  /** Each indexed package's dependencies. */
  readonly dependencies = new Map<string, Set<string>>();
  /** How many indexed packages depend on each name (absent or 0: none). */
  readonly dependents = new Map<string, number>();

  /** Indexes `name` when the rules allow it, and says whether they did. */
  index(name: string, dependencies: readonly string[]): boolean {
    const wanted = new Set(dependencies);
    for (const dependency of wanted) if (!this.dependencies.has(dependency)) return false;
    if ((this.dependents.get(name) ?? 0) > 0 || wanted.has(name)) {
      for (const dependency of wanted) {
        if (reaches(this.dependencies, dependency, name)) return false;
      }
    }
    for (const old of this.dependencies.get(name) ?? []) this.#count(old, -1);
    for (const dependency of wanted) this.#count(dependency, 1);
    this.dependencies.set(name, wanted);
    return true;
  }

  /** Removes `name` when nothing depends on it, and says whether it could. */
  remove(name: string): boolean {
    if ((this.dependents.get(name) ?? 0) > 0) return false;
    for (const old of this.dependencies.get(name) ?? []) this.#count(old, -1);
    this.dependencies.delete(name);
    return true;
  }

  #count(name: string, change: number): void {
    this.dependents.set(name, (this.dependents.get(name) ?? 0) + change);
  }
}
