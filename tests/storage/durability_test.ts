import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  DurableIndex,
  type MutationStore,
  openDurableIndex,
} from "../../lib/storage/durable_index.ts";
import { PackageIndex } from "../../lib/index/package_index.ts";
import { createRandom, randomInt } from "../../lib/tools/random.ts";
import { SqliteStore } from "../../lib/storage/sqlite_store.ts";
import {
  chainRequests,
  durableServerCommand,
  exchange,
  failTest,
  recordingLogger,
  runMain,
  startServerProcess,
  TestClient,
  withServer,
} from "../support/test_server.ts";
import {
  commitChanges,
  tamperDataFile,
  withTempDir,
  writeDataFile,
} from "../support/data_files.ts";

/** Serves the data file at `path` in-process for the length of `body`, then closes it cleanly. */
async function withDurableServer(path: string, body: (port: number) => Promise<void>) {
  const logger = recordingLogger();
  const dataFile = openDurableIndex(path, { sync: "normal", logger, onDiverged: failTest });
  try {
    await withServer({ index: dataFile.durable, logger }, (server) => body(server.addr.port));
  } finally {
    dataFile.durable.flush();
    dataFile.store.close();
  }
}

Deno.test("durable server keeps packages, re-indexes and removals across restarts", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/index.db`;
    await withDurableServer(path, async (port) => {
      const input = "INDEX|gmp|\nINDEX|isl|gmp\nINDEX|mpfr|gmp\nINDEX|cloog|gmp,isl\n" +
        "INDEX|cloog|mpfr\nINDEX|tmp|\nREMOVE|tmp|\n";
      assert.equal(await exchange(port, input), "OK\n".repeat(7));
    });
    await withDurableServer(path, async (port) => {
      assert.equal(
        await exchange(port, "QUERY|gmp|\nQUERY|cloog|\nQUERY|tmp|\nREMOVE|mpfr|\nREMOVE|isl|\n"),
        "OK\nOK\nFAIL\nFAIL\nOK\n",
        "cloog now depends on mpfr, not isl; tmp stayed removed",
      );
    });
    await withDurableServer(path, async (port) => {
      assert.equal(await exchange(port, "QUERY|isl|\nREMOVE|gmp|\n"), "FAIL\nFAIL\n");
    });
  });
});

Deno.test("durable server sends no reply before the commit that holds its change", async () => {
  const index = new PackageIndex();
  const logger = recordingLogger();
  let bytesWrittenAtCommit: number[] = [];
  let readBytesWritten = () => 0;
  const store: MutationStore = {
    commit: () => void bytesWrittenAtCommit.push(readBytesWritten()),
  };
  const durable = new DurableIndex({ index, store, logger, onDiverged: failTest });
  await withServer({ index: durable, logger }, async (server) => {
    readBytesWritten = () => server.stats.bytesSent;
    const client = await TestClient.connect(server.addr.port);
    const observer = await TestClient.connect(server.addr.port);
    try {
      assert.equal(await client.request("INDEX|a|"), "OK\n");
      assert.deepEqual(bytesWrittenAtCommit, [0], "the OK left after the commit");
      bytesWrittenAtCommit = [];
      await client.send("INDEX|b|a\n");
      await observer.send("QUERY|b|\n");
      assert.equal(await client.readLine(), "OK\n");
      assert.equal(await observer.readLine(), "OK\n");
      assert.equal(bytesWrittenAtCommit.length, 1);
      assert.equal(bytesWrittenAtCommit[0], 3, "neither reply had left before the commit");
    } finally {
      client.close();
      observer.close();
    }
  });
});

Deno.test("durable server answers ERROR and undoes the changes when a commit fails", async () => {
  const index = new PackageIndex();
  const logger = recordingLogger();
  let failing = false;
  const store: MutationStore = {
    commit: () => {
      if (failing) throw new Error("disk I/O error");
    },
  };
  const durable = new DurableIndex({ index, store, logger, onDiverged: failTest });
  await withServer({ index: durable, logger }, async (server) => {
    const port = server.addr.port;
    assert.equal(await exchange(port, "INDEX|a|\n"), "OK\n");
    failing = true;
    assert.equal(await exchange(port, "INDEX|b|a\nQUERY|b|\nREMOVE|a|\n"), "ERROR\n".repeat(3));
    assert.equal(await exchange(port, "QUERY|a|\nQUERY|b|\n"), "OK\nFAIL\n", "reads still work");
    failing = false;
    assert.equal(await exchange(port, "INDEX|b|a\nREMOVE|a|\n"), "OK\nFAIL\n");
    assert.equal(server.stats.requests.INDEX.ERROR, 1);
    assert.equal(server.stats.requests.INDEX.OK, 2);
    assert.ok(
      logger.lines.some((line) => / ERROR Commit of 1 change failed; .*disk I\/O error/.test(line)),
    );
  });
});

/** One client's own packages and what it knows the server acknowledged about them. */
interface Workload {
  client: TestClient;
  /** Package → dependencies, for every package whose last acknowledged change left it indexed. */
  indexed: Map<string, string[]>;
  /** The package of the request sent but not answered when the server died, if any. */
  inFlight: string | undefined;
}

/** Sends valid mutations on the client's own packages until the connection dies. */
async function mutateUntilKilled(workload: Workload, prefix: string, seed: number) {
  const random = createRandom(seed);
  const names = Array.from({ length: 40 }, (_, i) => `${prefix}-${i}`);
  try {
    while (true) {
      const i = randomInt(random, names.length);
      const name = names[i]!;
      const dependents = [...workload.indexed].filter(([, deps]) => deps.includes(name));
      let line: string;
      let apply: () => void;
      if (workload.indexed.has(name) && dependents.length === 0 && random() < 0.4) {
        line = `REMOVE|${name}|`;
        apply = () => workload.indexed.delete(name);
      } else {
        const candidates = names.slice(0, i).filter((other) => workload.indexed.has(other));
        const deps = candidates.filter(() => random() < 0.3);
        line = `INDEX|${name}|${deps.join(",")}`;
        apply = () => workload.indexed.set(name, deps);
      }
      workload.inFlight = name;
      const reply = await workload.client.request(line);
      assert.equal(reply, "OK\n", line);
      apply();
      workload.inFlight = undefined;
    }
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    // The server was killed mid-request.
  }
}

Deno.test("durable server loses no acknowledged change when killed with SIGKILL", async () => {
  for (const [round, killAfterMs] of [[1, 150], [2, 400], [3, 800]] as const) {
    await withTempDir(async (dir) => {
      const path = `${dir}/index.db`;
      const server = await startServerProcess(durableServerCommand(path));
      const workloads: Workload[] = await Promise.all(
        Array.from({ length: 8 }, async () => ({
          client: await TestClient.connect(server.port),
          indexed: new Map<string, string[]>(),
          inFlight: undefined,
        })),
      );
      const running = workloads.map((w, i) =>
        mutateUntilKilled(w, `r${round}c${i}`, round * 100 + i)
      );
      await new Promise((resolve) => setTimeout(resolve, killAfterMs));
      server.child.kill("SIGKILL");
      await Promise.all(running);
      for (const workload of workloads) workload.client.close();
      const killed = await server.finish();
      assert.equal(killed.signal, "SIGKILL");
      const acknowledged = workloads.reduce((sum, w) => sum + w.indexed.size, 0);
      assert.ok(acknowledged > 0, "some changes were acknowledged before the kill");

      const restarted = await startServerProcess(durableServerCommand(path));
      try {
        for (const [i, workload] of workloads.entries()) {
          for (let p = 0; p < 40; p++) {
            const name = `r${round}c${i}-${p}`;
            if (name === workload.inFlight) continue; // either outcome is correct
            const expected = workload.indexed.has(name) ? "OK\n" : "FAIL\n";
            assert.equal(await exchange(restarted.port, `QUERY|${name}|\n`), expected, name);
          }
        }
      } finally {
        assert.equal((await restarted.stop()).code, 0);
      }
      const store = SqliteStore.open(path);
      const stored = new Map(store.entries());
      store.close();
      PackageIndex.fromEntries(stored); // throws if inconsistent
      for (const workload of workloads) {
        for (const [name, deps] of workload.indexed) {
          if (name !== workload.inFlight) assert.deepEqual(stored.get(name), deps, name);
        }
      }
    });
  }
});

Deno.test("server refuses to start on a foreign, corrupt, inconsistent or unreachable data file", async () => {
  await withTempDir(async (dir) => {
    const foreign = `${dir}/foreign.db`;
    const db = new DatabaseSync(foreign);
    db.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')");
    db.close();
    const corrupt = `${dir}/corrupt.db`;
    await Deno.writeTextFile(corrupt, "SQLite format 3\0".padEnd(4096, "x"));
    /** Makes a pkgindex data file and then writes `sql` into it behind pkgindex's back. */
    const tampered = (name: string, sql: string) => {
      const path = `${dir}/${name}.db`;
      writeDataFile(path, ["a"]);
      tamperDataFile(path, sql);
      return path;
    };
    const dangling = tampered("dangling", "UPDATE packages SET dependencies = '99'");
    const cyclic = tampered(
      "cyclic",
      "INSERT INTO packages VALUES (2, 'b', '1'); UPDATE packages SET dependencies = '2' WHERE id = 1",
    );
    const cases: [string, RegExp][] = [
      [foreign, /is not a pkgindex database \(it is a SQLite database of another application\)/],
      [corrupt, /is not a pkgindex database: /],
      [dangling, /cannot be used: Package 'a' depends on package id 99, which is not stored/],
      [cyclic, /cannot be used: Package '[ab]' is part of a dependency cycle/],
      [
        `${dir}/missing-directory/index.db`,
        /Cannot open data file '.*': unable to open database file/,
      ],
    ];
    for (const [path, message] of cases) {
      const before = await Deno.readFile(path).catch(() => undefined);
      const result = await runMain(["--port", "0", "--data", path], {
        permissions: ["--allow-net", "--allow-env", `--allow-read=${dir}`, `--allow-write=${dir}`],
      });
      assert.equal(result.code, 1, path);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
      assert.deepEqual(await Deno.readFile(path).catch(() => undefined), before, "file unchanged");
    }
  });
});

Deno.test("server explains the missing permission when it may not touch the data file", async () => {
  const result = await runMain(["--port", "0", "--data", "/tmp/pkgindex-no-permission.db"], {
    permissions: ["--allow-net", "--allow-env"],
  });
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /Cannot open data file '\/tmp\/pkgindex-no-permission\.db': .*--allow-read/,
  );
});

Deno.test("server refuses a data file that another server is using", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/index.db`;
    const first = await startServerProcess(durableServerCommand(path));
    try {
      assert.equal(await exchange(first.port, "INDEX|a|\n"), "OK\n");
      const second = await runMain(["--port", "0", "--data", path], {
        permissions: ["--allow-net", "--allow-env", `--allow-read=${dir}`, `--allow-write=${dir}`],
      });
      assert.equal(second.code, 1);
      assert.match(
        second.stderr,
        /ERROR Data file '.*index\.db' is in use by another process, such as another pkgindex server \(it holds the lock on '.*index\.db\.lock'\)\n$/,
      );
      assert.equal(await exchange(first.port, "QUERY|a|\n"), "OK\n", "the first one is unharmed");
    } finally {
      assert.equal((await first.stop()).code, 0);
    }
  });
});

Deno.test("server refuses a data file with a package name the protocol could never use", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/index.db`;
    const store = SqliteStore.open(path);
    store.prepareForWrites("normal");
    store.close();
    tamperDataFile(path, "INSERT INTO packages VALUES (1, 'has space', '')");
    const result = await runMain(["--port", "0", "--data", path], {
      permissions: ["--allow-net", "--allow-env", `--allow-read=${dir}`, `--allow-write=${dir}`],
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot be used: Package id 1 has the invalid name "has space"/);
  });
});

Deno.test("durable server answers ERROR only for the slice of a batch whose commit failed", async () => {
  const index = new PackageIndex();
  const logger = recordingLogger();
  const store: MutationStore = {
    commit: (mutations) => {
      if (mutations.some((mutation) => mutation.name === "x2")) throw new Error("disk full");
    },
  };
  const durable = new DurableIndex({ index, store, logger, onDiverged: failTest });
  await withServer({ index: durable, logger }, async (server) => {
    const length = 250_000;
    const chain = chainRequests(length);
    assert.equal(await exchange(server.addr.port, chain), "OK\n".repeat(length));
    // One batch: it fits the 256-byte first read of a new connection. The slow requests between
    // the two mutations (each walks the whole chain) put them in different slices.
    const batch = `INDEX|x1|\n${`INDEX|w0|w${length - 1}\n`.repeat(13)}INDEX|x2|\n`;
    assert.ok(batch.length <= 256);
    const replies = await exchange(server.addr.port, batch);
    const lines = replies.split("\n").slice(0, -1);
    assert.equal(lines.length, 15);
    assert.equal(lines[0], "OK", "x1 was committed in an earlier slice and stays");
    assert.equal(lines.at(-1), "ERROR", "x2's commit failed");
    assert.ok(lines.includes("FAIL"), "the slices before the failed one keep their replies");
    assert.equal(index.has("x1"), true);
    assert.equal(index.has("x2"), false);
  });
});

Deno.test("server refuses a data file with ids or dependency lists pkgindex never writes", async () => {
  await withTempDir(async (dir) => {
    const cases: [string, RegExp][] = [
      ["INSERT INTO packages VALUES (-5, 'b', '')", /A package has the id -5, below 1/],
      [
        "INSERT INTO packages VALUES (2, 'b', '1,')",
        /Package 'b' has a malformed dependency list '1,'/,
      ],
      [
        "INSERT INTO packages VALUES (2, 'b', '0x1')",
        /Package 'b' has a malformed dependency list '0x1'/,
      ],
    ];
    for (const [i, [sql, message]] of cases.entries()) {
      const path = `${dir}/case${i}.db`;
      writeDataFile(path, ["a"]);
      tamperDataFile(path, sql);
      const result = await runMain(["--port", "0", "--data", path], {
        permissions: ["--allow-net", "--allow-env", `--allow-read=${dir}`, `--allow-write=${dir}`],
      });
      assert.equal(result.code, 1, sql);
      assert.match(result.stderr, message);
    }
  });
});

Deno.test("server refuses an existing empty data file unless started with --allow-empty-data", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/index.db`;
    await Deno.writeFile(path, new Uint8Array());
    const refused = await runMain(["--port", "0", "--data", path]);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr.replace(/^\S+ /, ""),
      `ERROR Data file '${path}' is empty (0 bytes), so the index it held is lost; restore it, ` +
        "remove it to start a new one, or pass --allow-empty-data to start with an empty index\n",
    );
    assert.equal((await Deno.stat(path)).size, 0, "the file was left alone");

    const server = await startServerProcess([...durableServerCommand(path), "--allow-empty-data"]);
    assert.equal(await exchange(server.port, "INDEX|gmp|\n"), "OK\n");
    assert.equal((await server.stop()).code, 0);
    const restarted = await startServerProcess(durableServerCommand(path));
    assert.equal(await exchange(restarted.port, "QUERY|gmp|\n"), "OK\n", "no flag needed any more");
    assert.equal((await restarted.stop()).code, 0);
  });
});

Deno.test("server refuses an empty data file beside a write-ahead log, and keeps the log", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/index.db`;
    // A log holding committed packages, beside a data file that was then cut to zero bytes.
    const store = SqliteStore.open(path);
    const index = store.load();
    store.prepareForWrites("normal");
    commitChanges(store, index, [{ kind: "index", name: "gmp", dependencies: [] }]);
    const log = await Deno.readFile(`${path}-wal`);
    store.close();
    await Deno.writeFile(path, new Uint8Array());
    await Deno.writeFile(`${path}-wal`, log);

    const refused = await runMain(["--port", "0", "--data", path]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      new RegExp(
        `ERROR Data file '${path}' is empty but its write-ahead log '${path}-wal' holds ` +
          `${log.length} bytes, which starting would discard; restore the data file, or pass ` +
          "--allow-empty-data to start with an empty index and discard the log\n$",
      ),
    );
    assert.deepEqual(await Deno.readFile(`${path}-wal`), log, "the log is still there");
  });
});

Deno.test("another process may read the data file while the server runs, and a commit waits out its lock", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/index.db`;
    const server = await startServerProcess(durableServerCommand(path));
    try {
      assert.equal(await exchange(server.port, "INDEX|gmp|\nINDEX|isl|gmp\n"), "OK\nOK\n");
      // What a backup (sqlite3 .backup) or a replication tool such as Litestream does.
      const reader = new DatabaseSync(path);
      try {
        const stored = reader.prepare("SELECT name FROM packages ORDER BY name").all();
        assert.deepEqual(stored.map((row) => row.name), ["gmp", "isl"]);
        // Litestream takes a short write lock to checkpoint: the server's commit waits for it.
        reader.exec("BEGIN IMMEDIATE");
        const client = await TestClient.connect(server.port);
        try {
          await client.send("INDEX|cloog|gmp,isl\n");
          await new Promise((resolve) => setTimeout(resolve, 200));
          reader.exec("COMMIT");
          assert.equal(await client.readLine(), "OK\n");
        } finally {
          client.close();
        }
      } finally {
        reader.close();
      }
    } finally {
      assert.equal((await server.stop()).code, 0);
    }
    const reopened = new DatabaseSync(path);
    const names = reopened.prepare("SELECT name FROM packages ORDER BY name").all();
    reopened.close();
    assert.deepEqual(names.map((row) => row.name), ["cloog", "gmp", "isl"]);
  });
});
