/**
 * `deno bench bench/index_bench.ts`: operations per second of the package index on a synthetic
 * ecosystem of 10,000 packages.
 *
 * @module
 */

import { PackageIndex } from "../lib/index/package_index.ts";
import { generatePackages } from "../lib/tools/synthetic_packages.ts";

const PACKAGES = generatePackages({ count: 10_000, seed: 1, averageDependencies: 4 });
const NAMES = PACKAGES.map((spec) => spec.name);
const dependedOn = new Set(PACKAGES.flatMap((spec) => spec.dependencies));
const LEAVES = PACKAGES.filter((spec) => !dependedOn.has(spec.name));

function fullIndex(): PackageIndex {
  const index = new PackageIndex();
  for (const spec of PACKAGES) index.index(spec.name, spec.dependencies);
  return index;
}

const full = fullIndex();
let cursor = 0;

Deno.bench("INDEX 10,000 new packages (fresh index)", { group: "index", baseline: true }, () => {
  fullIndex();
});

Deno.bench("re-INDEX a package with the same dependencies", { group: "ops" }, () => {
  const spec = PACKAGES[cursor++ % PACKAGES.length]!;
  full.index(spec.name, spec.dependencies);
});

Deno.bench("QUERY an indexed package", { group: "ops", baseline: true }, () => {
  full.has(NAMES[cursor++ % NAMES.length]!);
});

Deno.bench("QUERY a package that is not indexed", { group: "ops" }, () => {
  full.has("not-indexed");
});

Deno.bench("REMOVE a leaf and INDEX it again", { group: "ops" }, () => {
  const spec = LEAVES[cursor++ % LEAVES.length]!;
  full.remove(spec.name);
  full.index(spec.name, spec.dependencies);
});

Deno.bench("REMOVE refused: the package has dependents", { group: "ops" }, () => {
  full.remove(PACKAGES[0]!.name);
});
