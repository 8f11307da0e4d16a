/**
 * Reads package lists in the `name: dep dep` text format of Homebrew's dependency dump, the data
 * the official harness uses.
 *
 * @module
 */

import type { PackageSpec } from "./synthetic_packages.ts";

/**
 * Parses a package list: one `name: dep dep ...` line per package (dependencies separated by any
 * white space; `name:` alone for none). Blank lines are skipped. Packages that appear only as
 * dependencies are appended with no dependencies, so every name the list mentions can be indexed.
 * A package listed twice keeps the union of its dependencies. Throws on a line without `:`,
 * naming its line number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePackageList } from "./package_list.ts";
 *
 * assert.deepEqual(parsePackageList("cloog: gmp isl\nisl: gmp\n"), [
 *   { name: "cloog", dependencies: ["gmp", "isl"] },
 *   { name: "isl", dependencies: ["gmp"] },
 *   { name: "gmp", dependencies: [] },
 * ]);
 * ```
 */
export function parsePackageList(text: string): PackageSpec[] {
  const dependencies = new Map<string, Set<string>>();
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    const name = colon === -1 ? "" : line.slice(0, colon).trim();
    if (name === "") {
      throw new Error(
        `Cannot parse package list line ${i + 1} '${line}': expected 'name: dependency ...'`,
      );
    }
    const set = dependencies.get(name) ?? new Set();
    for (const dependency of line.slice(colon + 1).split(/\s+/)) {
      if (dependency !== "") set.add(dependency);
    }
    dependencies.set(name, set);
  }
  for (const set of [...dependencies.values()]) {
    for (const dependency of set) {
      if (!dependencies.has(dependency)) dependencies.set(dependency, new Set());
    }
  }
  return [...dependencies].map(([name, set]) => ({ name, dependencies: [...set] }));
}

/**
 * Reads and parses the package list at `path` (see {@linkcode parsePackageList}), with errors
 * that name the file.
 */
export async function readPackageList(path: string): Promise<PackageSpec[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "there is no such file"
      : (error as Error).message;
    throw new Error(`Cannot read packages file '${path}': ${reason}`);
  }
  try {
    return parsePackageList(text);
  } catch (error) {
    throw new Error(`Cannot parse packages file '${path}': ${(error as Error).message}`);
  }
}
