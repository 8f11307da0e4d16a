/**
 * A throwaway PostgreSQL cluster for tests: `initdb` into a temporary folder as the `postgres`
 * operating-system user (initdb refuses root), started on a free port of 127.0.0.1, trusted
 * without a password, and removed by `stop()`.
 *
 * One cluster per test file keeps the suite's wall time down; each test takes its own database
 * with {@linkcode PostgresCluster.createDatabase}.
 *
 * ```ts ignore
 * const postgres = await findPostgres();
 * Deno.test({ name: "…", ignore: postgres.ignore, fn: async () => {
 *   const cluster = await startPostgresCluster(postgres);
 *   try {
 *     const url = await cluster.createDatabase("store_round_trip");
 *     // … use url …
 *   } finally {
 *     await cluster.stop();
 *   }
 * }});
 * ```
 *
 * @module
 */

import postgres from "postgres";
import { freePort } from "./free_port.ts";
import { findComponent, type FoundComponent } from "./real_component.ts";

/** Where Debian's postgresql-15 puts its programs. */
const BIN = "/usr/lib/postgresql/15/bin";

/**
 * Looks for PostgreSQL 15's server programs: locally a missing install skips the tests that need
 * it with one line; under `CI=true` it is a failure (see {@linkcode findComponent}).
 */
export function findPostgres(): Promise<FoundComponent> {
  return findComponent({
    name: "PostgreSQL 15",
    candidates: [`${BIN}/postgres`],
    install: "apt-get install -y postgresql-15",
  });
}

/** A running throwaway cluster. */
export interface PostgresCluster {
  /** The port it listens on, on 127.0.0.1. */
  readonly port: number;
  /** The superuser to connect as (`postgres`, trusted: no password). */
  readonly user: string;
  /** The URL of database `name` on this cluster, e.g. `postgres://postgres@127.0.0.1:5999/t1`. */
  url(name: string): string;
  /** Creates an empty database `name` and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /**
   * Runs `query` (simple protocol: several statements allowed, no parameters) in database
   * `database` (default `postgres`) on a fresh connection, and returns the rows of its last
   * statement.
   */
  sql(query: string, database?: string): Promise<Record<string, unknown>[]>;
  /**
   * Ends every session of `database` except the caller's (`pg_terminate_backend`), as an
   * operator or a failing network would; returns how many were ended.
   */
  terminateSessions(database: string, filter?: string): Promise<number>;
  /** Stops the server (fast shutdown) and starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Stops the server and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Settings that make a cluster durable as a production server would be, for benchmarks: the test
 * clusters run without fsync.
 */
export const DURABLE_SETTINGS: readonly string[] = [
  "fsync = on",
  "full_page_writes = on",
  "synchronous_commit = on",
];

/** Options for {@linkcode startPostgresCluster}. */
export interface StartPostgresOptions {
  /** Extra `postgresql.conf` lines, e.g. `["max_connections = 50"]`. */
  settings?: readonly string[];
}

/**
 * Creates and starts a cluster. Throws with PostgreSQL's own output when initdb or the server
 * fails. Pass the component found by {@linkcode findPostgres} (its `path` must be set).
 */
export async function startPostgresCluster(
  found: FoundComponent,
  options: StartPostgresOptions = {},
): Promise<PostgresCluster> {
  if (found.path === undefined) throw new Error("PostgreSQL 15 is not installed");
  const folder = await Deno.makeTempDir({ prefix: "pkgindex-pg-" });
  const data = `${folder}/data`;
  await run(["chown", "postgres:postgres", folder]);
  await asPostgres([
    `${BIN}/initdb`,
    "--pgdata",
    data,
    "--username",
    "postgres",
    "--auth",
    "trust",
    "--encoding",
    "UTF8",
    "--no-sync",
  ]);
  const port = freePort();
  const conf = [
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${folder}'`,
    "fsync = off",
    "synchronous_commit = on",
    "full_page_writes = off",
    "max_connections = 100",
    "shared_buffers = 32MB",
    ...(options.settings ?? []),
  ];
  await Deno.writeTextFile(`${data}/postgresql.conf`, conf.join("\n") + "\n", { append: true });
  const log = `${folder}/server.log`;
  const start = () =>
    asPostgres([`${BIN}/pg_ctl`, "--pgdata", data, "--log", log, "--wait", "start"], log);
  await start();
  let stopped = false;
  const connect = (database: string) =>
    postgres({
      host: "127.0.0.1",
      port,
      user: "postgres",
      database,
      max: 1,
      onnotice: () => {},
      connection: { application_name: "pkgindex-tests" },
    });
  const cluster: PostgresCluster = {
    port,
    user: "postgres",
    url: (name) => `postgres://postgres@127.0.0.1:${port}/${name}`,
    async createDatabase(name) {
      await cluster.sql(`CREATE DATABASE "${name}" STRATEGY FILE_COPY`);
      return cluster.url(name);
    },
    async sql(query, database = "postgres") {
      const client = connect(database);
      try {
        const results = await client.unsafe(query).simple();
        const last = Array.isArray(results[0]) ? results.at(-1) : results;
        return [...(last as Record<string, unknown>[])];
      } finally {
        await client.end();
      }
    },
    async terminateSessions(database, filter = "true") {
      const rows = await cluster.sql(
        `SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
         WHERE datname = '${database}' AND pid <> pg_backend_pid() AND (${filter})`,
      );
      return Number(rows[0]!.n);
    },
    async restart() {
      await asPostgres([`${BIN}/pg_ctl`, "--pgdata", data, "--mode", "fast", "--wait", "stop"]);
      await start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await asPostgres([
          `${BIN}/pg_ctl`,
          "--pgdata",
          data,
          "--mode",
          "immediate",
          "--wait",
          "stop",
        ]);
      } finally {
        await Deno.remove(folder, { recursive: true });
      }
    },
  };
  return cluster;
}

/** Runs `args` as the `postgres` user; throws with its output (and `log`'s) when it fails. */
async function asPostgres(args: readonly string[], log?: string): Promise<void> {
  await run(["runuser", "-u", "postgres", "--", ...args], log);
}

async function run(args: readonly string[], log?: string): Promise<void> {
  const { code, stdout, stderr } = await new Deno.Command(args[0]!, {
    args: args.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code === 0) return;
  const decoder = new TextDecoder();
  let logText = "";
  if (log !== undefined) logText = await Deno.readTextFile(log).catch(() => "");
  throw new Error(
    `'${args.join(" ")}' exited with ${code}: ${decoder.decode(stdout)}${
      decoder.decode(stderr)
    }${logText}`,
  );
}
