/**
 * The official harness's scenario (`pkgindex stress`) through HAProxy with `deploy/haproxy.cfg`,
 * in front of a leader and a warm standby on a real PostgreSQL: clients see one ordinary server,
 * and the standby follows everything the leader commits.
 */
import assert from "node:assert/strict";
import { closeQuietly, writeAll } from "../lib/util/io.ts";
import { ReplyReader } from "../lib/protocol/reply_reader.ts";
import { REPLY_CODES } from "../lib/protocol/replies.ts";
import { findHaproxy, freePort, type RunningHaproxy, startHaproxy } from "./support/haproxy.ts";
import { isLeader, isStandby, PkgindexProcess } from "./support/pkgindex_process.ts";
import {
  findPostgres,
  type PostgresCluster,
  startPostgresCluster,
} from "./support/postgres_cluster.ts";

const postgres = await findPostgres();
const haproxy = await findHaproxy();

/** Polls `ready` every 20 ms until it says true; throws naming `what` after `timeoutMs`. */
async function eventually(
  what: string,
  ready: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await ready())) {
    if (performance.now() > deadline) throw new Error(`Gave up waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test({
  name: "pkgindex stress passes at concurrency 100 through HAProxy in front of a leader and a " +
    "standby, and the standby follows",
  ignore: postgres.ignore || haproxy.ignore,
  fn: async () => {
    const folder = await Deno.makeTempDir({ prefix: "pkgindex-stress-" });
    let cluster: PostgresCluster | undefined;
    let proxy: RunningHaproxy | undefined;
    const processes: PkgindexProcess[] = [];
    try {
      cluster = await startPostgresCluster(postgres);
      const data = await cluster.createDatabase("stress");
      const start = (name: string) =>
        PkgindexProcess.start({
          name,
          port: freePort(),
          httpPort: freePort(),
          data,
          logPath: `${folder}/${name}.log`,
        });
      // One at a time, so that the first is the leader and the second its standby.
      const leader = await start("a");
      processes.push(leader);
      await leader.waitFor(isLeader, { timeoutMs: 30_000, what: "the leader" });
      const standby = await start("b");
      processes.push(standby);
      await standby.waitFor(isStandby, { timeoutMs: 30_000, what: "a standby" });
      proxy = await startHaproxy(haproxy.path!, { backends: [leader.backend, standby.backend] });
      await proxy.waitForLeader("a");

      const stress = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-net=127.0.0.1", "--allow-read", "main.ts", "stress"].concat(
          ["--port", String(proxy.port), "--concurrency", "100", "--timeout", "60", "--quiet"],
        ),
        cwd: new URL("..", import.meta.url).pathname,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const said = new TextDecoder().decode(stress.stdout) +
        new TextDecoder().decode(stress.stderr);
      assert.equal(stress.code, 0, said);

      // The stress run removes everything it indexed: leave one package for the standby to show.
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
      try {
        await writeAll(conn, new TextEncoder().encode("INDEX|after-stress|\n"));
        assert.equal(await new ReplyReader(conn).next(), REPLY_CODES.OK);
      } finally {
        closeQuietly(conn);
      }
      const applied = async (process: PkgindexProcess) =>
        Number((await process.replication())?.appliedChange);
      const leaderApplied = await applied(leader);
      assert.ok(leaderApplied > 1000, `the leader committed the run (change ${leaderApplied})`);
      await eventually(
        "the standby applied every change",
        async () => await applied(standby) === leaderApplied,
      );
      assert.equal(await standby.metric("pkgindex_packages"), 1);
      assert.equal(await leader.metric("pkgindex_packages"), 1);
    } finally {
      await proxy?.stop();
      for (const process of processes) await process.stop();
      await cluster?.stop();
      await Deno.remove(folder, { recursive: true });
    }
  },
});
