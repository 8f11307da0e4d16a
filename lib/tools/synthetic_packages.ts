/**
 * Seeded synthetic dependency graphs shaped like real package ecosystems.
 *
 * @module
 */

import { createRandom, randomInt } from "./random.ts";

/** A package and the packages it depends on. */
export interface PackageSpec {
  /** The package name. */
  name: string;
  /** Its direct dependencies, each named earlier in the list they come from. */
  dependencies: string[];
}

/** Options for {@linkcode generatePackages}. */
export interface GeneratePackagesOptions {
  /** How many packages to make. */
  count: number;
  /** The seed: the same seed and options always give the same graph. */
  seed: number;
  /** The mean number of dependencies per package. Default: 3. */
  averageDependencies?: number;
}

/** Name prefixes that exercise the whole name alphabet, as real ecosystems do. */
const PREFIXES = ["lib", "py@3.", "gtk+", "@scope/", "org.example:", "x_", "tool~", "pkg-"];

/**
 * Makes a dependency DAG of `count` packages, listed so that every package comes after all of
 * its dependencies. Fan-in follows preferential attachment: a package that already has many
 * dependents is proportionally more likely to get another, so a few packages end up with a large
 * share of all dependents (like `pkg-config` in Homebrew) and most have none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generatePackages } from "./synthetic_packages.ts";
 *
 * const packages = generatePackages({ count: 1000, seed: 7 });
 * assert.equal(packages.length, 1000);
 * assert.deepEqual(packages[0]!.dependencies, []); // the first package can depend on nothing
 * ```
 */
export function generatePackages(options: GeneratePackagesOptions): PackageSpec[] {
  const random = createRandom(options.seed);
  const average = options.averageDependencies ?? 3;
  const packages: PackageSpec[] = [];
  // Each package index appears once, plus once more per dependent: sampling uniformly from this
  // list is sampling in proportion to (dependents + 1).
  const attachment: number[] = [];
  for (let i = 0; i < options.count; i++) {
    const name = `${PREFIXES[i % PREFIXES.length]}${i}`;
    const wanted = Math.min(i, geometric(random, average));
    const chosen = new Set<number>();
    for (let attempt = 0; chosen.size < wanted && attempt < wanted * 4; attempt++) {
      chosen.add(attachment[randomInt(random, attachment.length)]!);
    }
    for (const dependency of chosen) attachment.push(dependency);
    attachment.push(i);
    packages.push({ name, dependencies: [...chosen].map((d) => packages[d]!.name) });
  }
  return packages;
}

/** A geometric draw with the given mean: many small values, a long tail of large ones. */
function geometric(random: () => number, mean: number): number {
  const p = 1 / (mean + 1);
  return Math.floor(Math.log(1 - random()) / Math.log(1 - p));
}
