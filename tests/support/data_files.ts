/**
 * Helpers for tests that use data files: a temporary directory, and a data file made as pkgindex
 * makes it.
 *
 * @module
 */

import { SqliteStore } from "../../lib/storage/sqlite_store.ts";

/** Runs `body` with a new temporary directory, and always removes the directory afterwards. */
export async function withTempDir(body: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pkgindex_test_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes a data file at `path` holding the packages `names`, without dependencies. */
export function writeDataFile(path: string, names: readonly string[]): void {
  const store = SqliteStore.open(path);
  store.prepareForWrites("normal");
  store.commit(names.map((name) => ({ kind: "index", name, dependencies: [] })));
  store.close();
}
