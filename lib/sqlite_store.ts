/**
 * The on-disk form of the index: one SQLite database, through the runtime's built-in
 * `node:sqlite`.
 *
 * Schema: one row per package, `packages(name, dependencies)`, with the dependency list stored
 * as the protocol writes it (comma-separated). A package's list is only ever replaced whole, so
 * one row per package makes every mutation a single-row upsert or delete, and loading a million
 * packages is a single table scan.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { errorMessage } from "./errors.ts";

/** How hard each commit pushes data to disk. */
export type SyncMode = "normal" | "full";

/** Every sync mode, as the CLI lists them. */
export const SYNC_MODES: readonly SyncMode[] = ["normal", "full"];

/** One change to persist: a package indexed with a dependency list, or removed. */
export type Mutation =
  | { kind: "index"; name: string; dependencies: readonly string[] }
  | { kind: "remove"; name: string };

/** Marks a database as pkgindex's ("pkgx"), so a foreign SQLite file is never taken for ours. */
const APPLICATION_ID = 0x706b6778;
const SCHEMA_VERSION = 1;

/** A data file that cannot be used; the message names the file and the reason. */
export class DataFileError extends Error {
  /** Makes an error whose message names the file and says what is wrong with it. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DataFileError";
  }
}

/**
 * A pkgindex database. Opening it only reads; nothing is written until
 * {@linkcode SqliteStore.prepareForWrites} is called, so a file that turns out to be foreign or
 * inconsistent is left exactly as it was.
 *
 * @example
 * ```ts
 * import { SqliteStore } from "./sqlite_store.ts";
 *
 * const store = SqliteStore.open("pkgindex.db");
 * const entries = [...store.entries()]; // check them before writing anything
 * store.prepareForWrites("normal");
 * store.commit([{ kind: "index", name: "gmp", dependencies: [] }]);
 * store.close();
 * ```
 */
export class SqliteStore {
  /** The file's path, for messages. */
  readonly path: string;
  readonly #db: DatabaseSync;
  /** Whether the packages table exists; a new file gets it in prepareForWrites. */
  #hasSchema: boolean;
  #upsert: StatementSync | undefined;
  #delete: StatementSync | undefined;

  private constructor(path: string, db: DatabaseSync, hasSchema: boolean) {
    this.path = path;
    this.#db = db;
    this.#hasSchema = hasSchema;
  }

  /**
   * Opens (or creates) the database at `path` and checks that it is a pkgindex database.
   * Throws {@linkcode DataFileError} when the file cannot be opened, is not a SQLite database,
   * or is a SQLite database of something else.
   */
  static open(path: string): SqliteStore {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (error) {
      throw new DataFileError(`Cannot open data file '${path}': ${errorMessage(error)}`, {
        cause: error,
      });
    }
    try {
      const tableCount = db.prepare("SELECT count(*) AS n FROM sqlite_schema").get()!.n;
      if (tableCount === 0) return new SqliteStore(path, db, false);
      const applicationId = db.prepare("PRAGMA application_id").get()!.application_id;
      if (applicationId !== APPLICATION_ID) {
        throw new DataFileError(
          `Data file '${path}' is not a pkgindex database (it is a SQLite database of another application)`,
        );
      }
      const version = db.prepare("PRAGMA user_version").get()!.user_version;
      if (version !== SCHEMA_VERSION) {
        throw new DataFileError(
          `Data file '${path}' has schema version ${version}; this pkgindex reads version ${SCHEMA_VERSION}`,
        );
      }
      return new SqliteStore(path, db, true);
    } catch (error) {
      db.close();
      if (error instanceof DataFileError) throw error;
      throw new DataFileError(
        `Data file '${path}' is not a pkgindex database: ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }

  /** Every stored package with its dependencies, in no particular order. */
  *entries(): IterableIterator<[name: string, dependencies: string[]]> {
    if (!this.#hasSchema) return;
    const rows = this.#db.prepare("SELECT name, dependencies FROM packages").iterate();
    for (const row of rows) {
      const dependencies = String(row.dependencies);
      yield [String(row.name), dependencies === "" ? [] : dependencies.split(",")];
    }
  }

  /**
   * Creates the schema in a new file and switches to write-ahead logging with the given sync
   * mode: `normal` survives a killed process, `full` also survives power loss.
   */
  prepareForWrites(sync: SyncMode): void {
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec(`PRAGMA synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
    if (!this.#hasSchema) {
      this.#db.exec(`
        BEGIN;
        CREATE TABLE packages (name TEXT PRIMARY KEY, dependencies TEXT NOT NULL) WITHOUT ROWID, STRICT;
        PRAGMA application_id = ${APPLICATION_ID};
        PRAGMA user_version = ${SCHEMA_VERSION};
        COMMIT;
      `);
      this.#hasSchema = true;
    }
    this.#upsert = this.#db.prepare(
      "INSERT INTO packages (name, dependencies) VALUES (?, ?) " +
        "ON CONFLICT (name) DO UPDATE SET dependencies = excluded.dependencies",
    );
    this.#delete = this.#db.prepare("DELETE FROM packages WHERE name = ?");
  }

  /**
   * Writes `mutations` in one transaction: all of them are durable when this returns, or, when
   * it throws, none of them are.
   */
  commit(mutations: readonly Mutation[]): void {
    if (this.#upsert === undefined || this.#delete === undefined) {
      throw new Error("SqliteStore.commit needs prepareForWrites first");
    }
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      for (const mutation of mutations) {
        if (mutation.kind === "index") {
          this.#upsert.run(mutation.name, mutation.dependencies.join(","));
        } else {
          this.#delete.run(mutation.name);
        }
      }
      this.#db.exec("COMMIT");
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Folds the write-ahead log back into the database file and closes it. */
  close(): void {
    if (this.#upsert !== undefined) this.#db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    this.#db.close();
  }
}
