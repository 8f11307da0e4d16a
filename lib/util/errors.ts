/**
 * The message of anything thrown, for a log line or a one-sentence error report.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorMessage } from "./errors.ts";
 *
 * assert.equal(errorMessage(new Error("disk full")), "disk full");
 * assert.equal(errorMessage("plain"), "plain");
 * ```
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
