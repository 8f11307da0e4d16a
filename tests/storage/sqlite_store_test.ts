import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { DataFileError, SqliteStore } from "../../lib/storage/sqlite_store.ts";
import {
  commitChanges,
  tamperDataFile,
  withTempDir,
  writeDataFile,
} from "../support/data_files.ts";

Deno.test("SqliteStore keeps committed packages and dependencies across reopening", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/index.db`;
    const store = SqliteStore.open(path);
    assert.deepEqual([...store.entries()], []);
    const index = store.load();
    store.prepareForWrites("normal");
    commitChanges(store, index, [
      { kind: "index", name: "gmp", dependencies: [] },
      { kind: "index", name: "isl", dependencies: ["gmp"] },
      { kind: "index", name: "cloog", dependencies: ["gmp", "isl"] },
    ]);
    commitChanges(store, index, [
      { kind: "index", name: "cloog", dependencies: ["isl"] },
      { kind: "remove", name: "gone-already" },
    ]);
    commitChanges(store, index, [{ kind: "index", name: "tmp", dependencies: [] }, {
      kind: "remove",
      name: "tmp",
    }]);
    store.close();
    const reopened = SqliteStore.open(path);
    assert.deepEqual([...reopened.entries()].sort(), [
      ["cloog", ["isl"]],
      ["gmp", []],
      ["isl", ["gmp"]],
    ]);
    reopened.close();
  });
});

Deno.test("SqliteStore commits all of a batch or none of it", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/index.db`;
    const store = SqliteStore.open(path);
    const index = store.load();
    store.prepareForWrites("full");
    commitChanges(store, index, [{ kind: "index", name: "a", dependencies: [] }]);
    const bad = { kind: "index", name: null, dependencies: [] } as unknown as {
      kind: "index";
      name: string;
      dependencies: string[];
    };
    index.index("b", []);
    assert.throws(() => store.commit([{ kind: "index", name: "b", dependencies: [] }, bad]));
    assert.deepEqual([...store.entries()], [["a", []]]);
    commitChanges(store, index, [{ kind: "index", name: "c", dependencies: [] }]);
    assert.deepEqual([...store.entries()].map(([name]) => name).sort(), ["a", "c"]);
    store.close();
  });
});

Deno.test("SqliteStore refuses a SQLite database of another application and leaves it as it was", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/other.db`;
    const other = new DatabaseSync(path);
    other.exec(
      "CREATE TABLE packages (name TEXT, dependencies TEXT); INSERT INTO packages VALUES ('x', '')",
    );
    other.close();
    const before = await Deno.readFile(path);
    assert.throws(
      () => SqliteStore.open(path),
      (error: unknown) =>
        error instanceof DataFileError &&
        error.message ===
          `Data file '${path}' is not a pkgindex database (it is a SQLite database of another application)`,
    );
    assert.deepEqual(await Deno.readFile(path), before);
  });
});

Deno.test("SqliteStore refuses a file that is not a database and leaves it as it was", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/corrupt.db`;
    const garbage = new TextEncoder().encode("this is not a database\n".repeat(500));
    await Deno.writeFile(path, garbage);
    assert.throws(
      () => SqliteStore.open(path),
      new RegExp(
        `^DataFileError: Data file '${path}' is not a pkgindex database: file is not a database`,
      ),
    );
    assert.deepEqual(await Deno.readFile(path), garbage);
  });
});

Deno.test("SqliteStore names the path when it cannot create the file", () => {
  assert.throws(
    () => SqliteStore.open("/nonexistent-directory/index.db"),
    /^DataFileError: Cannot open data file '\/nonexistent-directory\/index\.db': /,
  );
});

Deno.test("SqliteStore refuses a missing data file beside a write-ahead log, and starts anew when allowed", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/index.db`;
    await Deno.writeTextFile(`${path}-wal`, "a log whose data file was deleted");
    assert.throws(
      () => SqliteStore.open(path),
      (error: unknown) =>
        error instanceof DataFileError &&
        error.message.startsWith(
          `Data file '${path}' is missing but its write-ahead log '${path}-wal' holds 33 bytes`,
        ),
    );
    assert.equal(await Deno.readTextFile(`${path}-wal`), "a log whose data file was deleted");
    const store = SqliteStore.open(path, { allowEmpty: true });
    assert.deepEqual([...store.entries()], []);
    store.close();
  });
});

/** Every stored row as `id name`, in id order. */
function storedRows(path: string): string[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare("SELECT id, name FROM packages ORDER BY id").all()
      .map((row) => `${row.id} ${row.name}`);
  } finally {
    db.close();
  }
}

Deno.test("SqliteStore stores each package under its slot in the index, plus one, and loads it there", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/index.db`;
    const store = SqliteStore.open(path);
    const index = store.load();
    store.prepareForWrites("normal");
    commitChanges(store, index, [
      { kind: "index", name: "gmp", dependencies: [] },
      { kind: "index", name: "isl", dependencies: ["gmp"] },
      { kind: "index", name: "mpfr", dependencies: ["gmp"] },
      { kind: "remove", name: "isl" }, // frees slot 1, which the next package gets
      { kind: "index", name: "cloog", dependencies: ["gmp", "mpfr"] },
    ]);
    assert.deepEqual(storedRows(path), ["1 gmp", "2 cloog", "3 mpfr"]);
    commitChanges(store, index, [{ kind: "remove", name: "cloog" }]);
    store.close();
    const reopened = SqliteStore.open(path);
    const loaded = reopened.load();
    assert.deepEqual([loaded.slotOf("gmp"), loaded.slotOf("mpfr")], [0, 2]);
    reopened.prepareForWrites("normal");
    commitChanges(reopened, loaded, [{ kind: "index", name: "isl", dependencies: ["mpfr"] }]);
    reopened.close();
    assert.deepEqual(storedRows(path), ["1 gmp", "2 isl", "3 mpfr"], "slot 1 was free: reused");
  });
});

Deno.test("SqliteStore loads a file whose ids SQLite chose, and keeps writing it consistently", async () => {
  await withTempDir((dir) => {
    // As pkgindex wrote files before ids were slots: ids with gaps, dependencies in later ids,
    // a repeated dependency.
    const path = `${dir}/old.db`;
    const db = new DatabaseSync(path);
    db.exec(`
      CREATE TABLE packages (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, dependencies TEXT NOT NULL
      ) STRICT;
      PRAGMA application_id = ${0x706b6778};
      PRAGMA user_version = 1;
      INSERT INTO packages VALUES (3, 'cloog', '7,9,9'), (7, 'gmp', ''), (9, 'isl', '7');
    `);
    db.close();
    const store = SqliteStore.open(path);
    const index = store.load();
    assert.deepEqual([...index.entries()], [["gmp", []], ["isl", ["gmp"]], ["cloog", [
      "gmp",
      "isl",
    ]]]);
    store.prepareForWrites("normal");
    commitChanges(store, index, [
      { kind: "index", name: "a", dependencies: [] },
      { kind: "index", name: "b", dependencies: ["a", "isl"] },
      { kind: "index", name: "cloog", dependencies: ["isl"] },
    ]);
    store.close();
    const reopened = SqliteStore.open(path);
    const loaded = reopened.load();
    assert.deepEqual([...loaded.entries()].sort(), [...index.entries()].sort());
    assert.deepEqual(
      storedRows(path),
      ["cloog", "isl", "gmp", "a", "b"].map((name) => `${index.slotOf(name) + 1} ${name}`).sort(
        (x, y) => parseInt(x) - parseInt(y),
      ),
    );
    reopened.close();
  });
});

Deno.test("SqliteStore refuses to load ids that cannot be slots, and leaves the file as it was", async () => {
  await withTempDir(async (dir) => {
    const cases: [string, RegExp][] = [
      ["INSERT INTO packages VALUES (2147483648, 'b', '')", /id 2147483648, above 2147483647/],
      ["INSERT INTO packages VALUES (2, 'b', '1,2147483648')", /malformed dependency list/],
      ["INSERT INTO packages VALUES (2, 'b', '3')", /'b' depends on package id 3, which is not/],
    ];
    for (const [i, [sql, message]] of cases.entries()) {
      const path = `${dir}/case${i}.db`;
      writeDataFile(path, ["a"]);
      tamperDataFile(path, sql);
      const before = await Deno.readFile(path);
      const reopened = SqliteStore.open(path);
      assert.throws(() => reopened.load(), (error) => {
        assert.ok(error instanceof DataFileError);
        assert.match(error.message, message);
        return true;
      });
      reopened.close();
      assert.deepEqual(await Deno.readFile(path), before, sql);
    }
  });
});
