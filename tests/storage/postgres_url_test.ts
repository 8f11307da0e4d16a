import assert from "node:assert/strict";
import {
  isPostgresUrl,
  maskUrlPassword,
  parsePostgresUrl,
} from "../../lib/storage/postgres_url.ts";

Deno.test("isPostgresUrl takes postgres:// and postgresql:// URLs; anything else is a file path", () => {
  assert.equal(isPostgresUrl("postgresql://app@db/index"), true);
  assert.equal(isPostgresUrl("POSTGRES://app@db/index"), true);
  assert.equal(isPostgresUrl("postgres.db"), false);
  assert.equal(isPostgresUrl("./postgres://x"), false);
});

Deno.test("parsePostgresUrl decodes percent-encoded parts and keeps the password out of display", () => {
  const target = parsePostgresUrl("postgresql://app%40corp:p%40ss%3Aw0rd@[::1]:6543/my%20db");
  assert.deepEqual(target, {
    host: "::1",
    port: 6543,
    database: "my db",
    user: "app@corp",
    password: "p@ss:w0rd",
    display: "postgres://app%40corp:***@[::1]:6543/my%20db",
  });
});

Deno.test("parsePostgresUrl takes the password from PGPASSWORD only when the URL has none", () => {
  assert.equal(parsePostgresUrl("postgres://app@db/index", "fromenv").password, "fromenv");
  assert.equal(parsePostgresUrl("postgres://app:url@db/index", "fromenv").password, "url");
  const noPassword = parsePostgresUrl("postgres://app@db/index");
  assert.equal(noPassword.password, "");
  assert.equal(noPassword.display, "postgres://app@db/index");
});

Deno.test("parsePostgresUrl refuses a URL without host, user or database, or with a query, masked", () => {
  assert.throws(
    () => parsePostgresUrl("postgres://app:secret@db"),
    /^Error: Cannot use the database URL 'postgres:\/\/app:\*\*\*@db\/': it names no database/,
  );
  assert.throws(() => parsePostgresUrl("postgres://db/index"), /it names no user$/);
  assert.throws(
    () => parsePostgresUrl("postgres://app:secret@db/index?sslmode=require"),
    /^Error: Cannot use the database URL 'postgres:\/\/app:\*\*\*@db\/index': it has a query/,
  );
  assert.throws(
    () => parsePostgresUrl("postgres://app:sec ret@[db/index"),
    /^Error: Cannot parse the database URL 'postgres:\/\/app:\*\*\*@\[db\/index'/,
  );
});

Deno.test("maskUrlPassword masks a password that holds '@' or spaces up to the last '@'", () => {
  assert.equal(maskUrlPassword("postgres://a:x@y z@h/d"), "postgres://a:***@h/d");
  assert.equal(maskUrlPassword("postgres://a@h/d"), "postgres://a@h/d");
});
