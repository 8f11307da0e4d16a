/**
 * The answers of the HTTP listener: JSON bodies, JSON errors with a sentence and the right
 * status, and plain text for the endpoints that are not JSON.
 *
 * @module
 */

/** The `Content-Type` of every JSON answer. */
export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/**
 * A request that cannot be answered as asked: thrown by a handler, answered with `status` and
 * `{"error": message}`. The message is one sentence that names the offending value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HttpError } from "./http_responses.ts";
 *
 * const response = new HttpError(404, "The package 'gmp' is not indexed.").response();
 * assert.equal(response.status, 404);
 * assert.deepEqual(await response.json(), { error: "The package 'gmp' is not indexed." });
 * ```
 */
export class HttpError extends Error {
  /** The HTTP status to answer with. */
  readonly status: number;
  /** Headers to answer with besides `Content-Type`, such as `Allow` for a 405. */
  readonly headers: Readonly<Record<string, string>>;

  /** Makes an error answered with `status`, `message` and `headers`. */
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.headers = headers;
  }

  /** The answer: the status, the headers and `{"error": message}`. */
  response(): Response {
    return jsonResponse({ error: this.message }, { status: this.status, headers: this.headers });
  }
}

/**
 * `body` as a JSON answer (one line, with a final `\n` for terminals), status 200 unless `init`
 * says otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonResponse } from "./http_responses.ts";
 *
 * const response = jsonResponse({ name: "gtk+3" });
 * assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
 * assert.equal(await response.text(), '{"name":"gtk+3"}\n');
 * ```
 */
export function jsonResponse(body: unknown, init: ResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  headers.set("content-type", JSON_CONTENT_TYPE);
  return new Response(JSON.stringify(body) + "\n", { ...init, headers });
}

/**
 * `body` as a plain text answer with `status`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { textResponse } from "./http_responses.ts";
 *
 * assert.equal(await textResponse(200, "ok\n").text(), "ok\n");
 * ```
 */
export function textResponse(
  status: number,
  body: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}
