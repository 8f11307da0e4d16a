/**
 * Network addresses, the same way everywhere: `host:port` with an IPv6 host in brackets, and
 * binding a TCP port with an error that names the address.
 *
 * @module
 */

import { errorMessage } from "./errors.ts";

/**
 * `hostname:port`, with an IPv6 address in brackets (`[::1]:8081`) so that the port cannot be
 * read as part of the address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatHostPort } from "./net.ts";
 *
 * assert.equal(formatHostPort("127.0.0.1", 8080), "127.0.0.1:8080");
 * assert.equal(formatHostPort("::1", 8081), "[::1]:8081");
 * ```
 */
export function formatHostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/**
 * Binds a TCP port and returns its listener. Throws an error naming the address when it cannot,
 * such as `Cannot listen on 127.0.0.1:8080: Address already in use (os error 98)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listenTcp } from "./net.ts";
 *
 * const listener = listenTcp("127.0.0.1", 0);
 * assert.throws(() => listenTcp("127.0.0.1", listener.addr.port), /^Error: Cannot listen on 127\.0\.0\.1:\d+: /);
 * listener.close();
 * ```
 */
export function listenTcp(hostname: string, port: number): Deno.TcpListener {
  try {
    return Deno.listen({ hostname, port, transport: "tcp" });
  } catch (error) {
    throw new Error(`Cannot listen on ${formatHostPort(hostname, port)}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}
