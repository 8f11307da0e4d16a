/**
 * Where the load tools get their packages: a file in the `name: dep dep` format or a seeded
 * synthetic graph.
 *
 * @module
 */

import { readPackageList } from "./package_list.ts";
import { generatePackages, type PackageSpec } from "./synthetic_packages.ts";

/** The packages a load tool runs with. */
export type PackageSource =
  | { kind: "file"; path: string }
  | { kind: "synthetic"; count: number; seed: number };

/**
 * Loads the packages of `source`; throws a sentence naming the file when it cannot be read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadPackages } from "./package_source.ts";
 *
 * const packages = await loadPackages({ kind: "synthetic", count: 10, seed: 1 });
 * assert.equal(packages.length, 10);
 * ```
 */
export async function loadPackages(source: PackageSource): Promise<PackageSpec[]> {
  return source.kind === "file"
    ? await readPackageList(source.path)
    : generatePackages({ count: source.count, seed: source.seed });
}

/**
 * Describes `source` for a report.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describePackageSource } from "./package_source.ts";
 *
 * assert.equal(describePackageSource({ kind: "synthetic", count: 1000, seed: 1 }), "synthetic 1000 (seed 1)");
 * ```
 */
export function describePackageSource(source: PackageSource): string {
  return source.kind === "file" ? source.path : `synthetic ${source.count} (seed ${source.seed})`;
}
