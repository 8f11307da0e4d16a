/**
 * pkgindex: a package dependency index server.
 *
 * `deno task start` (or the compiled `pkgindex` binary) runs it; `--help` lists the options.
 *
 * @module
 */

import {
  parseServeArgs,
  SERVE_ENV_VARIABLES,
  SERVE_USAGE,
  type ServeConfig,
  UsageError,
} from "./lib/cli.ts";
import { createLogger, type Logger } from "./lib/log.ts";
import { openDurableIndex, type OpenedDataFile } from "./lib/durable_index.ts";
import type { SyncMode } from "./lib/sqlite_store.ts";
import { errorMessage } from "./lib/errors.ts";
import { serve, type Server } from "./lib/server.ts";
import { benchCommand } from "./lib/bench_cli.ts";
import { stressCommand } from "./lib/stress_cli.ts";
import { VERSION } from "./lib/version.ts";

/**
 * The subcommands, by name: each takes the arguments after its name and resolves to an exit
 * code. Adding a subcommand is one entry here.
 */
const SUBCOMMANDS = new Map<string, (args: string[]) => Promise<number>>([
  ["serve", serveCommand],
  ["stress", stressCommand],
  ["bench", benchCommand],
]);

/**
 * Runs pkgindex with command-line `args` and resolves to the process exit code: `serve` when the
 * first argument names no subcommand.
 */
export async function main(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  const subcommand = first === undefined ? undefined : SUBCOMMANDS.get(first);
  try {
    return await (subcommand === undefined ? serveCommand(args) : subcommand(rest));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    printError(`${error.message}\nRun 'pkgindex --help' for usage.`);
    return 2;
  }
}

async function serveCommand(args: string[]): Promise<number> {
  const command = parseServeArgs(args, readEnv);
  if (command.kind === "help") return print(SERVE_USAGE);
  if (command.kind === "version") return print(`pkgindex ${VERSION}`);
  return await runServer(command.config);
}

async function runServer(config: ServeConfig): Promise<number> {
  const logger = createLogger({ level: config.logLevel });
  let dataFile: OpenedDataFile | undefined;
  let server: Server;
  try {
    if (config.data !== undefined) dataFile = loadDataFile(config.data, config.sync, logger);
    server = serve({
      hostname: config.hostname,
      port: config.port,
      maxLineBytes: config.maxLineBytes,
      maxConnections: config.maxConnections,
      idleTimeout: config.idleTimeout,
      logger,
      ...(dataFile === undefined ? {} : { index: dataFile.durable }),
    });
  } catch (error) {
    dataFile?.store.close();
    logger.error(errorMessage(error));
    return 1;
  }
  logger.info(
    `pkgindex ${VERSION} listening on ${server.addr.hostname}:${server.addr.port} ` +
      `(max-line-bytes=${config.maxLineBytes} max-connections=${config.maxConnections} ` +
      `idle-timeout=${config.idleTimeout}s ` +
      (config.data === undefined ? "memory only)" : `data=${config.data} sync=${config.sync})`),
  );
  const signal = await waitForSignal(["SIGINT", "SIGTERM"]);
  logger.info(`Received ${signal}; shutting down`);
  await server.shutdown();
  if (dataFile !== undefined) {
    dataFile.durable.flush();
    dataFile.store.close();
    logger.info(`Closed data file ${config.data}`);
  }
  logger.info(`Stopped. ${server.stats.summary()}`);
  return 0;
}

function loadDataFile(path: string, sync: SyncMode, logger: Logger): OpenedDataFile {
  const started = performance.now();
  const dataFile = openDurableIndex(path, { sync, logger });
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  logger.info(
    `Loaded ${dataFile.index.size} packages and ${dataFile.index.edgeCount} dependency edges ` +
      `from ${path} in ${seconds} s`,
  );
  return dataFile;
}

function waitForSignal(signals: Deno.Signal[]): Promise<Deno.Signal> {
  return new Promise((resolve) => {
    const handlers = signals.map((signal) => {
      const handler = () => {
        for (const [i, other] of signals.entries()) Deno.removeSignalListener(other, handlers[i]!);
        resolve(signal);
      };
      Deno.addSignalListener(signal, handler);
      return handler;
    });
  });
}

/**
 * Reads one of the variables pkgindex documents. Runs are granted access to exactly those; a run
 * without that permission (a bare `deno run --allow-net main.ts`) sees none instead of failing.
 */
function readEnv(name: string): string | undefined {
  const known = Object.values(SERVE_ENV_VARIABLES).some((variable) => variable === name);
  if (!known) return undefined;
  const permission = Deno.permissions.querySync({ name: "env", variable: name });
  return permission.state === "granted" ? Deno.env.get(name) : undefined;
}

function print(text: string): number {
  // deno-lint-ignore no-console
  console.log(text);
  return 0;
}

function printError(text: string): void {
  // deno-lint-ignore no-console
  console.error(text);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
