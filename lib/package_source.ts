/**
 * Where the load tools get their packages: a file in the `name: dep dep` format or a seeded
 * synthetic graph, chosen on the command line with `--packages FILE` or `--synthetic N`.
 *
 * @module
 */

import { parseInteger, UsageError } from "./cli.ts";
import { readPackageList } from "./package_list.ts";
import { generatePackages, type PackageSpec } from "./synthetic_packages.ts";

/** The packages a load tool runs with. */
export type PackageSource =
  | { kind: "file"; path: string }
  | { kind: "synthetic"; count: number; seed: number };

/** The `parseArgs` options of {@linkcode parsePackageSource}, to spread into a tool's own. */
export const PACKAGE_SOURCE_OPTIONS = {
  packages: { type: "string" },
  synthetic: { type: "string" },
} as const;

/**
 * Reads `--packages FILE` or `--synthetic N` from parsed flags (at most one may be given);
 * `fallback` when neither is. Throws {@linkcode UsageError} for both or for a bad count.
 */
export function parsePackageSource(
  values: { packages?: string | undefined; synthetic?: string | undefined; seed: number },
  fallback: PackageSource,
): PackageSource {
  if (values.packages !== undefined && values.synthetic !== undefined) {
    throw new UsageError(
      `Cannot use --packages '${values.packages}' and --synthetic '${values.synthetic}' together: pick one`,
    );
  }
  if (values.packages !== undefined) {
    if (values.packages === "") throw new UsageError("Cannot use --packages '': expected a file");
    return { kind: "file", path: values.packages };
  }
  const count = parseInteger(
    values.synthetic === undefined ? undefined : { source: "--synthetic", value: values.synthetic },
    { min: 1, max: 10_000_000 },
  );
  return count === undefined ? fallback : { kind: "synthetic", count, seed: values.seed };
}

/** Loads the packages of `source`; throws a sentence naming the file when it cannot be read. */
export async function loadPackages(source: PackageSource): Promise<PackageSpec[]> {
  return source.kind === "file"
    ? await readPackageList(source.path)
    : generatePackages({ count: source.count, seed: source.seed });
}

/** Describes `source` for a report: `brew-dependencies.txt` or `synthetic 1000 (seed 1)`. */
export function describePackageSource(source: PackageSource): string {
  return source.kind === "file" ? source.path : `synthetic ${source.count} (seed ${source.seed})`;
}
