/**
 * pkgindex: a package dependency index server.
 *
 * `deno task start` (or the compiled `pkgindex` binary) runs it; `--help` lists the options.
 *
 * @module
 */

import {
  parseSendArgs,
  parseServeArgs,
  SEND_USAGE,
  SERVE_ENV_VARIABLES,
  SERVE_USAGE,
  type ServeConfig,
  UsageError,
} from "./lib/cli.ts";
import { benchCommand } from "./lib/bench_cli.ts";
import { readMessages, send } from "./lib/client.ts";
import { openDurableIndex, type OpenedDataFile } from "./lib/durable_index.ts";
import { errorMessage } from "./lib/errors.ts";
import { createLogger, type Logger } from "./lib/log.ts";
import { renderMetrics } from "./lib/metrics.ts";
import { serveMetrics } from "./lib/metrics_server.ts";
import { PackageIndex } from "./lib/package_index.ts";
import { serve, type Server } from "./lib/server.ts";
import type { SyncMode } from "./lib/sqlite_store.ts";
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
  ["send", sendCommand],
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
    const help = subcommand === undefined ? "pkgindex --help" : `pkgindex ${first} --help`;
    printError(`${error.message}\nRun '${help}' for usage.`);
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
  let server: Server | undefined;
  let metrics: Deno.HttpServer<Deno.NetAddr> | undefined;
  let stopping = false;
  try {
    if (config.data !== undefined) dataFile = loadDataFile(config.data, config.sync, logger);
    const index = dataFile?.index ?? new PackageIndex();
    server = serve({
      hostname: config.hostname,
      port: config.port,
      maxLineBytes: config.maxLineBytes,
      maxConnections: config.maxConnections,
      idleTimeout: config.idleTimeout,
      logger,
      index: dataFile?.durable ?? index,
    });
    const stats = server.stats;
    const commits = dataFile?.durable.commitStats;
    if (config.metricsPort !== undefined) {
      metrics = serveMetrics({
        hostname: config.hostname,
        port: config.metricsPort,
        render: () =>
          renderMetrics({ stats, index, ...(commits === undefined ? {} : { commits }) }),
        healthy: () => !stopping,
      });
    }
  } catch (error) {
    logger.error(errorMessage(error));
    await server?.shutdown();
    dataFile?.store.close();
    return 1;
  }
  logger.info(
    `pkgindex ${VERSION} listening on ${server.addr.hostname}:${server.addr.port} ` +
      `(max-line-bytes=${config.maxLineBytes} max-connections=${config.maxConnections} ` +
      `idle-timeout=${config.idleTimeout}s ` +
      (config.data === undefined ? "memory only)" : `data=${config.data} sync=${config.sync})`),
  );
  if (metrics !== undefined) {
    logger.info(`Serving /metrics and /healthz on ${metrics.addr.hostname}:${metrics.addr.port}`);
  }
  const signal = await waitForSignal(["SIGINT", "SIGTERM"]);
  logger.info(`Received ${signal}; shutting down`);
  // /healthz answers 503 from here on, while the connections drain.
  stopping = true;
  await server.shutdown();
  await metrics?.shutdown();
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
  // Loading leaves garbage about twice the size of the index; V8 would keep that memory committed
  // until allocation pressure triggers a full collection, which an idle server never creates. The
  // start and compile tasks pass --expose-gc for this one call.
  (globalThis as { gc?: () => void }).gc?.();
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  logger.info(
    `Loaded ${dataFile.index.size} packages and ${dataFile.index.edgeCount} dependency edges ` +
      `from ${path} in ${seconds} s`,
  );
  return dataFile;
}

/** Sends request lines from the arguments or standard input and prints the replies. */
async function sendCommand(args: string[]): Promise<number> {
  const command = parseSendArgs(args, readEnv);
  if (command.kind === "help") return print(SEND_USAGE);
  const { hostname, port, messages } = command.config;
  try {
    const batches = messages.length > 0 ? [messages] : readMessages(Deno.stdin);
    for await (const replies of send(batches, { hostname, port })) print(replies.join("\n"));
  } catch (error) {
    printError(errorMessage(error));
    return 1;
  }
  return 0;
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
