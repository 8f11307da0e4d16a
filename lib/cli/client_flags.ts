/**
 * Flags shared by the subcommands that talk to a server: where it is, and which packages to
 * send it.
 *
 * @module
 */

import { SERVE_DEFAULTS } from "../server/server.ts";
import type { PackageSource } from "../tools/package_source.ts";
import { integerFlag, textFlag, UsageError } from "./flags.ts";

/** `--host` and `--port` of a client: the local server by default, on the server's port setting. */
export const TARGET_FLAGS = {
  host: textFlag({
    valueName: "HOST",
    help: "server to connect to",
    default: "127.0.0.1",
    expected: "a host name or address",
  }),
  port: integerFlag({
    valueName: "PORT",
    help: "server's TCP port",
    env: "PKGINDEX_PORT",
    default: SERVE_DEFAULTS.port,
    min: 1,
    max: 65535,
  }),
} as const;

/** `--packages FILE` or `--synthetic N`: the packages a load tool sends. */
export const PACKAGE_FLAGS = {
  packages: textFlag({
    valueName: "FILE",
    help: "packages in 'name: dep dep' lines, such as brew-dependencies.txt",
    default: undefined,
    expected: "a file",
  }),
  synthetic: integerFlag({
    valueName: "N",
    help: "N seeded synthetic packages instead",
    default: undefined,
    min: 1,
    max: 10_000_000,
  }),
} as const;

/**
 * The package source that `--packages` or `--synthetic` (at most one of them) chose, or
 * `count` synthetic packages from `seed` when neither was given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { packageSourceOf } from "./client_flags.ts";
 *
 * assert.deepEqual(packageSourceOf({ packages: undefined, synthetic: 50 }, { count: 1000, seed: 3 }), {
 *   kind: "synthetic",
 *   count: 50,
 *   seed: 3,
 * });
 * ```
 */
export function packageSourceOf(
  values: { packages: string | undefined; synthetic: number | undefined },
  fallback: { count: number; seed: number },
): PackageSource {
  if (values.packages !== undefined && values.synthetic !== undefined) {
    throw new UsageError(
      `Cannot use --packages '${values.packages}' and --synthetic '${values.synthetic}' together: pick one`,
    );
  }
  if (values.packages !== undefined) return { kind: "file", path: values.packages };
  return { kind: "synthetic", count: values.synthetic ?? fallback.count, seed: fallback.seed };
}
