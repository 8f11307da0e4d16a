/**
 * `pkgindex stress`: checks a running server the way the official harness does. The test itself
 * is in `tools/stress_clients.ts`; this is its command line, live status and summary.
 *
 * @module
 */

import {
  describePackageSource,
  loadPackages,
  type PackageSource,
} from "../tools/package_source.ts";
import { StatusLine } from "../tools/status_line.ts";
import { type PhaseStatus, runStress } from "../tools/stress_clients.ts";
import { errorMessage } from "../util/errors.ts";
import { writeText } from "../util/io.ts";
import { formatHostPort } from "../util/net.ts";
import { PACKAGE_FLAGS, packageSourceOf, TARGET_FLAGS } from "./client_flags.ts";
import { integerFlag, secondsFlag, switchFlag } from "./flags.ts";
import type { Subcommand } from "./subcommand.ts";

/** Everything `pkgindex stress` needs, after defaults and validation. */
export interface StressConfig {
  /** The server's host. */
  hostname: string;
  /** The server's port. */
  port: number;
  /** Concurrent clients. */
  concurrency: number;
  /** The run's seed. */
  seed: number;
  /** Percent chance of a broken message before each INDEX. */
  unluckiness: number;
  /** Whether broken messages include those only pkgindex's own rules reject. */
  strict: boolean;
  /** Seconds before the run fails. */
  timeout: number;
  /** Where the packages come from. */
  source: PackageSource;
  /** Whether to avoid the live status line. */
  quiet: boolean;
}

/** The flags of `pkgindex stress`. */
export const STRESS_FLAGS = {
  ...TARGET_FLAGS,
  concurrency: integerFlag({
    valueName: "N",
    help: "concurrent clients",
    default: 10,
    min: 1,
    max: 10000,
  }),
  seed: integerFlag({
    valueName: "N",
    help: "seed of the package order and broken messages",
    default: 1,
    min: 0,
    max: 0xffffffff,
  }),
  unluckiness: integerFlag({
    valueName: "P",
    help: "percent chance of a broken message before each INDEX",
    default: 5,
    min: 0,
    max: 100,
  }),
  strict: switchFlag({
    help: "also send broken messages that only pkgindex's own rules reject, not the protocol: " +
      "non-ASCII names, empty entries in a dependency list, names over 255 bytes",
  }),
  timeout: secondsFlag({
    valueName: "SECONDS",
    help: "fail the run if it has not finished by then",
    default: 120,
    max: 86400,
    positive: true,
  }),
  ...PACKAGE_FLAGS,
  quiet: switchFlag({ help: "no live status line, only plain log lines" }),
} as const;

/**
 * `pkgindex stress`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommandLine } from "./subcommand.ts";
 * import { STRESS } from "./stress.ts";
 *
 * const commandLine = parseCommandLine(STRESS, ["--concurrency", "100"], () => undefined);
 * assert.equal(commandLine.kind === "run" && commandLine.config.concurrency, 100);
 * ```
 */
export const STRESS: Subcommand<typeof STRESS_FLAGS, StressConfig> = {
  name: "stress",
  summary: "check a server with the official harness's scenario",
  description: `Checks a running server the way the official harness does: concurrent clients
remove, index, query, remove and query every package, one message at a time,
and every reply is checked. Packages default to 1000 synthetic ones. Broken
messages are only those every correct server rejects (an unknown command, a
line of two fields), unless --strict adds pkgindex's own stricter rules.`,
  flags: STRESS_FLAGS,
  notes: "Exit codes: 0 when everything passed, 1 otherwise, 2 on a usage error.",
  configure: (values) => ({
    hostname: values.host,
    port: values.port,
    concurrency: values.concurrency,
    seed: values.seed,
    unluckiness: values.unluckiness,
    strict: values.strict,
    timeout: values.timeout,
    source: packageSourceOf(values, { count: 1000, seed: values.seed }),
    quiet: values.quiet,
  }),
  run: runStressCommand,
};

async function runStressCommand(config: StressConfig): Promise<number> {
  const printError = (text: string) => writeText(Deno.stderr, text);
  let packages;
  try {
    packages = await loadPackages(config.source);
  } catch (error) {
    printError(`${errorMessage(error)}\n`);
    return 1;
  }
  printError(
    `Stressing ${
      formatHostPort(config.hostname, config.port)
    } with ${packages.length} packages from ${
      describePackageSource(config.source)
    }, ${config.concurrency} clients, seed ${config.seed}, unluckiness ${config.unluckiness}%${
      config.strict ? ", strict" : ""
    }\n`,
  );
  const statusLine = new StatusLine({
    write: printError,
    live: !config.quiet && Deno.stderr.isTerminal(),
  });
  let result;
  try {
    result = await runStress({
      hostname: config.hostname,
      port: config.port,
      packages,
      concurrency: config.concurrency,
      seed: config.seed,
      unluckiness: config.unluckiness,
      strict: config.strict,
      timeoutMs: config.timeout * 1000,
      onPhaseStart: (status) => statusLine.start(status),
      onPhaseEnd: (status) => statusLine.end(status),
    });
  } catch (error) {
    printError(`${errorMessage(error)}\n`);
    return 1;
  }
  writeText(Deno.stdout, formatSummary(result.phases));
  if (!result.passed) {
    printError(`FAILED: ${result.failure}\n`);
    return 1;
  }
  writeText(Deno.stdout, "PASSED\n");
  return 0;
}

/**
 * The per-phase timing table printed at the end of a run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSummary } from "./stress.ts";
 *
 * const table = formatSummary([
 *   { name: "index", total: 10, done: 10, requests: 20, startedAt: 0, endedAt: 500 },
 * ]);
 * assert.equal(table.split("\n")[1], "index                    10/10        20    0.500       40");
 * ```
 */
export function formatSummary(phases: readonly PhaseStatus[]): string {
  const rows = phases.map((phase) => {
    const seconds = ((phase.endedAt ?? performance.now()) - phase.startedAt) / 1000;
    const rate = seconds > 0 ? Math.round(phase.requests / seconds) : 0;
    return `${phase.name.padEnd(14)} ${`${phase.done}/${phase.total}`.padStart(15)} ${
      String(phase.requests).padStart(9)
    } ${seconds.toFixed(3).padStart(8)} ${String(rate).padStart(8)}`;
  });
  const header = `${"phase".padEnd(14)} ${"packages".padStart(15)} ${"requests".padStart(9)} ${
    "seconds".padStart(8)
  } ${"req/s".padStart(8)}`;
  return [header, ...rows].join("\n") + "\n";
}
