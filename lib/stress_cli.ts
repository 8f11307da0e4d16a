/**
 * Command-line layer of `pkgindex stress`: flags, progress display and the summary. The test
 * itself is in `stress.ts`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseInteger, parseSeconds, UsageError, withUsageErrors } from "./cli.ts";
import {
  describePackageSource,
  loadPackages,
  PACKAGE_SOURCE_OPTIONS,
  type PackageSource,
  parsePackageSource,
} from "./package_source.ts";
import { ProgressReporter } from "./progress.ts";
import { errorMessage } from "./errors.ts";
import { type PhaseStatus, runStress } from "./stress.ts";

/** The usage text of `pkgindex stress`. */
export const STRESS_USAGE = `Usage: pkgindex stress [options]

Checks a running server the way the official harness does: concurrent clients
remove, index, query, remove and query every package, one message at a time,
and every reply is checked. Exits 0 when everything passed, 1 otherwise.

Options:
  --host HOST          server address (default 127.0.0.1)
  --port PORT          server port (default 8080)
  --concurrency N      concurrent clients, 1 to 10000 (default 10)
  --seed N             seed of the package order and broken messages (default 1)
  --unluckiness P      percent chance of a broken message before each INDEX (default 5)
  --timeout SECONDS    fail the run if it has not finished by then (default 120)
  --packages FILE      packages in 'name: dep dep' lines, such as brew-dependencies.txt
  --synthetic N        N seeded synthetic packages instead (default 1000)
  --quiet              no live progress line, only plain log lines
  -h, --help           print this help and exit`;

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
  /** Seconds before the run fails. */
  timeout: number;
  /** Where the packages come from. */
  source: PackageSource;
  /** Whether to avoid the live progress line. */
  quiet: boolean;
}

/**
 * Parses the arguments of `pkgindex stress`; `undefined` means help was asked for. Throws
 * {@linkcode UsageError} for an unknown flag or an invalid value.
 *
 * @example
 * ```ts
 * import { parseStressArgs } from "./stress_cli.ts";
 *
 * parseStressArgs(["--concurrency", "100", "--seed", "7"])?.concurrency; // 100
 * ```
 */
export function parseStressArgs(args: string[]): StressConfig | undefined {
  const { values } = withUsageErrors(() =>
    parseArgs({
      args,
      strict: true,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        concurrency: { type: "string" },
        seed: { type: "string" },
        unluckiness: { type: "string" },
        timeout: { type: "string" },
        ...PACKAGE_SOURCE_OPTIONS,
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    })
  );
  if (values.help) return undefined;
  const flag = (name: keyof typeof values) => {
    const value = values[name];
    return typeof value === "string" ? { source: `--${name}`, value } : undefined;
  };
  if (values.host === "") throw new UsageError("Cannot use --host '': expected a host name");
  const seed = parseInteger(flag("seed"), { min: 0, max: 0xffffffff }) ?? 1;
  const timeout = parseSeconds(flag("timeout")) ?? 120;
  if (timeout === 0) throw new UsageError("Cannot use --timeout '0': expected more than 0 seconds");
  return {
    hostname: values.host ?? "127.0.0.1",
    port: parseInteger(flag("port"), { min: 1, max: 65535 }) ?? 8080,
    concurrency: parseInteger(flag("concurrency"), { min: 1, max: 10000 }) ?? 10,
    seed,
    unluckiness: parseInteger(flag("unluckiness"), { min: 0, max: 100 }) ?? 5,
    timeout,
    source: parsePackageSource({ ...values, seed }, { kind: "synthetic", count: 1000, seed }),
    quiet: values.quiet ?? false,
  };
}

/**
 * Runs `pkgindex stress` with the arguments after `stress` and resolves to the exit code: 0 when
 * every check passed, 1 when one failed or the packages cannot be read. Usage errors throw
 * {@linkcode UsageError}.
 */
export async function stressCommand(args: string[]): Promise<number> {
  const config = parseStressArgs(args);
  if (config === undefined) {
    writeOut(STRESS_USAGE + "\n");
    return 0;
  }
  let packages;
  try {
    packages = await loadPackages(config.source);
  } catch (error) {
    writeErr(`${errorMessage(error)}\n`);
    return 1;
  }
  writeErr(
    `Stressing ${config.hostname}:${config.port} with ${packages.length} packages from ${
      describePackageSource(config.source)
    }, ${config.concurrency} clients, seed ${config.seed}, unluckiness ${config.unluckiness}%\n`,
  );
  const reporter = new ProgressReporter({
    write: writeErr,
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
      timeoutMs: config.timeout * 1000,
      onPhaseStart: (status) => reporter.start(status),
      onPhaseEnd: (status) => reporter.end(status),
    });
  } catch (error) {
    writeErr(`${errorMessage(error)}\n`);
    return 1;
  }
  writeOut(formatSummary(result.phases));
  if (!result.passed) {
    writeErr(`FAILED: ${result.failure}\n`);
    return 1;
  }
  writeOut("PASSED\n");
  return 0;
}

/** The per-phase timing table printed at the end of a run. */
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

const encoder = new TextEncoder();

function writeOut(text: string): void {
  writeAllSync(Deno.stdout, encoder.encode(text));
}

function writeErr(text: string): void {
  writeAllSync(Deno.stderr, encoder.encode(text));
}

function writeAllSync(target: { writeSync(bytes: Uint8Array): number }, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += target.writeSync(bytes.subarray(written));
}
