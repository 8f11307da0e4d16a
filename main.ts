/**
 * pkgindex: a package dependency index server, and its clients, in one program.
 *
 * `deno task start` (or the compiled `pkgindex` binary) runs it; `--help` lists the options. This
 * file only picks the subcommand; each lives in `lib/cli/`.
 *
 * @module
 */

import { BENCH } from "./lib/cli/bench.ts";
import { EXPLAIN } from "./lib/cli/explain.ts";
import { SEND } from "./lib/cli/send.ts";
import { SERVE } from "./lib/cli/serve.ts";
import { STRESS } from "./lib/cli/stress.ts";
import {
  type AnySubcommand,
  PROCESS_IO,
  runSubcommand,
  type SubcommandIo,
} from "./lib/cli/subcommand.ts";

/** Every subcommand, in the order `--help` lists them; the first runs when none is named. */
const SUBCOMMANDS: readonly AnySubcommand[] = [SERVE, SEND, EXPLAIN, STRESS, BENCH];

/**
 * Runs pkgindex with command-line `args` and resolves to the process exit code. The first
 * argument names the subcommand; without one, the server runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "./main.ts";
 *
 * const printed: string[] = [];
 * const io = { env: () => undefined, stdout: (text: string) => printed.push(text), stderr: () => {} };
 * assert.equal(await main(["--version"], io), 0);
 * assert.match(printed.join(""), /^pkgindex \d+\.\d+\.\d+\n$/);
 * ```
 */
export async function main(
  args: readonly string[],
  io: SubcommandIo = PROCESS_IO,
): Promise<number> {
  const named = SUBCOMMANDS.find((subcommand) => subcommand.name === args[0]);
  if (named !== undefined) return await runSubcommand(named, args.slice(1), io);
  const list = SUBCOMMANDS.map((subcommand) =>
    `  ${
      `pkgindex ${subcommand.name} [options] ${subcommand.arguments ?? ""}`.padEnd(40)
    } ${subcommand.summary}`
  );
  return await runSubcommand(SERVE, args, {
    ...io,
    invokedAs: "pkgindex",
    helpFooter: `\nSubcommands (each documents itself: pkgindex <subcommand> --help):\n${
      list.join("\n")
    }\n`,
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
