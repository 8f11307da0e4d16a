import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { DataFileError, SqliteStore } from "../../lib/storage/sqlite_store.ts";
import { withTempDir } from "../support/data_files.ts";

Deno.test("SqliteStore keeps committed packages and dependencies across reopening", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/index.db`;
    const store = SqliteStore.open(path);
    assert.deepEqual([...store.entries()], []);
    store.prepareForWrites("normal");
    store.commit([
      { kind: "index", name: "gmp", dependencies: [] },
      { kind: "index", name: "isl", dependencies: ["gmp"] },
      { kind: "index", name: "cloog", dependencies: ["gmp", "isl"] },
    ]);
    store.commit([
      { kind: "index", name: "cloog", dependencies: ["isl"] },
      { kind: "remove", name: "gone-already" },
    ]);
    store.commit([{ kind: "index", name: "tmp", dependencies: [] }, {
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
    store.prepareForWrites("full");
    store.commit([{ kind: "index", name: "a", dependencies: [] }]);
    const bad = { kind: "index", name: null, dependencies: [] } as unknown as {
      kind: "index";
      name: string;
      dependencies: string[];
    };
    assert.throws(() => store.commit([{ kind: "index", name: "b", dependencies: [] }, bad]));
    assert.deepEqual([...store.entries()], [["a", []]]);
    store.commit([{ kind: "index", name: "c", dependencies: [] }]);
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
