import assert from "node:assert/strict";
import { namesOf as names } from "../../lib/protocol/request_parser.ts";
import { parsePostgresUrl } from "../../lib/storage/postgres_url.ts";
import { Replication, type ReplicationOptions } from "../../lib/storage/replication.ts";
import { serve, type Server } from "../../lib/server/server.ts";
import {
  findPostgres,
  type PostgresCluster,
  startPostgresCluster,
} from "../support/postgres_cluster.ts";
import { exchange, failTest, recordingLogger, TestClient } from "../support/test_server.ts";

const postgres = await findPostgres();

/** A monotonic clock that only moves when the test moves it. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let time = 1_000;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

/** Everything one test needs: a fresh database and a way to start processes on it. */
interface Fixture {
  cluster: PostgresCluster;
  database: string;
  url: string;
  open(options?: Partial<ReplicationOptions>): Promise<Replication>;
}

let databases = 0;

/**
 * Runs every test of this file against one throwaway cluster (started once: it takes about a
 * second), each test with a database of its own and its processes closed afterwards.
 */
Deno.test({
  name: "PostgreSQL replication",
  ignore: postgres.ignore,
  fn: async (t) => {
    const cluster = await startPostgresCluster(postgres);
    try {
      const test = (name: string, body: (fixture: Fixture) => Promise<void>) =>
        t.step(name, async () => {
          const database = `t${++databases}`;
          const url = await cluster.createDatabase(database);
          const opened: Replication[] = [];
          const open = async (options: Partial<ReplicationOptions> = {}) => {
            const replication = await Replication.open({
              target: parsePostgresUrl(url),
              // The longest lease: PostgreSQL ends a session idle this long, and a test steps by
              // hand, so a slow machine must not end a session between two steps.
              lease: 5,
              logger: recordingLogger(),
              onDiverged: failTest,
              ...options,
            });
            opened.push(replication);
            return replication;
          };
          try {
            await body({ cluster, database, url, open });
          } finally {
            for (const replication of opened) await replication.close();
          }
        });
      await runTests(test);
    } finally {
      await cluster.stop();
    }
  },
});

type Test = (name: string, body: (fixture: Fixture) => Promise<void>) => Promise<boolean>;

async function runTests(test: Test): Promise<void> {
  await test("an empty database gets the versioned schema, and a restart loads what was committed", async ({ cluster, database, open }) => {
    const first = await open();
    await first.step();
    assert.equal(first.role, "leader");
    assert.equal(first.operations.indexRequest(names("gmp", [])), true);
    assert.equal(first.operations.indexRequest(names("isl", ["gmp"])), true);
    assert.equal(await first.operations.whenDurable!(), true);
    const meta = await cluster.sql("SELECT key, value FROM pkgindex_meta ORDER BY key", database);
    assert.deepEqual(meta, [
      { key: "application", value: "pkgindex" },
      { key: "schema_version", value: "1" },
    ]);
    await first.close();
    const second = await open();
    assert.deepEqual(second.index.dependenciesOf("isl"), ["gmp"]);
    assert.equal(second.status().appliedChange, 2);
  });

  await test("a database with other tables and no pkgindex marker is refused with one sentence", async ({ cluster, database, open }) => {
    await cluster.sql("CREATE TABLE invoices (id int)", database);
    await assert.rejects(
      open(),
      /^DataFileError: Database postgres:\/\/postgres@127\.0\.0\.1:\d+\/t\d+ is not a pkgindex database: it holds 1 other tables and no pkgindex_meta; name an empty database or one pkgindex created$/,
    );
  });

  await test("a database of another schema version is refused", async ({ cluster, database, open }) => {
    await (await open()).close();
    await cluster.sql(
      "UPDATE pkgindex_meta SET value = '99' WHERE key = 'schema_version'",
      database,
    );
    await assert.rejects(open(), /has schema version 99; this pkgindex reads version 1$/);
  });

  await test("a database whose index is inconsistent is refused", async ({ cluster, database, open }) => {
    await (await open()).close();
    await cluster.sql("INSERT INTO pkgindex_packages VALUES ('isl', 'gmp')", database);
    await assert.rejects(
      open(),
      /holds an inconsistent index: Package 'isl' depends on 'gmp', which is not listed$/,
    );
    await cluster.sql("UPDATE pkgindex_packages SET dependencies = 'isl'", database);
    await assert.rejects(
      open(),
      /holds an inconsistent index: Package 'isl' is part of a dependency cycle$/,
    );
  });

  await test("a password is never shown: not in errors, not in the status", async ({ cluster }) => {
    const unreachable = `postgres://app:hunter2@127.0.0.1:${cluster.port}/nosuchdb`;
    const error = await Replication.open({
      target: parsePostgresUrl(unreachable),
      logger: recordingLogger(),
      onDiverged: failTest,
    }).then(() => assert.fail("opened"), (error: Error) => error);
    assert.match(
      error.message,
      /^Cannot connect to database postgres:\/\/app:\*\*\*@127\.0\.0\.1:\d+\/nosuchdb: /,
    );
    assert.doesNotMatch(error.message, /hunter2/);
    const withPassword = `postgres://postgres:hunter2@127.0.0.1:${cluster.port}/postgres`;
    const replication = await Replication.open({
      target: parsePostgresUrl(withPassword), // trust authentication ignores it
      logger: recordingLogger(),
      onDiverged: failTest,
    });
    try {
      assert.equal(
        replication.status().data,
        `postgres://postgres:***@127.0.0.1:${cluster.port}/postgres`,
      );
    } finally {
      await replication.close();
    }
  });

  await test("of two processes on one database exactly one leads; the other follows the log", async ({ open }) => {
    const a = await open();
    const b = await open();
    await a.step();
    await b.step();
    assert.deepEqual([a.role, b.role], ["leader", "standby"]);
    assert.deepEqual([a.mayAnswer(), b.mayAnswer()], [true, false]);
    assert.equal(a.operations.indexRequest(names("gmp", [])), true);
    assert.equal(a.operations.indexRequest(names("isl", ["gmp"])), true);
    assert.equal(await a.operations.whenDurable!(), true);
    assert.equal(a.operations.removeRequest(names("isl", [])), true);
    assert.equal(await a.operations.whenDurable!(), true);
    assert.equal(b.index.has("gmp"), false);
    await b.step();
    assert.equal(b.index.has("gmp"), true);
    assert.equal(b.index.has("isl"), false);
    assert.equal(b.status().lagChanges, 3, "the poll found three changes to replay");
    assert.ok(b.status().lagSeconds >= 0);
    await b.step();
    assert.deepEqual(b.status(), {
      ...a.status(),
      role: "standby",
      leaseValid: false,
    });
    // The standby's protocol view changes nothing.
    assert.equal(b.operations.indexRequest(names("cloog", [])), false);
    assert.equal(b.index.has("cloog"), false);
  });

  await test("a standby takes over once the leader's session ends, with a new epoch", async ({ cluster, database, open }) => {
    let demoted = 0;
    const a = await open({ onDemoted: () => demoted++ });
    const b = await open();
    await a.step();
    await b.step();
    a.operations.indexRequest(names("gmp", []));
    assert.equal(await a.operations.whenDurable!(), true);
    const leaderPid = (await cluster.sql(
      "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted",
      database,
    ))[0]!.pid;
    assert.equal(await cluster.terminateSessions(database, `pid = ${leaderPid}`), 1);
    await waitUntil(() => a.role !== "leader");
    assert.equal(demoted, 1);
    assert.equal(a.mayAnswer(), false);
    assert.equal(a.stats.leaseFailures, 1);
    await b.step();
    assert.equal(b.role, "leader");
    assert.equal(b.status().epoch, a.status().epoch + 1);
    assert.equal(b.index.has("gmp"), true);
    b.operations.indexRequest(names("isl", ["gmp"]));
    assert.equal(await b.operations.whenDurable!(), true);
    // The deposed leader reconnects as a standby and follows the new leader.
    await a.step();
    await a.step();
    assert.equal(a.role, "standby");
    assert.deepEqual(a.index.dependenciesOf("isl"), ["gmp"]);
  });

  await test("fencing: once another process bumped the epoch, the old leader's commit fails and is undone", async ({ cluster, database, open }) => {
    const a = await open();
    await a.step();
    a.operations.indexRequest(names("gmp", []));
    assert.equal(await a.operations.whenDurable!(), true);
    await cluster.sql("UPDATE pkgindex_leader SET epoch = epoch + 1", database);
    assert.equal(a.operations.indexRequest(names("isl", ["gmp"])), true);
    assert.equal(await a.operations.whenDurable!(), false);
    assert.equal(a.index.has("isl"), false);
    assert.equal(a.role, "candidate");
    assert.equal(a.commitStats.failures, 1);
    const stored = await cluster.sql("SELECT name FROM pkgindex_packages", database);
    assert.deepEqual(stored, [{ name: "gmp" }]);
  });

  await test("the commit function refuses a backend other than the lock holder, and a stale epoch", async ({ cluster, database, open }) => {
    const a = await open();
    await a.step();
    const epoch = a.status().epoch;
    const commit = (pid: string, epoch: number) =>
      cluster.sql(`SELECT pkgindex_commit(${pid}, ${epoch}, 1, 'index', 'gmp', '', 100)`, database);
    await assert.rejects(
      commit("12345", epoch),
      /pkgindex: this session \(pid \d+\) is not the one that took the leader lock \(pid 12345\)/,
    );
    await assert.rejects(
      commit("pg_backend_pid()", epoch - 1),
      new RegExp(`pkgindex: epoch ${epoch - 1} no longer leads: another process took over`),
    );
    await commit("pg_backend_pid()", epoch); // the checks pass; the caller's own session commits
    assert.deepEqual(await cluster.sql("SELECT name FROM pkgindex_packages", database), [
      { name: "gmp" },
    ]);
  });

  await test("a commit that fails for another reason is undone and answered ERROR, and the leader stays", async ({ cluster, database, open }) => {
    const a = await open();
    await a.step();
    await cluster.sql(
      "ALTER TABLE pkgindex_packages ADD CONSTRAINT no_x CHECK (name <> 'x')",
      database,
    );
    await withGatedServer(a, async (port) => {
      assert.equal(await exchange(port, "INDEX|gmp|\nINDEX|x|\n"), "ERROR\nERROR\n");
      assert.equal(await exchange(port, "QUERY|x|\nQUERY|gmp|\nINDEX|gmp|\n"), "FAIL\nFAIL\nOK\n");
    });
    assert.equal(a.role, "leader");
    const log = await cluster.sql("SELECT seq, name FROM pkgindex_changes", database);
    assert.deepEqual(log, [{ seq: "1", name: "gmp" }]);
  });

  await test("lease: a leader answers nothing once its lease has run out on its clock", async ({ open }) => {
    const clock = manualClock();
    let demoted = 0;
    const serving: { server?: Server } = {};
    const a = await open({
      clock: clock.now,
      lease: 5,
      onDemoted: () => {
        demoted++;
        serving.server?.closeConnections(); // as pkgindex serve does
      },
    });
    await a.step();
    await withGatedServer(a, async (port, server) => {
      serving.server = server;
      assert.equal(await exchange(port, "INDEX|gmp|\nQUERY|gmp|\n"), "OK\nOK\n");
      const client = await TestClient.connect(port);
      try {
        assert.equal(await client.request("QUERY|gmp|"), "OK\n");
        clock.advance(5_000);
        assert.equal(a.mayAnswer(), false);
        assert.equal(a.healthRole(), "candidate");
        await client.send("QUERY|gmp|\n");
        assert.equal(await client.readToEnd(), ""); // no OK, no FAIL: the connection closes
      } finally {
        client.close();
      }
      const idle = await TestClient.connect(port);
      try {
        await a.step();
        assert.equal(a.role, "candidate");
        assert.equal(demoted, 1);
        assert.equal(await exchange(port, "QUERY|gmp|\n"), "");
        assert.equal(await idle.readToEnd(), "", "demotion closed the idle connection too");
      } finally {
        idle.close();
      }
    });
  });

  await test("lease: renewals keep a quiet leader answering; each counts", async ({ open }) => {
    const clock = manualClock();
    const a = await open({ clock: clock.now, lease: 5 });
    await a.step();
    for (let i = 1; i <= 3; i++) {
      clock.advance(2_000); // a renewal is due once a third of the lease has passed
      await a.step();
      assert.equal(a.stats.leaseRenewals, i);
    }
    clock.advance(4_999);
    assert.equal(a.mayAnswer(), true);
    clock.advance(1);
    assert.equal(a.mayAnswer(), false);
  });

  await test("a standby closes every protocol connection without sending a byte", async ({ open }) => {
    const a = await open();
    const b = await open();
    await a.step();
    await b.step();
    await withGatedServer(b, async (port) => {
      assert.equal(await exchange(port, "QUERY|gmp|\nINDEX|gmp|\n"), "");
    });
    assert.equal(b.index.has("gmp"), false);
  });

  await test("after PostgreSQL restarts, the processes reconnect and one leads again with all that was committed", async ({ cluster, open }) => {
    const a = await open();
    const b = await open();
    await a.step();
    await b.step();
    a.operations.indexRequest(names("gmp", []));
    assert.equal(await a.operations.whenDurable!(), true);
    await cluster.restart();
    await waitUntil(() => a.role === "candidate" && b.role === "candidate");
    assert.equal(a.mayAnswer(), false);
    await a.step(); // reconnects and takes the lock again: nobody else holds it
    await b.step();
    assert.deepEqual([a.role, b.role], ["leader", "standby"]);
    assert.equal(a.status().epoch, 2);
    a.operations.indexRequest(names("isl", ["gmp"]));
    assert.equal(await a.operations.whenDurable!(), true);
    await b.step();
    assert.deepEqual(b.index.dependenciesOf("isl"), ["gmp"]);
  });

  await test("a standby reloads when the log no longer holds the next change", async ({ cluster, database, open }) => {
    const a = await open();
    const b = await open();
    await a.step();
    await b.step();
    for (const name of ["a", "b", "c"]) a.operations.indexRequest(names(name, []));
    assert.equal(await a.operations.whenDurable!(), true);
    a.operations.removeRequest(names("a", []));
    assert.equal(await a.operations.whenDurable!(), true);
    await cluster.sql("DELETE FROM pkgindex_changes WHERE seq < 4", database);
    await b.step();
    assert.equal(b.stats.reloads, 1);
    assert.deepEqual([b.index.has("a"), b.index.has("b"), b.index.has("c")], [false, true, true]);
    assert.equal(b.status().appliedChange, 4);
  });

  await test("the leader trims the log to its retention, keeping the newest change", async ({ cluster, database, open }) => {
    const a = await open({ retain: 10 });
    await a.step();
    for (let i = 0; i < 1_001; i++) a.operations.indexRequest(names(`p${i}`, []));
    assert.equal(await a.operations.whenDurable!(), true);
    const [range] = await cluster.sql(
      "SELECT min(seq) AS first, max(seq) AS last FROM pkgindex_changes",
      database,
    );
    assert.deepEqual(range, { first: "992", last: "1001" });
  });
}

/** Serves `replication` as `pkgindex serve` does: its index, gated by its lease. */
async function withGatedServer(
  replication: Replication,
  body: (port: number, server: Server) => Promise<void>,
): Promise<void> {
  const server = serve({
    hostname: "127.0.0.1",
    port: 0,
    logger: recordingLogger(),
    index: replication.operations,
    mayAnswer: () => replication.mayAnswer(),
  });
  try {
    await body(server.addr.port, server);
  } finally {
    await server.shutdown();
  }
}

/** Waits, turn by turn, for an event that PostgreSQL reports asynchronously. */
async function waitUntil(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
}
