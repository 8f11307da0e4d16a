/**
 * How a benchmark script ends when it fails.
 *
 * @module
 */

/**
 * Runs a benchmark's `main`. When it throws (a missing packages file, a server that would not
 * start), prints the error's message, one sentence rather than a stack trace, to standard error
 * and exits with code 1.
 *
 * @example
 * ```ts
 * import { runOrExit } from "./run_or_exit.ts";
 *
 * await runOrExit(async () => {});
 * ```
 */
export async function runOrExit(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    // deno-lint-ignore no-console
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(1);
  }
}
