/**
 * The PostgreSQL form of the index, and the one database session each pkgindex process keeps.
 *
 * Schema (created on first start, in one transaction, and versioned in `pkgindex_meta`):
 *
 * - `pkgindex_packages(name, dependencies)`: one row per package, dependencies comma-joined
 *   (names cannot hold commas).
 * - `pkgindex_changes(seq, epoch, kind, name, dependencies, committed_at)`: the ordered change
 *   log that standbys replay. The leader numbers the changes itself: `seq` is dense and grows in
 *   commit order, because only the fenced leader writes and it has one commit in flight.
 * - `pkgindex_leader(epoch, holder, since)`: one row; a takeover bumps `epoch`.
 * - `pkgindex_commit(...)`: one commit in one round trip. It proves, inside its own transaction,
 *   that the caller still leads (same session as the one that took the leader lock, and the
 *   current epoch, row-locked `FOR SHARE` so that a takeover waits for it), then appends the
 *   changes, applies them to `pkgindex_packages` and trims the log beyond its retention.
 *
 * Leadership is a session-level advisory lock on the process's one session. The session is never
 * reused after its connection drops (see {@linkcode PostgresSession}).
 *
 * @module
 */

import postgres from "postgres";
import { isValidName } from "../protocol/names.ts";
import { errorMessage } from "../util/errors.ts";
import type { PostgresTarget } from "./postgres_url.ts";
import { redactPassword } from "./postgres_url.ts";
import { DataFileError, type Mutation } from "./sqlite_store.ts";

/** The version of the schema this pkgindex reads and writes. */
export const POSTGRES_SCHEMA_VERSION = 1;

/** The first key of pkgindex's advisory locks ("pkgx"); the second says which lock. */
const LOCK_CLASS = 0x706b6778;
/** The advisory lock whose holder leads. */
const LEADER_LOCK = 1;
/** The advisory lock that serializes schema creation between processes starting together. */
const SCHEMA_LOCK = 2;
/** The SQLSTATE of a commit refused because its writer no longer leads. */
const FENCED = "PKGF1";
/** Packages read per round trip while loading. */
const LOAD_CHUNK_ROWS = 50_000;

const SCHEMA_SQL = `
CREATE TABLE pkgindex_meta (key text PRIMARY KEY, value text NOT NULL);
INSERT INTO pkgindex_meta VALUES ('application', 'pkgindex'),
  ('schema_version', '${POSTGRES_SCHEMA_VERSION}');
CREATE TABLE pkgindex_packages (
  name text COLLATE "C" PRIMARY KEY,
  dependencies text NOT NULL
);
CREATE TABLE pkgindex_changes (
  seq bigint PRIMARY KEY,
  epoch bigint NOT NULL,
  kind text NOT NULL CHECK (kind IN ('index', 'remove')),
  name text NOT NULL,
  dependencies text,
  committed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE pkgindex_leader (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  epoch bigint NOT NULL,
  holder text,
  since timestamptz
);
INSERT INTO pkgindex_leader (epoch) VALUES (0);
CREATE FUNCTION pkgindex_commit(p_pid integer, p_epoch bigint, p_first bigint, p_kinds text,
  p_names text, p_dependencies text, p_retain bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_kinds text[] := string_to_array(p_kinds, ',');
  v_names text[] := string_to_array(p_names, ',');
  -- One list per change; '' alone is one empty list, which string_to_array would make no list.
  v_dependencies text[] := CASE WHEN p_dependencies = ''
    THEN array_fill(''::text, ARRAY[cardinality(v_names)])
    ELSE string_to_array(p_dependencies, ';') END;
  v_last bigint := p_first + cardinality(v_names) - 1;
BEGIN
  IF pg_backend_pid() <> p_pid THEN
    RAISE EXCEPTION 'pkgindex: this session (pid %) is not the one that took the leader lock (pid %)',
      pg_backend_pid(), p_pid USING ERRCODE = '${FENCED}';
  END IF;
  PERFORM 1 FROM pkgindex_leader WHERE epoch = p_epoch FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'pkgindex: epoch % no longer leads: another process took over', p_epoch
      USING ERRCODE = '${FENCED}';
  END IF;
  IF p_first <> (SELECT coalesce(max(seq), 0) + 1 FROM pkgindex_changes) THEN
    RAISE EXCEPTION 'pkgindex: change % does not follow the last change in the log', p_first;
  END IF;
  IF cardinality(v_kinds) <> cardinality(v_names)
     OR cardinality(v_dependencies) <> cardinality(v_names) THEN
    RAISE EXCEPTION 'pkgindex: a commit of % names has % kinds and % dependency lists',
      cardinality(v_names), cardinality(v_kinds), cardinality(v_dependencies);
  END IF;
  -- Arrays are unnested together, never subscripted: v[i] walks a text array from its start.
  INSERT INTO pkgindex_changes (seq, epoch, kind, name, dependencies)
    SELECT p_first + ord - 1, p_epoch, k, n, CASE k WHEN 'index' THEN d END
    FROM unnest(v_kinds, v_names, v_dependencies) WITH ORDINALITY AS u(k, n, d, ord);
  DELETE FROM pkgindex_packages p
    USING (SELECT DISTINCT ON (n) n, k
           FROM unnest(v_kinds, v_names) WITH ORDINALITY AS u(k, n, ord)
           ORDER BY n, ord DESC) AS latest
    WHERE p.name = latest.n AND latest.k = 'remove';
  INSERT INTO pkgindex_packages (name, dependencies)
    SELECT n, d
    FROM (SELECT DISTINCT ON (n) n, k, d
          FROM unnest(v_kinds, v_names, v_dependencies) WITH ORDINALITY AS u(k, n, d, ord)
          ORDER BY n, ord DESC) AS latest
    WHERE k = 'index'
    ON CONFLICT (name) DO UPDATE SET dependencies = excluded.dependencies;
  IF (p_first - 1) / 1000 <> v_last / 1000 THEN
    DELETE FROM pkgindex_changes WHERE seq <= v_last - p_retain;
  END IF;
END
$$;
`;

/**
 * Whether `error`, thrown by {@linkcode PostgresSession.commit}, says that the writer no longer
 * leads (another process took over, or the session is not the one that took the lock).
 */
export function isFencedOut(error: unknown): boolean {
  return (error as { cause?: { code?: unknown } }).cause?.code === FENCED;
}

/** One change of the log, as a standby replays it. */
export interface Change {
  /** Its position in the log: 1, 2, 3, … with no gaps. */
  seq: number;
  /** What changed. */
  mutation: Mutation;
}

/** What {@linkcode PostgresSession.readChanges} found after a position of the log. */
export interface ChangeBatch {
  /** The changes after the position asked for, oldest first, up to the limit. */
  changes: Change[];
  /** Whether this session holds the leader lock (when the read tried to take it). */
  leaderLock: boolean;
  /** The epoch of the current leader. */
  epoch: number;
  /** The oldest change the log still holds (0 when it is empty). */
  first: number;
  /** The newest change in the log (0 when it is empty). */
  last: number;
  /** Seconds since the first change after the position was committed; 0 when there is none. */
  behindSeconds: number;
}

/** The whole index as stored, and the log position it reflects. */
export interface Snapshot {
  /** Every package and its dependencies. */
  entries: [name: string, dependencies: string[]][];
  /** The last change the snapshot includes. */
  seq: number;
}

/** Options for {@linkcode PostgresSession.open}. */
export interface PostgresSessionOptions {
  /**
   * The lease in seconds: the session asks PostgreSQL to end it when it stays idle (or its TCP
   * peer silent) this long, so that a frozen or vanished leader loses its lock after its lease.
   */
  lease: number;
}

/**
 * One PostgreSQL session (one connection) that is never silently replaced: postgres.js reconnects
 * by itself when a connection drops, and a new connection is a new session without our advisory
 * lock. So the first time the connection closes, this session is marked closed, and every later
 * call throws instead of reaching the database. The owner opens a new session to go on.
 *
 * Queries run one at a time, in call order.
 */
export class PostgresSession {
  /** The database, with its password masked. */
  readonly display: string;
  /** The backend process id of this session, as PostgreSQL reports it. */
  readonly backendPid: number;
  readonly #sql: postgres.Sql;
  readonly #password: string;
  /** How long a query may take before the session is given up (two leases). */
  readonly #queryTimeoutMs: number;
  #closed = false;
  #onClose: (() => void) | undefined;
  /** The end of the queue of queries: each waits for the one before. */
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(
    sql: postgres.Sql,
    opened: { target: PostgresTarget; backendPid: number; lease: number },
  ) {
    this.#sql = sql;
    this.#queryTimeoutMs = 2000 * opened.lease;
    this.display = opened.target.display;
    this.#password = opened.target.password;
    this.backendPid = opened.backendPid;
  }

  /**
   * Connects to `target`. Throws an error whose message names the database (password masked)
   * when it cannot.
   */
  static async open(
    target: PostgresTarget,
    options: PostgresSessionOptions,
  ): Promise<PostgresSession> {
    const leaseMs = Math.max(1, Math.round(options.lease * 1000));
    /** The session once made; whether the connection closed before that. */
    const link: { session?: PostgresSession; closedEarly?: boolean } = {};
    const clientOptions = {
      host: target.host,
      port: target.port,
      database: target.database,
      user: target.user,
      pass: target.password,
      // Every option the client would otherwise read from a PG* variable is given here (it
      // still reads PGAPPNAME, and PGPASSWORD when there is no password in the URL).
      max: 1,
      ssl: false,
      sslnegotiation: null,
      idle_timeout: 0,
      max_lifetime: 0,
      connect_timeout: Math.max(1, Math.ceil(options.lease)),
      keep_alive: 1,
      max_pipeline: 100,
      backoff: false,
      prepare: true,
      debug: false,
      fetch_types: false,
      publications: "alltables",
      target_session_attrs: "read-write",
      onnotice: () => {},
      onclose: () => {
        if (link.session === undefined) link.closedEarly = true;
        else link.session.#markClosed();
      },
      connection: {
        application_name: "pkgindex",
        idle_session_timeout: leaseMs,
        idle_in_transaction_session_timeout: leaseMs,
        tcp_user_timeout: leaseMs,
      },
    };
    // Some of these options are missing from the client's types but read all the same.
    const sql = postgres(clientOptions as postgres.Options<Record<string, never>>);
    let backendPid: number;
    try {
      const [row] = await sql`SELECT pg_backend_pid() AS pid`;
      backendPid = Number(row!.pid);
    } catch (error) {
      await sql.end({ timeout: 0 }).catch(() => {});
      throw new DataFileError(
        `Cannot connect to database ${target.display}: ${
          redactPassword(errorMessage(error), target.password)
        }`,
        { cause: error },
      );
    }
    const session = new PostgresSession(sql, { target, backendPid, lease: options.lease });
    link.session = session;
    if (link.closedEarly) session.#markClosed();
    return session;
  }

  /** Whether the connection has dropped (or {@linkcode PostgresSession.close} was called). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Calls `callback` once when the connection drops or the session is closed (at once if it
   * already has); the session is unusable from then on.
   */
  onClose(callback: () => void): void {
    if (this.#closed) callback();
    else this.#onClose = callback;
  }

  /**
   * Creates the schema in an empty database, or checks that an existing one is pkgindex's and of
   * this version. Throws {@linkcode DataFileError} (one sentence) for a foreign database.
   */
  prepareSchema(): Promise<void> {
    return this.#query("prepare the schema", (sql) =>
      sql.begin(async (sql) => {
        await sql`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${SCHEMA_LOCK})`;
        const [found] = await sql`
          SELECT to_regclass('pkgindex_meta') IS NOT NULL AS ours,
                 (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm')) AS tables`;
        if (!found!.ours) {
          const tables = Number(found!.tables);
          if (tables > 0) {
            throw new DataFileError(
              `Database ${this.display} is not a pkgindex database: it holds ${tables} ` +
                "other tables and no pkgindex_meta; name an empty database or one pkgindex created",
            );
          }
          await sql.unsafe(SCHEMA_SQL).simple();
          return;
        }
        const meta = new Map(
          (await sql`SELECT key, value FROM pkgindex_meta`).map((row) => [row.key, row.value]),
        );
        if (meta.get("application") !== "pkgindex") {
          throw new DataFileError(
            `Database ${this.display} is not a pkgindex database: its pkgindex_meta does not ` +
              "say application=pkgindex",
          );
        }
        const version = meta.get("schema_version");
        if (version !== String(POSTGRES_SCHEMA_VERSION)) {
          throw new DataFileError(
            `Database ${this.display} has schema version ${version}; this pkgindex reads ` +
              `version ${POSTGRES_SCHEMA_VERSION}`,
          );
        }
      }));
  }

  /**
   * Reads every package and the position of the log they reflect, from one consistent snapshot.
   * Throws {@linkcode DataFileError} on a malformed row.
   */
  loadSnapshot(): Promise<Snapshot> {
    return this.#query(
      "load the index",
      { timeout: false },
      (sql) =>
        sql.begin("isolation level repeatable read read only", async (sql) => {
          const [position] = await sql`SELECT coalesce(max(seq), 0) AS seq FROM pkgindex_changes`;
          const entries: [string, string[]][] = [];
          let after = "";
          while (true) {
            const [chunk] = await sql`
            SELECT max(name) AS last, string_agg(name, E'\\n' ORDER BY name) AS names,
                   string_agg(dependencies, ';' ORDER BY name) AS dependencies
            FROM (SELECT name, dependencies FROM pkgindex_packages WHERE name > ${after}
                  ORDER BY name LIMIT ${LOAD_CHUNK_ROWS}) AS c`;
            if (chunk!.last === null) break;
            const names = String(chunk!.names).split("\n");
            const lists = String(chunk!.dependencies).split(";");
            if (names.length !== lists.length) {
              throw new DataFileError(`A package after '${after}' has a malformed dependency list`);
            }
            for (const [i, name] of names.entries()) {
              if (!isValidName(name)) {
                throw new DataFileError(`A package has the invalid name ${JSON.stringify(name)}`);
              }
              entries.push([name, parseDependencies(name, lists[i]!)]);
            }
            after = String(chunk!.last);
          }
          return { entries, seq: Number(position!.seq) };
        }),
    );
  }

  /**
   * Bumps the epoch and records `holder` as the leader; resolves to the new epoch. Waits for any
   * commit of the previous leader still in flight: from then on, that leader can commit nothing.
   */
  takeOver(holder: string): Promise<number> {
    return this.#query("take over", async (sql) => {
      const [row] = await sql`
        UPDATE pkgindex_leader SET epoch = epoch + 1, holder = ${holder}, since = now()
        RETURNING epoch`;
      return Number(row!.epoch);
    });
  }

  /**
   * Whether this session still leads with `epoch`: it is the same backend that took the lock (a
   * reconnected session would not be), and the epoch is still current. A successful answer renews
   * the lease.
   */
  provesLeadership(epoch: number): Promise<boolean> {
    return this.#query("renew the lease", async (sql) => {
      const [row] = await sql`SELECT pg_backend_pid() AS pid, epoch FROM pkgindex_leader`;
      return Number(row!.pid) === this.backendPid && Number(row!.epoch) === epoch;
    });
  }

  /**
   * The changes after `seq`, up to `limit` of them, and where the log begins and ends. With
   * `tryLeaderLock`, the same round trip also tries to take the leader lock without waiting (a
   * standby's poll); {@linkcode ChangeBatch.leaderLock} says whether this session now holds it.
   */
  readChanges(
    seq: number,
    options: { limit: number; tryLeaderLock: boolean },
  ): Promise<ChangeBatch> {
    const { limit, tryLeaderLock } = options;
    return this.#query("read the change log", async (sql) => {
      const [row] = await sql`
        SELECT CASE WHEN ${tryLeaderLock}::boolean
                    THEN pg_try_advisory_lock(${LOCK_CLASS}, ${LEADER_LOCK}) ELSE false END AS locked,
               (SELECT epoch FROM pkgindex_leader) AS epoch,
               (SELECT coalesce(min(seq), 0) FROM pkgindex_changes) AS first,
               (SELECT coalesce(max(seq), 0) FROM pkgindex_changes) AS last,
               coalesce(extract(epoch FROM clock_timestamp() - (
                 SELECT committed_at FROM pkgindex_changes WHERE seq = ${seq} + 1)), 0) AS behind,
               (SELECT coalesce(json_agg(json_build_array(seq, kind, name, dependencies)
                                         ORDER BY seq), '[]')
                FROM (SELECT seq, kind, name, dependencies FROM pkgindex_changes
                      WHERE seq > ${seq} ORDER BY seq LIMIT ${limit}) AS c) AS changes`;
      const rows = row!.changes as [number, string, string, string | null][];
      return {
        leaderLock: row!.locked === true,
        epoch: Number(row!.epoch),
        first: Number(row!.first),
        last: Number(row!.last),
        behindSeconds: Math.max(0, Number(row!.behind)),
        changes: rows.map(([seq, kind, name, dependencies]) => ({
          seq: Number(seq),
          mutation: kind === "remove"
            ? { kind: "remove", name }
            : { kind: "index", name, dependencies: parseDependencies(name, dependencies ?? "") },
        })),
      };
    });
  }

  /**
   * Commits `mutations` as changes `first`, `first + 1`, … in one transaction and one round trip,
   * fenced by `epoch` (see the module's description); the log keeps the last `retain` changes.
   * Rejects, having committed nothing, when this session no longer leads.
   */
  commit(
    mutations: readonly Mutation[],
    fence: { epoch: number; first: number; retain: number },
  ): Promise<void> {
    // Three texts rather than arrays: names hold neither ',' nor ';', and a text parameter needs
    // no type lookup.
    let kinds = "";
    let names = "";
    let dependencies = "";
    for (const [i, mutation] of mutations.entries()) {
      const separator = i === 0 ? "" : ",";
      kinds += separator + mutation.kind;
      names += separator + mutation.name;
      dependencies += (i === 0 ? "" : ";") +
        (mutation.kind === "index" ? mutation.dependencies.join(",") : "");
    }
    return this.#query("commit", async (sql) => {
      await sql`SELECT pkgindex_commit(${this.backendPid}, ${fence.epoch}, ${fence.first},
        ${kinds}, ${names}, ${dependencies}, ${fence.retain})`;
    });
  }

  /** Ends the session (and with it any lock it holds). Never throws. */
  async close(): Promise<void> {
    this.#markClosed();
    await this.#sql.end({ timeout: 0 }).catch(() => {});
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    const onClose = this.#onClose;
    this.#onClose = undefined;
    onClose?.();
  }

  /**
   * Runs `run` after every query queued before it, unless the session is closed; its errors are
   * rethrown with `action` and the database named, and the password masked. A query that takes
   * longer than two leases (a network that went silent: TCP alone may take minutes to say so)
   * ends the session; loading the index is exempt (`timeout: false`).
   */
  #query<T>(
    action: string,
    ...[options, run]: [{ timeout: false }, Runner<T>] | [Runner<T>]
  ): Promise<T> {
    const runner = run ?? (options as Runner<T>);
    const timeoutMs = run === undefined ? this.#queryTimeoutMs : undefined;
    const result = this.#tail.then(async () => {
      if (this.#closed) {
        throw new Error(`Cannot ${action} on database ${this.display}: its session has ended`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const running = runner(this.#sql);
        if (timeoutMs === undefined) return await running;
        const timedOut = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            reject(new Error(`no answer within ${timeoutMs / 1000} s; the session is given up`));
            void this.close();
          }, timeoutMs);
        });
        return await Promise.race([running, timedOut]);
      } catch (error) {
        if (error instanceof DataFileError) throw error;
        throw new Error(
          `Cannot ${action} on database ${this.display}: ${
            redactPassword(errorMessage(error), this.#password)
          }`,
          { cause: error },
        );
      } finally {
        clearTimeout(timer);
      }
    });
    this.#tail = result.catch(() => {});
    return result;
  }
}

/** What {@linkcode PostgresSession} runs on its connection. */
type Runner<T> = (sql: postgres.Sql) => Promise<T>;

/** The dependency list stored for `name` ("a,b,c"), checked. */
function parseDependencies(name: string, list: string): string[] {
  if (list === "") return [];
  const dependencies = list.split(",");
  for (const dependency of dependencies) {
    if (!isValidName(dependency)) {
      throw new DataFileError(
        `Package '${name}' has a malformed dependency list ${JSON.stringify(list)}`,
      );
    }
  }
  return dependencies;
}
