/**
 * `--data` values that name a PostgreSQL database instead of a SQLite file, and how they are shown
 * without their password.
 *
 * @module
 */

/** Where a PostgreSQL database is, and who connects to it. */
export interface PostgresTarget {
  /** The host name or address. */
  host: string;
  /** The TCP port. */
  port: number;
  /** The database name. */
  database: string;
  /** The user to connect as. */
  user: string;
  /** The password, from the URL or `PGPASSWORD`; empty when there is none. */
  password: string;
  /** The URL with the password replaced by `***`, safe for logs, `/v1/info` and errors. */
  display: string;
}

/**
 * Whether `data` names a PostgreSQL database (`postgres://` or `postgresql://`) rather than a
 * SQLite file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPostgresUrl } from "./postgres_url.ts";
 *
 * assert.equal(isPostgresUrl("postgres://pkgindex@db:5432/pkgindex"), true);
 * assert.equal(isPostgresUrl("/var/lib/pkgindex/index.db"), false);
 * ```
 */
export function isPostgresUrl(data: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(data);
}

/**
 * Parses `postgres://user[:password]@host[:port]/database`. The password comes from the URL, or
 * else from `passwordFromEnvironment` (`PGPASSWORD`). Throws a sentence that shows the URL only
 * masked when it cannot be parsed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePostgresUrl } from "./postgres_url.ts";
 *
 * const target = parsePostgresUrl("postgres://app:s3cret@db.internal:6432/index");
 * assert.equal(target.password, "s3cret");
 * assert.equal(target.display, "postgres://app:***@db.internal:6432/index");
 * assert.equal(parsePostgresUrl("postgres://app@db/index", "fromenv").port, 5432);
 * ```
 */
export function parsePostgresUrl(data: string, passwordFromEnvironment?: string): PostgresTarget {
  let url: URL;
  try {
    url = new URL(data);
  } catch {
    throw new Error(
      `Cannot parse the database URL '${maskUrlPassword(data)}': expected ` +
        "postgres://user[:password]@host[:port]/database",
    );
  }
  const database = decodeURIComponent(url.pathname.slice(1));
  const user = decodeURIComponent(url.username);
  const problem = url.hostname === ""
    ? "it names no host"
    : database === "" || database.includes("/")
    ? "it names no database (or more than a database name after the host)"
    : user === ""
    ? "it names no user"
    : url.search !== "" || url.hash !== ""
    ? "it has a query or fragment, which pkgindex does not read"
    : undefined;
  const password = url.password === ""
    ? passwordFromEnvironment ?? ""
    : decodeURIComponent(url.password);
  const port = url.port === "" ? 5432 : Number(url.port);
  const display = `postgres://${url.username}${password === "" ? "" : ":***"}@${url.host}/${
    url.pathname.slice(1)
  }`;
  if (problem !== undefined) {
    throw new Error(`Cannot use the database URL '${display}': ${problem}`);
  }
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port,
    database,
    user,
    password,
    display,
  };
}

/**
 * `url` with its password replaced by `***`, also when it cannot be parsed: everything between
 * the user's `:` and the last `@` goes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskUrlPassword } from "./postgres_url.ts";
 *
 * assert.equal(maskUrlPassword("postgres://a:b@c/d"), "postgres://a:***@c/d");
 * assert.equal(maskUrlPassword("postgres://a:b c@d@[e/f"), "postgres://a:***@[e/f");
 * assert.equal(maskUrlPassword("postgres://a@c/d"), "postgres://a@c/d");
 * ```
 */
export function maskUrlPassword(url: string): string {
  return url.replace(/^([^:]*:\/\/[^:/@]*):.*@/s, "$1:***@");
}

/**
 * `message` with every occurrence of `password` replaced by `***`: for error text that comes from
 * the database client, which might quote what it was given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactPassword } from "./postgres_url.ts";
 *
 * assert.equal(redactPassword("login with 'hunter2' failed", "hunter2"), "login with '***' failed");
 * assert.equal(redactPassword("no password", ""), "no password");
 * ```
 */
export function redactPassword(message: string, password: string): string {
  return password === "" ? message : message.replaceAll(password, "***");
}
