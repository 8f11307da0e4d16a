/**
 * The shipped HAProxy config (`deploy/haproxy.cfg`, run by the real HAProxy) in front of a leader
 * and a warm standby on a real PostgreSQL: clients see one ordinary server that passes the
 * official harness's scenario, the standby follows everything the leader commits, and when the
 * leader dies the clients reach the standby that took over, with every acknowledged write.
 */
import assert from "node:assert/strict";
import { ReplyReader } from "../lib/protocol/reply_reader.ts";
import { REPLY_CODES } from "../lib/protocol/replies.ts";
import { closeQuietly, writeAll } from "../lib/util/io.ts";
import { freePort } from "./support/free_port.ts";
import { findHaproxy, type RunningHaproxy, startHaproxy } from "./support/haproxy.ts";
import { isLeader, isStandby, PkgindexProcess } from "./support/pkgindex_process.ts";
import {
  findPostgres,
  type PostgresCluster,
  startPostgresCluster,
} from "./support/postgres_cluster.ts";

const postgres = await findPostgres();
const haproxy = await findHaproxy();

/** A leader `a` and a standby `b` on a fresh database, behind HAProxy. */
interface Deployment {
  leader: PkgindexProcess;
  standby: PkgindexProcess;
  proxy: RunningHaproxy;
}

/** Starts PostgreSQL, `a` (which leads), then `b` (its standby) and HAProxy; runs `body`; stops all. */
async function withDeployment(body: (deployment: Deployment) => Promise<void>): Promise<void> {
  const folder = await Deno.makeTempDir({ prefix: "pkgindex-deploy-" });
  let cluster: PostgresCluster | undefined;
  let proxy: RunningHaproxy | undefined;
  const processes: PkgindexProcess[] = [];
  try {
    cluster = await startPostgresCluster(postgres);
    const data = await cluster.createDatabase("deploy");
    const start = async (name: string) => {
      const process = new PkgindexProcess({
        name,
        port: freePort(),
        httpPort: freePort(),
        data,
        logPath: `${folder}/${name}.log`,
      });
      processes.push(process);
      await process.start();
      return process;
    };
    // One at a time, so that the first is the leader and the second its standby.
    const leader = await start("a");
    await leader.waitFor(isLeader, { timeoutMs: 30_000, what: "the leader" });
    const standby = await start("b");
    await standby.waitFor(isStandby, { timeoutMs: 30_000, what: "a standby" });
    proxy = await startHaproxy(haproxy.path!, { backends: [leader.backend, standby.backend] });
    await proxy.waitForLeader("a");
    await body({ leader, standby, proxy });
  } finally {
    await proxy?.stop();
    for (const process of processes) await process.stop();
    await cluster?.stop();
    await Deno.remove(folder, { recursive: true });
  }
}

/** Sends `lines` on a fresh connection to `port` and returns the reply codes. */
async function exchangeCodes(port: number, lines: string[]): Promise<(number | null)[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, new TextEncoder().encode(lines.join("")));
    const replies = new ReplyReader(conn);
    const codes = [];
    for (const _ of lines) codes.push(await replies.next());
    return codes;
  } finally {
    closeQuietly(conn);
  }
}

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

const applied = async (process: PkgindexProcess) =>
  Number((await process.replication())?.appliedChange);

Deno.test({
  name: "pkgindex stress passes at concurrency 100 through HAProxy in front of a leader and a " +
    "standby, and the standby follows",
  ignore: postgres.ignore || haproxy.ignore,
  fn: () =>
    withDeployment(async ({ leader, standby, proxy }) => {
      const stress = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-net=127.0.0.1", "--allow-read", "main.ts", "stress"].concat(
          ["--port", String(proxy.port), "--concurrency", "100", "--timeout", "60", "--quiet"],
        ),
        cwd: new URL("..", import.meta.url).pathname,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decoder = new TextDecoder();
      assert.equal(stress.code, 0, decoder.decode(stress.stdout) + decoder.decode(stress.stderr));

      // The stress run removes everything it indexed: leave one package for the standby to show.
      assert.deepEqual(await exchangeCodes(proxy.port, ["INDEX|after-stress|\n"]), [
        REPLY_CODES.OK,
      ]);
      const leaderApplied = await applied(leader);
      assert.ok(leaderApplied > 1000, `the leader committed the run (change ${leaderApplied})`);
      await eventually(
        "the standby applied every change",
        async () => await applied(standby) === leaderApplied,
      );
      assert.equal(await standby.metric("pkgindex_packages"), 1);
      assert.equal(await leader.metric("pkgindex_packages"), 1);
    }),
});

Deno.test({
  name: "when the leader is killed, clients through HAProxy reach the standby that took over, " +
    "which holds every acknowledged write",
  ignore: postgres.ignore || haproxy.ignore,
  fn: () =>
    withDeployment(async ({ leader, standby, proxy }) => {
      const lines = Array.from({ length: 100 }, (_, i) =>
        `INDEX|p${i}|${i > 0 ? `p${i - 1}` : ""}\n`);
      const codes = await exchangeCodes(proxy.port, lines);
      assert.deepEqual(
        codes,
        lines.map(() =>
          REPLY_CODES.OK
        ),
      );

      await leader.kill();
      await standby.waitFor(isLeader, { timeoutMs: 30_000, what: "the leader" });
      await proxy.waitForLeader("b");
      assert.deepEqual(
        await exchangeCodes(proxy.port, ["QUERY|p99|\n", "INDEX|after-takeover|p99\n"]),
        [REPLY_CODES.OK, REPLY_CODES.OK],
      );
      assert.equal(await standby.metric("pkgindex_packages"), 101);
    }),
});
