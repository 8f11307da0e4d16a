/**
 * Reading a request body that may be hostile: bounded in size and in time, so that neither a
 * huge body nor a slow one can hold memory or a handler.
 *
 * @module
 */

import { HttpError } from "./http_responses.ts";

/** Limits for {@linkcode readBody}. */
export interface BodyLimits {
  /** The largest body accepted, in bytes; a larger one is answered 413. */
  maxBytes: number;
  /** How long the whole body may take to arrive, in milliseconds; a slower one is answered 408. */
  timeoutMs: number;
}

/**
 * The body of `request`, read with `limits`. Throws an {@linkcode HttpError}: 413 as soon as the
 * body is known to be too large (from `Content-Length`, before reading anything, or once the
 * bytes read pass the limit), 408 when it does not arrive in time. Stops reading either way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readBody } from "./request_body.ts";
 *
 * const limits = { maxBytes: 16, timeoutMs: 1000 };
 * const small = new Request("http://localhost/", { method: "POST", body: "QUERY|gmp|" });
 * assert.equal(new TextDecoder().decode(await readBody(small, limits)), "QUERY|gmp|");
 * const large = new Request("http://localhost/", { method: "POST", body: "x".repeat(17) });
 * await assert.rejects(readBody(large, limits), { status: 413 });
 * ```
 */
export async function readBody(request: Request, limits: BodyLimits): Promise<Uint8Array> {
  const { maxBytes, timeoutMs } = limits;
  const tooLarge = () =>
    new HttpError(413, `The body is larger than ${maxBytes} bytes; send one protocol line.`);
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > maxBytes) throw tooLarge();
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, timeoutMs);
  const body = new Uint8Array(maxBytes);
  let length = 0;
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (timedOut) {
        throw new HttpError(408, `The body did not arrive within ${timeoutMs / 1000} seconds.`);
      }
      if (done) return body.subarray(0, length);
      if (length + value.length > maxBytes) {
        reader.cancel().catch(() => {});
        throw tooLarge();
      }
      body.set(value, length);
      length += value.length;
    }
  } finally {
    clearTimeout(timer);
  }
}
