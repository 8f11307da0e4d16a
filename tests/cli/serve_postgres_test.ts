import assert from "node:assert/strict";
import { findPostgres, startPostgresCluster } from "../support/postgres_cluster.ts";
import {
  exchange,
  runMain,
  serverCommand,
  type ServerProcess,
  startServerProcess,
} from "../support/test_server.ts";

const postgres = await findPostgres();

Deno.test("--lease and --sync are refused where they do not apply; a bad URL is shown masked", async () => {
  const noData = await runMain(["--lease", "2"]);
  assert.equal(noData.code, 2);
  assert.match(noData.stderr, /Cannot use --lease without --data postgres:\/\/…/);
  const sync = await runMain(["--data", "postgres://app@db/index", "--sync", "full"]);
  assert.equal(sync.code, 2);
  assert.match(sync.stderr, /Cannot use --sync with a PostgreSQL database/);
  const long = await runMain(["--data", "postgres://app@db/index", "--lease", "6"]);
  assert.equal(long.code, 2);
  assert.match(
    long.stderr,
    /Cannot parse --lease '6': expected a number of seconds above 0, up to 5/,
  );
  const bad = await runMain(["--data", "postgres://app:hunter2@db"]);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /Cannot use the database URL 'postgres:\/\/app:\*\*\*@db\/': it names no database/,
  );
  assert.doesNotMatch(bad.stderr, /hunter2/);
});

Deno.test({
  name: "two processes on one database: one leads and is healthy, the other is a standby that " +
    "answers nothing and takes over when the leader stops",
  ignore: postgres.ignore,
  fn: async () => {
    const cluster = await startPostgresCluster(postgres);
    const started: ServerProcess[] = [];
    try {
      // The password is never printed; trust authentication accepts any.
      const url = (await cluster.createDatabase("serve")).replace("postgres@", "postgres:hunter2@");
      const command = serverCommand(["--data", url, "--http-port", "0"]);
      const first = await startServerProcess(command);
      started.push(first);
      await first.waitForLog(
        /Leading database postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/serve with epoch 1/,
      );
      const second = await startServerProcess(command, { env: { PKGINDEX_LEASE: "2" } });
      started.push(second);
      await second.waitForLog(/Following the change log of database .* as a standby from change 0/);
      assert.deepEqual(await health(first), { status: 200, role: "leader" });
      assert.deepEqual(await health(second), { status: 503, role: "standby" });
      assert.equal(
        await exchange(first.port, "INDEX|gmp|\nINDEX|isl|gmp\nQUERY|isl|\n"),
        "OK\nOK\nOK\n",
      );
      assert.equal(await exchange(second.port, "QUERY|isl|\n"), "");
      // The standby polls the log every 25 ms or so: wait until a poll has replayed change 2
      // and the next one found nothing more.
      const caughtUp = (info: Record<string, unknown>) => {
        const { appliedChange, lagChanges } = info.replication as Record<string, number>;
        return appliedChange === 2 && lagChanges === 0;
      };
      let info = await getJson(second, "/v1/info");
      while (!caughtUp(info)) info = await getJson(second, "/v1/info");
      assert.equal(info.packages, 2);
      const { replication } = info as { replication: Record<string, unknown> };
      assert.deepEqual(replication, {
        role: "standby",
        epoch: 1,
        leaseValid: false,
        appliedChange: 2,
        lagChanges: 0,
        lagSeconds: 0,
        data: `postgres://postgres:***@127.0.0.1:${cluster.port}/serve`,
      });
      const fromReplica = await fetch(`http://127.0.0.1:${second.httpPort}/v1/packages/isl`);
      assert.equal(fromReplica.status, 200);
      assert.equal(fromReplica.headers.get("x-pkgindex-role"), "standby");
      assert.equal(fromReplica.headers.get("x-pkgindex-stale-seconds"), "0.000");
      assert.equal(fromReplica.headers.get("x-pkgindex-lag-changes"), "0");
      assert.deepEqual((await fromReplica.json()).dependencies, ["gmp"]);
      const metrics = await (await fetch(`http://127.0.0.1:${second.httpPort}/metrics`)).text();
      assert.match(
        metrics,
        /\npkgindex_role\{role="leader"\} 0\npkgindex_role\{role="standby"\} 1\n/,
      );
      const stopped = await first.stop();
      assert.equal(stopped.code, 0);
      assert.match(stopped.log, /takeovers=1\n/);
      await second.waitForLog(/Leading database .* with epoch 2 from change 2 \(2 packages\)/);
      assert.deepEqual(await health(second), { status: 200, role: "leader" });
      assert.equal(await exchange(second.port, "QUERY|isl|\nREMOVE|gmp|\n"), "OK\nFAIL\n");
      const last = await second.stop();
      assert.equal(last.code, 0);
      for (const log of [stopped.log, last.log]) assert.doesNotMatch(log, /hunter2/);
    } finally {
      for (const process of started) {
        try {
          process.child.kill("SIGKILL");
        } catch {
          // already exited
        }
        await process.finish();
      }
      await cluster.stop();
    }
  },
});

async function health(process: ServerProcess): Promise<{ status: number; role: unknown }> {
  const response = await fetch(`http://127.0.0.1:${process.httpPort}/v1/health`);
  return { status: response.status, role: (await response.json()).role };
}

async function getJson(process: ServerProcess, path: string): Promise<Record<string, unknown>> {
  const response = await fetch(`http://127.0.0.1:${process.httpPort}${path}`);
  assert.equal(response.status, 200);
  return await response.json();
}
