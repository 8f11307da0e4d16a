/**
 * Helpers for tests that use data files: a temporary directory, a data file made as pkgindex
 * makes it, and one changed behind pkgindex's back.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import type { PackageIndex } from "../../lib/index/package_index.ts";
import { type Mutation, SqliteStore } from "../../lib/storage/sqlite_store.ts";

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
  const index = store.load();
  store.prepareForWrites("normal");
  commitChanges(store, index, names.map((name) => ({ kind: "index", name, dependencies: [] })));
  store.close();
}

/**
 * Runs `sql` on the data file at `path` behind pkgindex's back, after switching the file to a
 * rollback journal so that the change is in the file itself when it is opened next.
 */
export function tamperDataFile(path: string, sql: string): void {
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA journal_mode = DELETE; ${sql}`);
  db.close();
}

/**
 * Applies `mutations` to `index`, the index `store` loaded, and commits them, as DurableIndex
 * does. Throws when the index refuses one.
 */
export function commitChanges(
  store: SqliteStore,
  index: PackageIndex,
  mutations: readonly Mutation[],
): void {
  for (const mutation of mutations) {
    const applied = mutation.kind === "index"
      ? index.index(mutation.name, mutation.dependencies)
      : index.remove(mutation.name);
    if (!applied) throw new Error(`The index refused ${JSON.stringify(mutation)}`);
  }
  store.commit(mutations);
}
