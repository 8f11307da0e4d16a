/**
 * `deno task bench:failover`: the failover drill. A throwaway PostgreSQL, two or three pkgindex
 * processes on it (one leader, warm standbys) and HAProxy with `deploy/haproxy.cfg` in front,
 * all on free ports of 127.0.0.1, with N packages preloaded. Concurrent writers index through
 * HAProxy and reconnect when dropped, and another writer keeps talking to the leader directly.
 * Then, run after run, each fault:
 *
 * - kill: (a) `kill -9` the leader;
 * - freeze: (b) SIGSTOP the leader for longer than its lease, then SIGCONT;
 * - terminate: (c) `pg_terminate_backend` of the leader's sessions;
 * - restart: (d) restart PostgreSQL.
 *
 * For each it reports the time until writes succeed again through HAProxy, acknowledged writes
 * lost (every `OK` must be in the leader's index and in PostgreSQL afterwards), writes
 * acknowledged by a deposed leader, and whether the survivor's invariants hold (every package's
 * dependencies are there; no cycle; every process holds as many packages as PostgreSQL).
 * Everything it starts is stopped and every folder removed, on failure and on SIGINT too.
 *
 * Run: `deno task bench:failover [--packages 1000000] [--runs 3] [--processes 2] [--writers 8]
 * [--lease 3] [--faults kill,freeze,terminate,restart] [--keep-logs]`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import postgres from "postgres";
import { generatePackages } from "../lib/tools/synthetic_packages.ts";
import { freePort } from "../tests/support/free_port.ts";
import { findHaproxy, type RunningHaproxy, startHaproxy } from "../tests/support/haproxy.ts";
import { isLeader, isStandby, PkgindexProcess } from "../tests/support/pkgindex_process.ts";
import {
  DURABLE_SETTINGS,
  findPostgres,
  type PostgresCluster,
  startPostgresCluster,
} from "../tests/support/postgres_cluster.ts";
import {
  checkGraph,
  LeaderObserver,
  missingNames,
  recoveredAfter,
  sleep,
  Writer,
} from "./failover_load.ts";

const FAULTS = {
  kill: "(a) kill -9 the leader",
  freeze: "(b) SIGSTOP the leader past its lease",
  terminate: "(c) pg_terminate_backend the leader",
  restart: "(d) restart PostgreSQL",
} as const;
type Fault = keyof typeof FAULTS;

const DATABASE = "pkgindex";

const options = parseOptions();
const log = (line: string) => Deno.stderr.writeSync(new TextEncoder().encode(`${line}\n`));

/** What one run of one fault found. */
interface RunResult {
  fault: Fault;
  run: number;
  /**
   * Milliseconds from the fault until the first writer the fault disrupted had a write
   * acknowledged through HAProxy again (see `recoveredAfter`); 0 when it disrupted none.
   */
  recoveredMs: number | undefined;
  /** The same until the last disrupted writer had; `undefined` if one never did. */
  allWritersMs: number | undefined;
  /** Milliseconds from the fault until another process was seen leading. */
  takeoverMs: number | undefined;
  /** Writes acknowledged, through HAProxy and directly. */
  acked: number;
  /** Acknowledged writes missing from the leader's index afterwards. */
  lost: number;
  /** Acknowledged writes missing from PostgreSQL afterwards. */
  lostInPostgres: number;
  /** Writes acknowledged by a deposed leader. */
  deposed: number;
  /** Requests sent straight to the old leader after the fault, and how many it acknowledged. */
  oldLeader: { sent: number; acked: number };
  /** `FAIL` replies: a dependency acknowledged earlier was missing. */
  failed: number;
  /** What is wrong with the survivor's state; empty when the invariants hold. */
  violations: string[];
}

const postgresFound = await findPostgres();
const haproxyFound = await findHaproxy();
if (postgresFound.path === undefined || haproxyFound.path === undefined) {
  log("The failover drill needs PostgreSQL 15 and HAProxy (see the line above).");
  Deno.exit(1);
}

const folder = await Deno.makeTempDir({ prefix: "pkgindex-failover-" });
let cluster: PostgresCluster | undefined;
let proxy: RunningHaproxy | undefined;
const processes: PkgindexProcess[] = [];
const activeLoad = new Set<{ stop(): Promise<void> }>();
let tornDown: Promise<void> | undefined;

/** Stops everything this drill started and removes its folder; once, whoever calls first. */
function teardown(): Promise<void> {
  tornDown ??= (async () => {
    for (const load of activeLoad) await load.stop().catch(() => {});
    await proxy?.stop().catch(() => {});
    for (const process of processes) await process.stop(5000).catch(() => {});
    await cluster?.stop().catch(() => {});
    if (options.keepLogs) log(`Logs kept in ${folder}`);
    else await Deno.remove(folder, { recursive: true }).catch(() => {});
  })();
  return tornDown;
}

const limitMs = 600_000 + options.packages * 0.2 +
  options.runs * options.faults.length * (120_000 + options.lease * 4000);
const watchdog = setTimeout(async () => {
  log(`The drill did not finish within ${Math.round(limitMs / 1000)} s: stopping everything.`);
  await teardown();
  Deno.exit(1);
}, limitMs);
const onSignal = async () => {
  log("Interrupted: stopping everything.");
  await teardown();
  Deno.exit(130);
};
Deno.addSignalListener("SIGINT", onSignal);
Deno.addSignalListener("SIGTERM", onSignal);

let exitCode = 0;
try {
  const results = await runDrill();
  // deno-lint-ignore no-console
  console.log(formatTable(results));
} catch (error) {
  exitCode = 1;
  log(`The drill failed: ${error instanceof Error ? error.stack : String(error)}`);
  for (const process of processes) await printLogTail(process);
} finally {
  clearTimeout(watchdog);
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  await teardown();
}
Deno.exit(exitCode);

async function runDrill(): Promise<RunResult[]> {
  log(
    `Failover drill: ${options.packages} packages, ${options.processes} processes, ` +
      `${options.writers} writers, lease ${options.lease} s, ${options.runs} runs of ` +
      `${options.faults.join(", ")}. Working in ${folder}.`,
  );
  cluster = await startPostgresCluster(postgresFound, { settings: DURABLE_SETTINGS });
  const data = await cluster.createDatabase(DATABASE);
  for (const name of ["a", "b", "c"].slice(0, options.processes)) {
    processes.push(
      new PkgindexProcess({
        name,
        port: freePort(),
        httpPort: freePort(),
        data,
        lease: options.lease,
        logPath: `${folder}/${name}.log`,
      }),
    );
  }
  // The first process creates the schema; the packages go straight into its table meanwhile
  // stopped, and every process loads them at start.
  const first = processes[0]!;
  await first.start();
  await first.waitFor(isLeader, { timeoutMs: 60_000, what: "the leader" });
  await first.stop();
  const preloadMs = await preload(data);
  log(
    `Preloaded ${options.packages} packages into PostgreSQL in ${(preloadMs / 1000).toFixed(1)} s.`,
  );
  for (const process of processes) {
    await process.start();
    await process.waitFor((health) => health !== undefined, {
      timeoutMs: 300_000,
      what: "loaded",
    });
  }
  proxy = await startHaproxy(haproxyFound.path!, {
    backends: processes.map((process) => process.backend),
  });
  await waitUntilSteady();
  const results: RunResult[] = [];
  for (const fault of options.faults) {
    for (let run = 1; run <= options.runs; run++) {
      const result = await drill(fault, run);
      log(describeRun(result));
      results.push(result);
    }
  }
  return results;
}

/**
 * Writes the synthetic packages into the schema's packages table, 50,000 rows per statement, and
 * resolves to the time it took in milliseconds.
 */
async function preload(url: string): Promise<number> {
  const started = performance.now();
  const packages = generatePackages({ count: options.packages, seed: 1, averageDependencies: 4 });
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (let start = 0; start < packages.length; start += 50_000) {
      const chunk = packages.slice(start, start + 50_000);
      const names = chunk.map(({ name }) => name);
      const dependencies = chunk.map((spec) => spec.dependencies.join(","));
      await sql`INSERT INTO pkgindex_packages (name, dependencies)
        SELECT * FROM unnest(${names}::text[], ${dependencies}::text[])`;
    }
  } finally {
    await sql.end();
  }
  return performance.now() - started;
}

/** One run of `fault`: load, fault, recovery, then the checks once the processes are steady. */
async function drill(fault: Fault, run: number): Promise<RunResult> {
  const leader = await waitUntilSteady();
  const prefix = `${fault}${run}-`;
  const observer = track(new LeaderObserver(processes));
  const writers = Array.from(
    { length: options.writers },
    (_, i) => track(new Writer(proxy!.port, `${prefix}w${i}-`)),
  );
  // A client that talks to the leader directly, as one with a stale address would.
  const direct = [track(new Writer(leader.options.port, `${prefix}d0-`))];
  // The leader's sessions, found before the clock starts.
  const sessions = fault === "terminate" ? await sessionsOf(leader) : "";
  await sleep(1000);
  const faultAt = performance.now();
  const leaseMs = options.lease * 1000;
  const deadline = faultAt + 3 * leaseMs + 30_000;
  const until = async (ready: () => boolean) => {
    while (!ready() && performance.now() < deadline) await sleep(10);
  };
  const takenOver = () => observer.takeoverAfter(leader.name, faultAt) !== undefined;
  // Every writer disrupted since the fault has written again, and at least one was disrupted
  // (or the lease plus 1 s has passed: a fault that disrupts nobody).
  const recovered = () => {
    const recoveries = writers.map((writer) => recoveredAfter(writer, faultAt));
    return recoveries.every((ms) => ms !== undefined) &&
      (recoveries.some((ms) => ms! > 0) || performance.now() > faultAt + leaseMs + 1000);
  };

  await injectFault(fault, leader, sessions);
  if (fault === "freeze") {
    await until(takenOver);
    // A client that reaches the frozen process after the takeover: when it wakes, it must not
    // acknowledge what it reads.
    direct.push(track(new Writer(leader.options.port, `${prefix}d1-`)));
    await until(() => performance.now() > faultAt + leaseMs + 1000);
    leader.signal("SIGCONT");
  }
  await until(recovered);
  if (fault !== "kill" && fault !== "freeze" && takenOver()) {
    direct.push(track(new Writer(leader.options.port, `${prefix}d1-`)));
  }
  // Time for a woken or cut-off leader to misbehave, if it would.
  await sleep(leaseMs + 1000);
  for (const load of [...writers, ...direct, observer]) await untrack(load);

  // Each writer's time to write again; writers that nothing disrupted (0) do not count.
  const recoveries = writers.map((writer) => recoveredAfter(writer, faultAt))
    .filter((ms) => ms !== 0);
  const takeoverAt = observer.takeoverAfter(leader.name, faultAt);
  const directAcks = direct.flatMap((writer) => writer.acks);
  const names = [...writers, ...direct].flatMap((writer) => writer.acks.map(({ name }) => name));

  if (!leader.running) await leader.start();
  await waitUntilSteady();
  const check = await checkSurvivors(names);
  return {
    fault,
    run,
    recoveredMs: recoveries.length === 0
      ? 0
      : recoveries.every((ms) => ms === undefined)
      ? undefined
      : Math.min(...recoveries.filter((ms) => ms !== undefined)),
    allWritersMs: recoveries.some((ms) => ms === undefined)
      ? undefined
      : Math.max(0, ...recoveries as number[]),
    takeoverMs: takeoverAt === undefined ? undefined : takeoverAt - faultAt,
    acked: names.length,
    lost: check.lost,
    lostInPostgres: check.lostInPostgres,
    deposed: observer.countDeposed(leader.name, directAcks, faultAt),
    oldLeader: {
      sent: direct.reduce(
        (sum, writer) => sum + writer.sends.filter((at) => at > faultAt).length,
        0,
      ),
      acked: directAcks.filter(({ sentAt }) => sentAt > faultAt).length,
    },
    failed: [...writers, ...direct].reduce((sum, writer) => sum + writer.unexpected, 0),
    violations: check.violations,
  };
}

async function injectFault(fault: Fault, leader: PkgindexProcess, sessions: string) {
  switch (fault) {
    case "kill":
      return await leader.kill();
    case "freeze":
      return leader.signal("SIGSTOP");
    case "terminate": {
      const ended = await cluster!.terminateSessions(DATABASE, sessions);
      if (ended === 0) throw new Error(`Found no session of ${leader.name} to end`);
      return;
    }
    case "restart":
      return await cluster!.restart();
  }
}

/**
 * A condition on `pg_stat_activity` that picks `leader`'s sessions: those from its process's
 * ports, or else the session that holds an advisory lock.
 */
async function sessionsOf(leader: PkgindexProcess): Promise<string> {
  const ports = await postgresClientPorts(leader.pid!);
  return ports.length > 0
    ? `client_port IN (${ports.join(",")})`
    : "pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)";
}

/** The local ports of process `pid`'s connections to PostgreSQL, from `ss`. */
async function postgresClientPorts(pid: number): Promise<number[]> {
  const output = await new Deno.Command("ss", {
    args: ["-Htnp", "state", "established", `( dport = :${cluster!.port} )`],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => undefined);
  if (output === undefined || !output.success) return [];
  return new TextDecoder().decode(output.stdout).split("\n")
    .filter((line) => line.includes(`pid=${pid},`))
    .flatMap((line) => {
      const port = /127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:\d+/.exec(line)?.[1];
      return port === undefined ? [] : [Number(port)];
    });
}

/**
 * Waits until exactly one process leads, every other is a standby that has applied every
 * change, and HAProxy routes to the leader; returns the leader.
 */
async function waitUntilSteady(timeoutMs = 300_000): Promise<PkgindexProcess> {
  const deadline = performance.now() + timeoutMs;
  let last = "";
  while (performance.now() < deadline) {
    const healths = await Promise.all(processes.map((process) => process.health(1000)));
    const leaders = processes.filter((_, i) => isLeader(healths[i]));
    const standbys = processes.filter((_, i) => isStandby(healths[i]));
    last = JSON.stringify(Object.fromEntries(processes.map((p, i) => [p.name, healths[i]])));
    if (leaders.length === 1 && leaders.length + standbys.length === processes.length) {
      const lags = await Promise.all(
        standbys.map(async (process) => (await process.replication())?.lagChanges),
      );
      if (lags.every((lag) => lag === 0)) {
        await proxy!.waitForLeader(leaders[0]!.name);
        return leaders[0]!;
      }
      last += ` standby lags ${JSON.stringify(lags)}`;
    }
    await sleep(50);
  }
  throw new Error(`The processes did not settle within ${timeoutMs} ms: ${last}`);
}

/**
 * Checks the steady state after a fault: every acknowledged name is in the leader's index (asked
 * through HAProxy) and in PostgreSQL; PostgreSQL's packages have all their dependencies and no
 * cycle; every process holds as many packages as PostgreSQL.
 */
async function checkSurvivors(
  names: readonly string[],
): Promise<{ lost: number; lostInPostgres: number; violations: string[] }> {
  const lost = (await missingNames(proxy!.port, names)).length;
  const rows = await cluster!.sql("SELECT name, dependencies FROM pkgindex_packages", DATABASE) as {
    name: string;
    dependencies: string;
  }[];
  const stored = new Set(rows.map(({ name }) => name));
  const lostInPostgres = names.filter((name) => !stored.has(name)).length;
  const graph = checkGraph(rows);
  const violations: string[] = [];
  if (graph.missingDependencies > 0) {
    violations.push(`${graph.missingDependencies} dependencies missing`);
  }
  if (graph.inCycles > 0) violations.push(`${graph.inCycles} packages on or behind a cycle`);
  for (const process of processes) {
    const held = await process.metric("pkgindex_packages");
    if (held !== graph.packages) {
      violations.push(`${process.name} holds ${held} packages, PostgreSQL ${graph.packages}`);
    }
  }
  return { lost, lostInPostgres, violations };
}

function track<T extends { stop(): Promise<void> }>(load: T): T {
  activeLoad.add(load);
  return load;
}

async function untrack(load: { stop(): Promise<void> }): Promise<void> {
  await load.stop();
  activeLoad.delete(load);
}

async function printLogTail(process: PkgindexProcess): Promise<void> {
  log(`--- last lines of ${process.name}'s log ---\n${await process.logTail()}`);
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? "never" : (ms / 1000).toFixed(2);
}

function describeRun(result: RunResult): string {
  const after = (ms: number | undefined) => ms === undefined ? "never" : `${seconds(ms)} s`;
  const { sent, acked } = result.oldLeader;
  return `${result.fault} run ${result.run}: writes OK again after ${after(result.recoveredMs)} ` +
    `(all writers ${after(result.allWritersMs)}, takeover seen ${after(result.takeoverMs)}); ` +
    `${result.acked} acknowledged, ${result.lost} lost (${result.lostInPostgres} in PostgreSQL), ` +
    `${result.failed} FAIL; the old leader acknowledged ${acked} of ${sent} requests sent to it ` +
    `directly after the fault, ${result.deposed} of them while another led; invariants ${
      result.violations.length === 0 ? "hold" : `broken: ${result.violations.join("; ")}`
    }`;
}

/** The median of `values` (the lower one of an even count), `undefined` counting as never. */
function median(values: readonly (number | undefined)[]): number | undefined {
  const sorted = values.map((value) => value ?? Infinity).toSorted((a, b) => a - b);
  const middle = sorted[(sorted.length - 1) >> 1];
  return middle === undefined || middle === Infinity ? undefined : middle;
}

/** The median time of the runs in which another process took over, and in how many it did. */
function takeoverText(runs: readonly RunResult[]): string {
  const times = runs.flatMap(({ takeoverMs }) => takeoverMs === undefined ? [] : [takeoverMs]);
  if (times.length === 0) return "none (the leader stayed)";
  const text = seconds(median(times));
  return times.length === runs.length ? text : `${text} (${times.length} of ${runs.length} runs)`;
}

function formatTable(results: readonly RunResult[]): string {
  const header = [
    "fault",
    "writes OK again (s)",
    "all writers (s)",
    "takeover seen (s)",
    "acknowledged",
    "acknowledged lost",
    "by a deposed leader",
    "invariants",
  ];
  const rows = options.faults.map((fault) => {
    const runs = results.filter((result) => result.fault === fault);
    const sum = (pick: (result: RunResult) => number) =>
      runs.reduce((total, result) => total + pick(result), 0);
    const broken = runs.filter((result) => result.violations.length > 0).length;
    return [
      FAULTS[fault],
      seconds(median(runs.map((result) => result.recoveredMs))),
      seconds(median(runs.map((result) => result.allWritersMs))),
      takeoverText(runs),
      String(sum((result) => result.acked)),
      String(sum((result) => Math.max(result.lost, result.lostInPostgres))),
      String(sum((result) => result.deposed)),
      broken === 0 ? "hold" : `broken in ${broken} of ${runs.length}`,
    ];
  });
  const lines = [header, header.map(() => "---"), ...rows].map((row) => `| ${row.join(" | ")} |`);
  return `Failover drill: ${options.packages} packages, ${options.processes} processes, ` +
    `${options.writers} writers through HAProxy, lease ${options.lease} s; times are medians ` +
    `of ${options.runs} runs, counts are totals.\n\n${lines.join("\n")}`;
}

function parseOptions() {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      packages: { type: "string", default: "1000000" },
      runs: { type: "string", default: "3" },
      processes: { type: "string", default: "2" },
      writers: { type: "string", default: "8" },
      lease: { type: "string", default: "3" },
      faults: { type: "string", default: Object.keys(FAULTS).join(",") },
      "keep-logs": { type: "boolean", default: false },
    },
  });
  const integer = (name: keyof typeof values, min: number, max: number) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(
        `Cannot use --${name} '${values[name]}': expected an integer from ${min} to ${max}`,
      );
    }
    return value;
  };
  const faults = values.faults.split(",") as Fault[];
  for (const fault of faults) {
    if (!Object.hasOwn(FAULTS, fault)) {
      throw new Error(
        `Cannot use --faults '${values.faults}': expected some of ${Object.keys(FAULTS).join(",")}`,
      );
    }
  }
  return {
    packages: integer("packages", 1, 10_000_000),
    runs: integer("runs", 1, 100),
    processes: integer("processes", 2, 3),
    writers: integer("writers", 1, 1000),
    lease: integer("lease", 1, 5),
    faults,
    keepLogs: values["keep-logs"],
  };
}
