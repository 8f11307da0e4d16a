/**
 * The on-disk form of the index: one SQLite database, through the runtime's built-in
 * `node:sqlite`.
 *
 * Schema: one row per package, `packages(id, name, dependencies)`, where `dependencies` lists the
 * ids of the package's dependencies, comma-separated (`"3,17,42"`). A package's list is only ever
 * replaced whole, so one row per package makes every mutation a single-row upsert or delete.
 *
 * A package's id is its slot in the in-memory index plus one ({@linkcode PackageIndex.slotOf}), so
 * the index's own name table is the map from names to ids: a commit looks no name up in the file,
 * and loading puts every package straight into the slot the file names, hashing each name once and
 * no dependency at all. Slots of removed packages are reused, so ids stay below the highest
 * number of packages ever held at once. Rows are fetched in aggregated chunks as bytes, because
 * node:sqlite spends about 1.3 µs on each row it returns and would make a string of every value.
 * Files written before ids were slots (where SQLite chose the ids) load the same way.

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
import { PackageIndex } from "../index/package_index.ts";
import { MAX_NAME_BYTES, NAME_BYTES } from "../protocol/names.ts";
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
/** The highest id a package may have: ids are slots plus one, and slots 32-bit integers. */
const MAX_ID = 2 ** 31 - 1;
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
 * const index = store.load(); // a new file: check what it holds before writing anything
 * assert.equal(index.size, 0);
 * store.prepareForWrites("normal");
 * index.index("gmp", []); // a change is applied to the index, then committed
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
  #statements:
    | Record<
      "begin" | "commit" | "rollback" | "update" | "replace" | "remove",
      StatementSync
    >
    | undefined;
  /** The index that commits persist, once loaded. */
  #index: PackageIndex | undefined;

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
   * Loads every stored package into a new index, straight into the slots the file names (a
   * package's id is its slot plus one), and keeps that index as the one
   * {@linkcode SqliteStore.commit} persists. Throws {@linkcode DataFileError} on an id, name or
   * dependency list that pkgindex never writes, and an `Error` naming the package on a
   * dependency cycle.
   */
  load(): PackageIndex {
    this.#index = this.#loadIndex();
    return this.#index;
  }

  /**
   * Every stored package with its dependencies, dependencies before their dependents: what
   * {@linkcode SqliteStore.load} would load, as names.
   */
  entries(): IterableIterator<[name: string, dependencies: string[]]> {
    return this.#loadIndex().entries();
  }

  #loadIndex(): PackageIndex {
    if (!this.#hasSchema) return PackageIndex.loadSlots(0).finish();
    const range = this.#db.prepare("SELECT min(id) AS first, max(id) AS last FROM packages").get()!;
    const first = Number(range.first ?? 1);
    const last = Number(range.last ?? 0);
    if (first < 1) throw new DataFileError(`A package has the id ${first}, below 1`);
    if (last > MAX_ID) throw new DataFileError(`A package has the id ${last}, above ${MAX_ID}`);
    const loader = PackageIndex.loadSlots(last);
    for (const { ids, count, values, ends } of this.#readColumn("name", "\n")) {
      for (let i = 0; i < count; i++) {
        const start = i === 0 ? 0 : ends[i - 1]! + 1;
        if (!isValidNameBytes(values, start, ends[i]!)) {
          const name = new TextDecoder().decode(values.subarray(start, ends[i]!));
          throw new DataFileError(
            `Package id ${ids[i]} has the invalid name ${JSON.stringify(name)}`,
          );
        }
        loader.addName(ids[i]! - 1, values, start, ends[i]!);
      }
    }
    const index = loader.index;
    let dependencySlots = new Int32Array(64);
    for (const { ids, count, values, ends } of this.#readColumn("dependencies", ";")) {
      for (let i = 0; i < count; i++) {
        const slot = ids[i]! - 1;
        const start = i === 0 ? 0 : ends[i - 1]! + 1;
        const end = ends[i]!;
        if ((end - start + 1) / 2 > dependencySlots.length) {
          dependencySlots = new Int32Array((end - start + 1) / 2);
        }
        const dependencyCount = parseDependencyIds(values, start, end, dependencySlots);
        if (dependencyCount === -1) {
          const list = new TextDecoder().decode(values.subarray(start, end));
          throw new DataFileError(
            `Package '${index.nameOf(slot)}' has a malformed dependency list '${list}'`,
          );
        }
        for (let d = 0; d < dependencyCount; d++) {
          const dependency = dependencySlots[d]!;
          if (dependency >= last || !index.isIndexed(dependency)) {
            throw new DataFileError(
              `Package '${index.nameOf(slot)}' depends on package id ${
                dependency + 1
              }, which is not stored`,
            );
          }
        }
        loader.setDependencies(slot, dependencySlots, dependencyCount);
      }
    }
    return loader.finish();
  }

  /**
   * Reads one column of every row in id order, {@linkcode LOAD_CHUNK_ROWS} rows at a time, each
   * chunk as one aggregated read: the ids, and the values' bytes joined by `separator`, with
   * where each value ends. Throws {@linkcode DataFileError} when a value holds the separator.
   */
  *#readColumn(
    column: "name" | "dependencies",
    separator: "\n" | ";",
  ): IterableIterator<{ ids: Int32Array; count: number; values: Uint8Array; ends: Int32Array }> {
    const chunk = this.#db.prepare(
      // The rows come in id order from the subquery; an ORDER BY in the aggregates would sort
      // them again, tripling the time. Both aggregates see the rows in the same order.
      `SELECT max(id) AS last, count(*) AS count,
              CAST(group_concat(id, ',') AS BLOB) AS ids,
              CAST(group_concat(${column}, char(${separator.charCodeAt(0)})) AS BLOB) AS "values"
       FROM (SELECT id, ${column} FROM packages WHERE id > ? ORDER BY id LIMIT ${LOAD_CHUNK_ROWS})`,
    );
    const ids = new Int32Array(LOAD_CHUNK_ROWS);
    const ends = new Int32Array(LOAD_CHUNK_ROWS);
    let after = 0;
    while (true) {
      const row = chunk.get(after)!;
      if (row.last === null) return;
      const count = Number(row.count);
      const values = (row.values ?? new Uint8Array()) as Uint8Array;
      if (
        splitPositive(row.ids as Uint8Array, 0x2c, ids) !== count ||
        splitEnds(values, separator.charCodeAt(0), ends) !== count
      ) {
        throw new DataFileError(`A package after id ${after} has a malformed ${column}`);
      }
      yield { ids, count, values, ends };
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
      begin: this.#db.prepare("BEGIN IMMEDIATE"),
      commit: this.#db.prepare("COMMIT"),
      rollback: this.#db.prepare("ROLLBACK"),
      update: this.#db.prepare("UPDATE packages SET dependencies = ? WHERE id = ? AND name = ?"),
      // Replaces the row holding the id or the name, if any: both are the package's now.
      replace: this.#db.prepare(
        "INSERT OR REPLACE INTO packages (id, name, dependencies) VALUES (?, ?, ?)",
      ),
      remove: this.#db.prepare("DELETE FROM packages WHERE name = ?"),
    };
  }

  /**
   * Writes, in one transaction, what the loaded index (see {@linkcode SqliteStore.load}) holds
   * now for every package that `mutations` name, which must already be applied to it, as
   * {@linkcode DurableIndex} does: each package's row is written once, whatever happened to it
   * in between, with its slot as its id, so no name is ever looked up in the file. All of it is
   * durable when this returns, or, when it throws, none of it is.
   */
  commit(mutations: readonly Mutation[]): void {
    const statements = this.#statements;
    const index = this.#index;
    if (statements === undefined || index === undefined) {
      throw new Error("SqliteStore.commit needs load and prepareForWrites first");
    }
    statements.begin.run();
    try {
      // Each package's row is written once. Rows of removed packages go first: a slot one of
      // them freed may hold another package by now.
      const slots = new Map<string, number>();
      for (const { name } of mutations) {
        if (slots.has(name)) continue;
        const slot = index.slotOf(name);
        slots.set(name, slot);
        if (slot === -1) statements.remove.run(name);
      }
      for (const [name, slot] of slots) {
        if (slot === -1) continue;
        const dependencies = dependencyIds(index, slot);
        // Re-indexing a package in its own row touches no index of the table.
        if (statements.update.run(dependencies, slot + 1, name).changes === 0) {
          statements.replace.run(slot + 1, name, dependencies);
        }
      }
      statements.commit.run();
    } catch (error) {
      if (this.#db.isTransaction) statements.rollback.run();
      throw error;
    }
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

/** The ids of the dependencies of the package in `slot` of `index`, as the file stores them. */
function dependencyIds(index: PackageIndex, slot: number): string {
  const degree = index.degreeOf(slot);
  let ids = "";
  for (let i = 0; i < degree; i++) ids += (i === 0 ? "" : ",") + (index.dependencyAt(slot, i) + 1);
  return ids;
}

/** Whether `bytes[start, end)` is a package name the protocol accepts. */
function isValidNameBytes(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start < 1 || end - start > MAX_NAME_BYTES) return false;
  for (let i = start; i < end; i++) if (NAME_BYTES[bytes[i]!] !== 1) return false;
  return true;
}

/**
 * Parses the dependency list `bytes[start, end)` (ids of 1 or more, comma-separated, or
 * nothing) into the slots (id - 1) in `slots`, and returns how many there are, or -1 when the
 * list is malformed or names an id above {@linkcode MAX_ID}.
 */
function parseDependencyIds(
  bytes: Uint8Array,
  start: number,
  end: number,
  slots: Int32Array,
): number {
  if (start === end) return 0;
  let count = 0;
  let i = start;
  while (true) {
    if (i === end || bytes[i]! < 0x31 || bytes[i]! > 0x39) return -1; // no leading zero
    let id = 0;
    while (i < end && bytes[i]! >= 0x30 && bytes[i]! <= 0x39) {
      id = id * 10 + bytes[i++]! - 0x30;
      if (id > MAX_ID) return -1;
    }
    slots[count++] = id - 1;
    if (i === end) return count;
    if (bytes[i++] !== 0x2c) return -1;
  }
}

/**
 * Parses `bytes`, positive integers separated by `separator`, into `out`; returns how many there
 * are, or -1 when there are more than `out` holds or one is not a positive integer.
 */
function splitPositive(bytes: Uint8Array, separator: number, out: Int32Array): number {
  let count = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= bytes.length; i++) {
    const byte = i === bytes.length ? separator : bytes[i]!;
    if (byte === separator) {
      if (digits === 0 || count === out.length) return -1;
      out[count++] = value;
      value = 0;
      digits = 0;
    } else if (byte >= 0x30 && byte <= 0x39 && value <= MAX_ID) {
      value = value * 10 + byte - 0x30;
      digits++;
    } else {
      return -1;
    }
  }
  return count;
}

/**
 * Records in `ends` where each value of `bytes`, values separated by `separator`, ends, and
 * returns how many values there are (one more than separators), or -1 when `ends` is too short.
 */
function splitEnds(bytes: Uint8Array, separator: number, ends: Int32Array): number {
  let count = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== separator) continue;
    if (count === ends.length) return -1;
    ends[count++] = i;
  }
  if (count === ends.length) return -1;
  ends[count++] = bytes.length;
  return count;
}
