/**
 * The on-disk form of the index: one SQLite database, through the runtime's built-in
 * `node:sqlite`.
 *
 * Schema: one row per package, `packages(id, name, dependencies)`, where `dependencies` lists the
 * ids of the package's dependencies, comma-separated (`"3,17,42"`). A package's list is only ever
 * replaced whole, so one row per package makes every mutation a single-row upsert or delete.
 *
 * Loading is built for a million packages. Dependencies are stored as ids, not names, so that the
 * loader hands the index the very string objects of the names already loaded: looking up a fresh
 * copy of a name in a million-entry `Map` costs a cache miss on the stored key (about 0.8 µs,
 * against 0.15 µs for the same object). And rows are fetched in aggregated chunks, because
 * node:sqlite spends about 1.3 µs on each row it returns, more than everything else per package.
 *
 * One server owns a data file: two would each answer from their own memory and overwrite each
 * other. Ownership is an exclusive lock on a lock file beside it (`FILE.lock`), held from opening
 * to closing and released by the operating system if the process dies; the database itself uses
 * SQLite's normal locking, so other processes may read it while the server runs: `sqlite3
 * FILE .backup`, or a replication tool such as Litestream. A reader's short locks are waited
 * out (a busy timeout of 5 s) instead of failing a commit.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { isValidName } from "../protocol/names.ts";
import { errorMessage } from "../util/errors.ts";

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
/** SQLite's result code for a file that is not a database. */
const SQLITE_NOTADB = 26;
/** SQLite's result code for a database that another connection holds locked. */
const SQLITE_BUSY = 5;
/**
 * How long a commit waits for another process's lock on the database, in milliseconds: the
 * 5 seconds Litestream's documentation asks of applications, whose checkpoints lock briefly.
 */
const BUSY_TIMEOUT_MS = 5000;
/** What the dependencies column holds: ids of 1 or more, comma-separated, or nothing. */
const DEPENDENCY_IDS = /^(?:[1-9]\d*(?:,[1-9]\d*)*)?$/;
/** Rows fetched per aggregated read while loading. */
const LOAD_CHUNK_ROWS = 50_000;

/** A data file that cannot be used; the message names the file and the reason. */
export class DataFileError extends Error {
  /** Makes an error whose message names the file and says what is wrong with it. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DataFileError";
  }
}

/** Options for {@linkcode SqliteStore.open}. */
export interface OpenOptions {
  /**
   * Whether to start a new database in place of a file that looks emptied: an existing file of 0
   * bytes, or an empty or missing one beside a non-empty write-ahead log (which SQLite then
   * discards). Default: `false`, such a file is refused, since it most likely lost an index.
   */
  allowEmpty?: boolean;
}

/**
 * A pkgindex database. Opening it only reads; nothing is written until
 * {@linkcode SqliteStore.prepareForWrites} is called, so a file that turns out to be foreign or
 * inconsistent is left exactly as it was.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SqliteStore } from "./sqlite_store.ts";
 *
 * const directory = await Deno.makeTempDir();
 * const store = SqliteStore.open(`${directory}/pkgindex.db`);
 * assert.deepEqual([...store.entries()], []); // a new file; check entries before writing anything
 * store.prepareForWrites("normal");
 * store.commit([{ kind: "index", name: "gmp", dependencies: [] }]);
 * store.close();
 * const reopened = SqliteStore.open(`${directory}/pkgindex.db`);
 * assert.deepEqual([...reopened.entries()], [["gmp", []]]);
 * reopened.close();
 * await Deno.remove(directory, { recursive: true });
 * ```
 */
export class SqliteStore {
  /** The file's path, for messages. */
  readonly path: string;
  readonly #db: DatabaseSync;
  /** The lock file, held exclusively for as long as the store is open. */
  readonly #lock: Deno.FsFile;
  /** Whether the packages table exists; a new file gets it in prepareForWrites. */
  #hasSchema: boolean;
  #statements: { idOf: StatementSync; upsert: StatementSync; remove: StatementSync } | undefined;

  private constructor(
    path: string,
    opened: { db: DatabaseSync; lock: Deno.FsFile; hasSchema: boolean },
  ) {
    const { db, lock, hasSchema } = opened;
    this.path = path;
    this.#db = db;
    this.#lock = lock;
    this.#hasSchema = hasSchema;
  }

  /**
   * Opens (or creates) the database at `path` and checks that it is a pkgindex database.
   * Throws {@linkcode DataFileError} when the file cannot be opened, looks emptied (see
   * {@linkcode OpenOptions.allowEmpty}), is held by another process, is not a SQLite database,
   * or is a SQLite database of something else.
   */
  static open(path: string, options: OpenOptions = {}): SqliteStore {
    if (!(options.allowEmpty ?? false)) refuseEmptied(path);
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (error) {
      throw new DataFileError(`Cannot open data file '${path}': ${errorMessage(error)}`, {
        cause: error,
      });
    }
    let lock: Deno.FsFile;
    try {
      lock = lockDataFile(path);
    } catch (error) {
      db.close();
      throw error;
    }
    try {
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      const tableCount = db.prepare("SELECT count(*) AS n FROM sqlite_schema").get()!.n;
      if (tableCount === 0) return new SqliteStore(path, { db, lock, hasSchema: false });
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
      return new SqliteStore(path, { db, lock, hasSchema: true });
    } catch (error) {
      db.close();
      lock.close();
      if (error instanceof DataFileError) throw error;
      const code = (error as { errcode?: number }).errcode;
      throw new DataFileError(
        code === SQLITE_NOTADB
          ? `Data file '${path}' is not a pkgindex database: ${errorMessage(error)}`
          : code === SQLITE_BUSY
          ? `Data file '${path}' is in use by another process, such as another pkgindex server ` +
            `(${errorMessage(error)})`
          : `Cannot read data file '${path}': ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }

  /**
   * Every stored package with its dependencies, in no particular order. The names of
   * dependencies are the very string objects of the packages they name. Throws
   * {@linkcode DataFileError} on a dependency id that no stored package has.
   */
  *entries(): IterableIterator<[name: string, dependencies: string[]]> {
    const namesById = this.#readNamesById();
    for (const { ids, values } of this.#readColumn("dependencies", ";")) {
      for (const [i, id] of ids.entries()) {
        const name = namesById[Number(id)]!;
        const list = values[i]!;
        if (!DEPENDENCY_IDS.test(list)) {
          throw new DataFileError(`Package '${name}' has a malformed dependency list '${list}'`);
        }
        const dependencies = list === "" ? [] : list.split(",").map((dependencyId) => {
          const dependency = namesById[Number(dependencyId)];
          if (dependency !== undefined) return dependency;
          throw new DataFileError(
            `Package '${name}' depends on package id ${dependencyId}, which is not stored`,
          );
        });
        yield [name, dependencies];
      }
    }
  }

  #readNamesById(): string[] {
    const smallestId = this.#hasSchema
      ? Number(this.#db.prepare("SELECT min(id) AS id FROM packages").get()!.id ?? 1)
      : 1;
    if (smallestId < 1) throw new DataFileError(`A package has the id ${smallestId}, below 1`);
    const namesById: string[] = [];
    for (const { ids, values } of this.#readColumn("name", "\n")) {
      for (const [i, id] of ids.entries()) {
        const name = values[i]!;
        if (!isValidName(name)) {
          throw new DataFileError(`Package id ${id} has the invalid name ${JSON.stringify(name)}`);
        }
        namesById[Number(id)] = name;
      }
    }
    return namesById;
  }

  /**
   * Reads one column of every row in id order, {@linkcode LOAD_CHUNK_ROWS} rows at a time, each
   * chunk as two aggregated strings (the ids, and the values joined by `separator`).
   */
  *#readColumn(
    column: "name" | "dependencies",
    separator: "\n" | ";",
  ): IterableIterator<{ ids: string[]; values: string[] }> {
    if (!this.#hasSchema) return;
    const chunk = this.#db.prepare(
      `SELECT max(id) AS last, group_concat(id, ',' ORDER BY id) AS ids,
              group_concat(${column}, char(${separator.charCodeAt(0)}) ORDER BY id) AS "values"
       FROM (SELECT id, ${column} FROM packages WHERE id > ? ORDER BY id LIMIT ${LOAD_CHUNK_ROWS})`,
    );
    let after = 0;
    while (true) {
      const row = chunk.get(after)!;
      if (row.last === null) return;
      const ids = String(row.ids).split(",");
      const values = String(row.values).split(separator);
      if (ids.length !== values.length) {
        throw new DataFileError(`A package after id ${after} has a malformed ${column}`);
      }
      yield { ids, values };
      after = Number(row.last);
    }
  }

  /**
   * Creates the schema in a new file and switches to write-ahead logging with the given sync
   * mode (`normal` survives a killed process, `full` also survives power loss). Throws if the
   * file cannot be written.
   */
  prepareForWrites(sync: SyncMode): void {
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec(`PRAGMA synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
    // Writing the file's identity (again, for an existing file) proves at startup that the file
    // can be written, instead of failing every mutation later.
    this.#db.exec(`
      BEGIN IMMEDIATE;
      CREATE TABLE IF NOT EXISTS packages (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        dependencies TEXT NOT NULL
      ) STRICT;
      PRAGMA application_id = ${APPLICATION_ID};
      PRAGMA user_version = ${SCHEMA_VERSION};
      COMMIT;
    `);
    this.#hasSchema = true;
    this.#statements = {
      idOf: this.#db.prepare("SELECT id FROM packages WHERE name = ?"),
      upsert: this.#db.prepare(
        "INSERT INTO packages (name, dependencies) VALUES (?, ?) " +
          "ON CONFLICT (name) DO UPDATE SET dependencies = excluded.dependencies",
      ),
      remove: this.#db.prepare("DELETE FROM packages WHERE name = ?"),
    };
  }

  /**
   * Writes `mutations` in one transaction: all of them are durable when this returns, or, when
   * it throws, none of them are.
   */
  commit(mutations: readonly Mutation[]): void {
    const statements = this.#statements;
    if (statements === undefined) {
      throw new Error("SqliteStore.commit needs prepareForWrites first");
    }
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      for (const mutation of mutations) {
        if (mutation.kind === "index") {
          const ids = this.#idsOf(mutation.dependencies);
          statements.upsert.run(mutation.name, ids);
        } else {
          statements.remove.run(mutation.name);
        }
      }
      this.#db.exec("COMMIT");
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** The stored ids of `names`, comma-separated, as the `dependencies` column holds them. */
  #idsOf(names: readonly string[]): string {
    return names.map((name) => {
      const row = this.#statements!.idOf.get(name);
      if (row === undefined) {
        throw new Error(`Cannot store a dependency on '${name}': it is not stored`);
      }
      return row.id;
    }).join(",");
  }

  /**
   * Folds the write-ahead log back into the database file (a checkpoint) and closes it. The file
   * is closed even when the checkpoint fails (on a full disk, say), and that failure is then
   * thrown as a {@linkcode DataFileError}; nothing committed is lost, as the log keeps it for the
   * next open.
   */
  close(): void {
    let checkpointError: unknown;
    if (this.#statements !== undefined) {
      try {
        this.#db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      } catch (error) {
        checkpointError = error;
      }
    }
    try {
      this.#db.close();
    } catch (error) {
      throw new DataFileError(`Cannot close data file '${this.path}': ${errorMessage(error)}`, {
        cause: error,
      });
    } finally {
      this.#lock.close(); // releases the lock
    }
    if (checkpointError !== undefined) {
      throw new DataFileError(
        `Closed data file '${this.path}' without folding its write-ahead log back in: ` +
          `${errorMessage(checkpointError)}; every committed change stays in '${this.path}-wal' ` +
          "for the next start",
        { cause: checkpointError },
      );
    }
  }
}

/**
 * Opens the lock file of the data file at `path` (`path.lock`, created if missing) and takes an
 * exclusive lock on it without waiting. Throws {@linkcode DataFileError} when another process
 * holds it, or the lock file cannot be opened.
 */
function lockDataFile(path: string): Deno.FsFile {
  const lockPath = `${path}.lock`;
  let lock: Deno.FsFile;
  try {
    lock = Deno.openSync(lockPath, { read: true, write: true, create: true });
  } catch (error) {
    throw new DataFileError(
      `Cannot open data file '${path}': its lock file '${lockPath}' cannot be opened: ${
        errorMessage(error)
      }`,
      { cause: error },
    );
  }
  if (!lock.tryLockSync(true)) {
    lock.close();
    throw new DataFileError(
      `Data file '${path}' is in use by another process, such as another pkgindex server ` +
        `(it holds the lock on '${lockPath}')`,
    );
  }
  return lock;
}

/**
 * Throws {@linkcode DataFileError} when `path` looks like a data file that lost its contents: an
 * existing file of 0 bytes (pkgindex never leaves one), or an empty or missing file beside a
 * non-empty write-ahead log, which SQLite would delete on opening. Runs before SQLite sees the
 * file, so the log is still there to recover from.
 */
function refuseEmptied(path: string): void {
  const size = fileSize(path);
  const logSize = fileSize(`${path}-wal`) ?? 0;
  const allow = "or pass --allow-empty-data to start with an empty index";
  if ((size ?? 0) === 0 && logSize > 0) {
    throw new DataFileError(
      `Data file '${path}' is ${size === undefined ? "missing" : "empty"} but its write-ahead ` +
        `log '${path}-wal' holds ${logSize} bytes, which starting would discard; restore the ` +
        `data file, ${allow} and discard the log`,
    );
  }
  if (size === 0) {
    throw new DataFileError(
      `Data file '${path}' is empty (0 bytes), so the index it held is lost; restore it, ` +
        `remove it to start a new one, ${allow}`,
    );
  }
}

/** The size of the file at `path` in bytes; `undefined` when there is none. */
function fileSize(path: string): number | undefined {
  try {
    return Deno.statSync(path).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new DataFileError(`Cannot open data file '${path}': ${errorMessage(error)}`, {
      cause: error,
    });
  }
}
