/**
 * A free TCP port, for a program that must be told its port before it starts.
 *
 * @module
 */

/**
 * A port of 127.0.0.1 that was free a moment ago: another process may take it before it is used,
 * so prefer `--port 0` wherever the program reports the port it got.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { freePort } from "./free_port.ts";
 *
 * const port = freePort();
 * assert.ok(port > 0 && port < 65536);
 * ```
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}
