/**
 * The flag that the server and its HTTP clients share: the bearer token of the inspection API,
 * which only the environment may set.
 *
 * @module
 */

import { type Flag, textFlag } from "./flags.ts";

/**
 * `PKGINDEX_HTTP_TOKEN`: the token `/v1/` requires as `Authorization: Bearer <token>`. Only the
 * environment sets it: every user of the machine can read a command line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HTTP_TOKEN_FLAG } from "./http_flags.ts";
 *
 * assert.equal(HTTP_TOKEN_FLAG.env, "PKGINDEX_HTTP_TOKEN");
 * assert.equal(HTTP_TOKEN_FLAG.environmentOnly, true);
 * ```
 */
export const HTTP_TOKEN_FLAG: Flag<string | undefined> = textFlag({
  valueName: "TOKEN",
  help: "the bearer token that /v1/ requires, as 'Authorization: Bearer TOKEN'",
  env: "PKGINDEX_HTTP_TOKEN",
  environmentOnly: true,
  default: undefined,
  expected: "a token",
});
