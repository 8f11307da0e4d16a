/**
 * A count with its noun, singular or plural as the count needs, for log lines ("1 package",
 * "2 packages").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { plural } from "./plural.ts";
 *
 * assert.equal(plural(1, "dependency edge"), "1 dependency edge");
 * assert.equal(plural(0, "package"), "0 packages");
 * ```
 */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
