/**
 * Who may use the inspection API: anyone on a loopback address, and with a token set (required
 * on any other address), only clients that send it as `Authorization: Bearer <token>`.
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Whether `hostname` (an address the listener is bound to) can only be reached from this
 * machine: `127.0.0.0/8`, `::1`, or `localhost`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isLoopback } from "./bearer_token.ts";
 *
 * assert.equal(isLoopback("127.0.0.1"), true);
 * assert.equal(isLoopback("::1"), true);
 * assert.equal(isLoopback("0.0.0.0"), false);
 * assert.equal(isLoopback("10.0.0.7"), false);
 * ```
 */
export function isLoopback(hostname: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname === "::1" || hostname === "localhost";
}

/**
 * Whether `request` carries `Authorization: Bearer <token>` with exactly `token`. The comparison
 * takes the same time whatever the request sends, so that timing it reveals nothing of the
 * token: it depends only on the token's own length.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hasBearerToken } from "./bearer_token.ts";
 *
 * const request = (authorization: string) =>
 *   new Request("http://localhost/v1/info", { headers: { authorization } });
 * assert.equal(hasBearerToken(request("Bearer s3cret-token"), "s3cret-token"), true);
 * assert.equal(hasBearerToken(request("Bearer s3cret-tokeN"), "s3cret-token"), false);
 * assert.equal(hasBearerToken(request("Bearer s3cret"), "s3cret-token"), false);
 * assert.equal(hasBearerToken(request("Basic s3cret-token"), "s3cret-token"), false);
 * ```
 */
export function hasBearerToken(request: Request, token: string): boolean {
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  const given = encoder.encode(match?.[1] ?? "");
  const expected = encoder.encode(token);
  let difference = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) difference |= expected[i]! ^ (given[i] ?? 0);
  return match !== null && difference === 0;
}

/**
 * Who may use the inspection API of a listener bound to `hostname`: `token` holders when a token
 * is set, anyone when none is set on a loopback address, and nobody (every request is answered
 * 401) when none is set on any other address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inspectionAccess } from "./bearer_token.ts";
 *
 * assert.equal(inspectionAccess("127.0.0.1", undefined), "open");
 * assert.equal(inspectionAccess("0.0.0.0", undefined), "closed");
 * assert.equal(inspectionAccess("0.0.0.0", "s3cret-token"), "token");
 * assert.equal(inspectionAccess("127.0.0.1", "s3cret-token"), "token");
 * ```
 */
export function inspectionAccess(
  hostname: string,
  token: string | undefined,
): "open" | "token" | "closed" {
  if (token !== undefined) return "token";
  return isLoopback(hostname) ? "open" : "closed";
}
