/**
 * `pkgindex serve`: runs the server until SIGINT or SIGTERM, with an optional data file and an
 * optional HTTP listener for metrics, health and the inspection API.
 *
 * @module
 */

import { PackageIndex } from "../index/package_index.ts";
import { inspectionAccess } from "../ops/bearer_token.ts";
import { renderMetrics } from "../ops/metrics.ts";
import { serveHttp } from "../ops/http_server.ts";
import { createInspectionApi, type InspectionHandler } from "../ops/inspection_api.ts";
import { serve, SERVE_DEFAULTS, type Server } from "../server/server.ts";
import {
  openDurableIndex,
  type OpenDurableIndexOptions,
  type OpenedDataFile,
} from "../storage/durable_index.ts";
import { SYNC_MODES, type SyncMode } from "../storage/sqlite_store.ts";
import { isPostgresUrl, parsePostgresUrl } from "../storage/postgres_url.ts";
import {
  DEFAULT_LEASE,
  liveIndex,
  MAX_LEASE,
  Replication,
  type ReplicationOptions,
} from "../storage/replication.ts";
import { errorMessage } from "../util/errors.ts";
import {
  createLogger,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type Logger,
  type LogLevel,
} from "../util/log.ts";
import { formatHostPort, listenTcp } from "../util/net.ts";
import { plural } from "../util/plural.ts";
import { VERSION } from "../util/version.ts";
import {
  choiceFlag,
  environmentVariables,
  type FlagValues,
  integerFlag,
  secondsFlag,
  switchFlag,
  textFlag,
  UsageError,
} from "./flags.ts";
import { HTTP_TOKEN_FLAG } from "./http_flags.ts";
import { ServeLifecycle } from "./serve_lifecycle.ts";
import type { CommandLineContext, Subcommand } from "./subcommand.ts";

/** Everything `pkgindex serve` needs, after defaults and validation. */
export interface ServeConfig {
  /** The address to listen on. */
  hostname: string;
  /** The TCP port; 0 picks a free one. */
  port: number;
  /** The longest request line accepted, in bytes. */
  maxLineBytes: number;
  /** Connections served at once. */
  maxConnections: number;
  /** Seconds before an idle connection is closed; 0 never closes. */
  idleTimeout: number;
  /** The least severe log level written. */
  logLevel: LogLevel;
  /** The data file that keeps the index across restarts; memory only when absent. */
  data?: DataFileConfig;
  /** The PostgreSQL database shared with other processes (`--data postgres://…`), if any. */
  postgres?: PostgresConfig;
  /** The address of the HTTP listener. */
  httpHost: string;
  /** The port of the HTTP listener (`/metrics`, `/healthz`, `/v1/`); `undefined` for none. */
  httpPort: number | undefined;
  /** The bearer token `/v1/` requires, from `PKGINDEX_HTTP_TOKEN`; `undefined` for none. */
  httpToken: string | undefined;
  /** Milliseconds an INDEX may take in the index before it goes into the slow log. */
  slowlogThreshold: number;
  /** How log lines are written. */
  logFormat: LogFormat;
  /** Warnings about the command line, logged once the logger exists (deprecated flags). */
  warnings: string[];
}

/** The data file of `pkgindex serve --data` and how it is used. */
export interface DataFileConfig {
  /** The SQLite file's path. */
  path: string;
  /** How hard each commit pushes data to disk. */
  sync: SyncMode;
  /** Whether to start empty in place of a file that looks emptied instead of refusing it. */
  allowEmpty: boolean;
}

/** The database of `pkgindex serve --data postgres://…` and the lease of its leader. */
export interface PostgresConfig {
  /** The URL as given (it may hold the password: never print it; see {@linkcode parsePostgresUrl}). */
  url: string;
  /** Seconds a leader may answer after it last proved that it leads. */
  lease: number;
}

/** Variables the PostgreSQL client reads besides the flags' own. */
const POSTGRES_ENV_VARIABLES = ["PGPASSWORD", "PGAPPNAME"] as const;

/**
 * The flags of `pkgindex serve`; each can also be set by its `PKGINDEX_*` variable except
 * `--allow-empty-data`, a one-off decision that must not stay behind in an environment.
 */
export const SERVE_FLAGS = {
  host: textFlag({
    valueName: "HOST",
    help: "address to listen on",
    env: "PKGINDEX_HOST",
    default: SERVE_DEFAULTS.hostname,
    expected: "a host name or address",
  }),
  port: integerFlag({
    valueName: "PORT",
    help: "TCP port, 0 for any free one",
    env: "PKGINDEX_PORT",
    default: SERVE_DEFAULTS.port,
    min: 0,
    max: 65535,
  }),
  "max-line-bytes": integerFlag({
    valueName: "N",
    help: "longest request line accepted, in bytes; longer lines get ERROR",
    env: "PKGINDEX_MAX_LINE_BYTES",
    default: SERVE_DEFAULTS.maxLineBytes,
    min: 1,
    max: 1 << 30,
  }),
  "max-connections": integerFlag({
    valueName: "N",
    help: "connections served at once; more are closed on accept",
    env: "PKGINDEX_MAX_CONNECTIONS",
    default: SERVE_DEFAULTS.maxConnections,
    min: 1,
    max: 1_000_000,
  }),
  "idle-timeout": secondsFlag({
    valueName: "SECONDS",
    help: "close a connection idle this long, 0 for never",
    env: "PKGINDEX_IDLE_TIMEOUT",
    default: SERVE_DEFAULTS.idleTimeout,
    // The longest delay a timer takes: 2^31 - 1 milliseconds, about 24.8 days.
    max: 2_147_483,
  }),
  "log-level": choiceFlag({
    valueName: "LEVEL",
    help: "debug, info, warn or error",
    env: "PKGINDEX_LOG_LEVEL",
    default: "info",
    choices: LOG_LEVELS,
  }),
  data: textFlag({
    valueName: "FILE|URL",
    help: "keep the index in this SQLite file, created if missing, so it survives restarts " +
      "and crashes; or in the PostgreSQL database postgres://user[:password]@host:port/db, " +
      "shared by a leader and warm standbys (password also from PGPASSWORD)",
    env: "PKGINDEX_DATA",
    default: undefined,
    defaultText: "memory only",
    expected: "the path of a data file or a postgres:// URL",
  }),
  lease: secondsFlag({
    valueName: "SECONDS",
    help: "with --data postgres://…: how long a leader answers after it last proved it leads; " +
      "a standby may take over after about this long",
    env: "PKGINDEX_LEASE",
    default: DEFAULT_LEASE,
    max: MAX_LEASE,
    positive: true,
  }),
  sync: choiceFlag({
    valueName: "MODE",
    help: "with --data: normal survives a killed process, full also survives power loss",
    env: "PKGINDEX_SYNC",
    default: "normal",
    choices: SYNC_MODES,
  }),
  "allow-empty-data": switchFlag({
    help: "with --data: start with an empty index even though the file exists but is empty, " +
      "or an empty file has a write-ahead log beside it (which is then discarded)",
  }),
  "http-port": integerFlag({
    valueName: "PORT",
    help: "serve GET /metrics (Prometheus), GET /healthz and the inspection API /v1/ over HTTP " +
      "on this port, 0 for any free one",
    env: "PKGINDEX_HTTP_PORT",
    default: undefined,
    defaultText: "off",
    min: 0,
    max: 65535,
  }),
  "http-host": textFlag({
    valueName: "HOST",
    help: "address of the HTTP listener; on one that is not loopback, /v1/ requires " +
      "PKGINDEX_HTTP_TOKEN",
    env: "PKGINDEX_HTTP_HOST",
    default: "127.0.0.1",
    expected: "a host name or address",
  }),
  "http-token": HTTP_TOKEN_FLAG,
  "metrics-port": integerFlag({
    valueName: "PORT",
    help: "deprecated spelling of --http-port",
    env: "PKGINDEX_METRICS_PORT",
    default: undefined,
    defaultText: "off",
    min: 0,
    max: 65535,
  }),
  "slowlog-threshold": integerFlag({
    valueName: "MS",
    help: "put INDEX requests that take this many milliseconds or more in the slow log " +
      "(GET /v1/slowlog)",
    env: "PKGINDEX_SLOWLOG_THRESHOLD",
    default: SERVE_DEFAULTS.slowlogThreshold,
    min: 0,
    max: 3_600_000,
  }),
  "log-format": choiceFlag({
    valueName: "FORMAT",
    help: "text, or json for one JSON object per line",
    env: "PKGINDEX_LOG_FORMAT",
    default: "text",
    choices: LOG_FORMATS,
  }),
} as const;

/** The `PKGINDEX_*` variables `serve` reads: the start task and the binary are granted these. */
export const SERVE_ENV_VARIABLES: readonly string[] = [
  ...environmentVariables(SERVE_FLAGS),
  ...POSTGRES_ENV_VARIABLES,
];

/**
 * `pkgindex serve`, the default subcommand.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommandLine } from "./subcommand.ts";
 * import { SERVE } from "./serve.ts";
 *
 * const commandLine = parseCommandLine(SERVE, ["--port", "9000"], () => undefined);
 * assert.equal(commandLine.kind === "run" && commandLine.config.port, 9000);
 * ```
 */
export const SERVE: Subcommand<typeof SERVE_FLAGS, ServeConfig> = {
  name: "serve",
  summary: "serve the index over TCP (the default when no subcommand is named)",
  description: `Serves the package dependency index over TCP. Each request is one line,
<COMMAND>|<package>|<dependencies>, answered with OK, FAIL or ERROR.
Flags take precedence over environment variables.`,
  flags: SERVE_FLAGS,
  notes: `SIGINT or SIGTERM stops the server gracefully: it answers the requests already
read, then closes the data file. A second SIGINT or SIGTERM during that drain
closes the remaining connections without their replies, then closes the data
file all the same.

Exit codes:
  0        stopped cleanly
  1        cannot start; cannot go on (memory and the data file came to disagree:
           restart to reload the file); or cannot checkpoint or close the data
           file at shutdown (nothing acknowledged is lost: the log keeps it)
  2        usage error
  130, 143 a second SIGINT (130) or SIGTERM (143) cut the drain short`,
  configure: configureServe,
  run: runServer,
};

function configureServe(
  values: FlagValues<typeof SERVE_FLAGS>,
  { sourceOf }: CommandLineContext<typeof SERVE_FLAGS>,
): ServeConfig {
  const postgres = values.data !== undefined && isPostgresUrl(values.data);
  if (values.data === undefined || postgres) {
    for (const flag of ["sync", "allow-empty-data"] as const) {
      const source = sourceOf(flag);
      if (source !== undefined) {
        throw new UsageError(
          `Cannot use ${source} ${
            postgres ? "with a PostgreSQL database" : "without --data"
          }: it applies only to a data file`,
        );
      }
    }
  }
  if (!postgres && sourceOf("lease") !== undefined) {
    throw new UsageError(
      `Cannot use ${sourceOf("lease")} without --data postgres://…: it applies only to a ` +
        "PostgreSQL database",
    );
  }
  if (postgres) {
    try {
      parsePostgresUrl(values.data!);
    } catch (error) {
      throw new UsageError(errorMessage(error));
    }
  }
  return {
    hostname: values.host,
    port: values.port,
    maxLineBytes: values["max-line-bytes"],
    maxConnections: values["max-connections"],
    idleTimeout: values["idle-timeout"],
    logLevel: values["log-level"],
    ...(values.data === undefined
      ? {}
      : postgres
      ? { postgres: { url: values.data, lease: values.lease } }
      : { data: { path: values.data, sync: values.sync, allowEmpty: values["allow-empty-data"] } }),
    ...httpPortOf(values["http-port"], values["metrics-port"], sourceOf),
    httpHost: values["http-host"],
    httpToken: values["http-token"],
    slowlogThreshold: values["slowlog-threshold"],
    logFormat: values["log-format"],
  };
}

/**
 * The HTTP port from `--http-port` or its deprecated spelling `--metrics-port` (not both), with
 * the warning the deprecated one earns.
 */
function httpPortOf(
  httpPort: number | undefined,
  deprecatedPort: number | undefined,
  sourceOf: (flag: "http-port" | "metrics-port") => string | undefined,
): { httpPort: number | undefined; warnings: string[] } {
  if (deprecatedPort === undefined) return { httpPort, warnings: [] };
  const deprecated = sourceOf("metrics-port")!;
  if (httpPort !== undefined) {
    throw new UsageError(
      `Cannot use ${sourceOf("http-port")} '${httpPort}' and ${deprecated} '${deprecatedPort}' ` +
        `together: ${deprecated} is the deprecated spelling of ${sourceOf("http-port")}`,
    );
  }
  const replacement = deprecated.startsWith("--") ? "--http-port" : "PKGINDEX_HTTP_PORT";
  return {
    httpPort: deprecatedPort,
    warnings: [
      `${deprecated} is deprecated; use ${replacement}. The HTTP listener binds --http-host ` +
      `(default ${SERVE_FLAGS["http-host"].defaultValue}), not --host.`,
    ],
  };
}

async function runServer(config: ServeConfig): Promise<number> {
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  for (const warning of config.warnings) logger.warn(warning);
  const lifecycle = new ServeLifecycle(logger);
  let listener: Deno.TcpListener;
  let dataFile: OpenedDataFile | undefined;
  try {
    // The port first: a taken port fails before the data file is touched, and clients that
    // connect while a large file loads wait in the listener's backlog.
    listener = listenTcp(config.hostname, config.port);
  } catch (error) {
    logger.error(errorMessage(error));
    return 1;
  }
  let replication: Replication | undefined;
  /** The server, once it exists, for a replication that stops leading to close its connections. */
  const serving: { server?: Server } = {};
  try {
    if (config.data !== undefined) {
      dataFile = loadDataFile(config.data, {
        logger,
        onDiverged: (error) => lifecycle.fail(error.message),
      });
    } else if (config.postgres !== undefined) {
      replication = await openReplication(config.postgres, {
        holder: `pid ${Deno.pid} on port ${listener.addr.port}`,
        logger,
        onDiverged: (error) => lifecycle.fail(error.message),
        onDemoted: () => serving.server?.closeConnections(),
      });
    }
  } catch (error) {
    logger.error(errorMessage(error));
    listener.close();
    return 1;
  }
  const current = replication;
  const index = current === undefined
    ? dataFile?.index ?? new PackageIndex()
    : liveIndex(() => current.index);
  const server = serve({
    listener,
    maxLineBytes: config.maxLineBytes,
    maxConnections: config.maxConnections,
    idleTimeout: config.idleTimeout,
    slowlogThreshold: config.slowlogThreshold,
    logger,
    index: current?.operations ?? dataFile?.durable ?? index,
    ...(current === undefined ? {} : { mayAnswer: () => current.mayAnswer() }),
  });
  serving.server = server;
  current?.run();
  let httpListener: Deno.HttpServer<Deno.NetAddr> | undefined;
  if (config.httpPort !== undefined) {
    const commits = current?.commitStats ?? dataFile?.durable.commitStats;
    const stats = server.stats;
    try {
      const api = createInspectionApi({
        index,
        server,
        maxLineBytes: config.maxLineBytes,
        ...(commits === undefined ? {} : { commits }),
        ...(current === undefined ? {} : { replication: current }),
      });
      httpListener = serveHttp({
        hostname: config.httpHost,
        port: config.httpPort,
        render: () =>
          renderMetrics({
            stats,
            index,
            ...(commits === undefined ? {} : { commits }),
            ...(current === undefined ? {} : { replication: current }),
          }),
        healthy: () => !lifecycle.stopping,
        role: () => current?.healthRole() ?? "standalone",
        inspection: current === undefined ? api : withStaleness(api, current),
        ...(config.httpToken === undefined ? {} : { token: config.httpToken }),
        logger,
      });
      const { hostname, port } = httpListener.addr;
      const address = formatHostPort(hostname, port);
      logListening(logger, { config, server });
      logger.info(`Serving the console at /, /metrics, /healthz and /v1/ over HTTP on ${address}`);
      if (inspectionAccess(hostname, config.httpToken) === "closed") {
        logger.warn(
          `The HTTP listener on ${address} is not on a loopback address and ` +
            "PKGINDEX_HTTP_TOKEN is not set: the console and /v1/ answer 401 to every request " +
            "(/metrics and /healthz stay open).",
        );
      }
    } catch (error) {
      lifecycle.fail(errorMessage(error));
    }
  } else {
    logListening(logger, { config, server });
  }
  return await lifecycle.serveUntilStopped({ server, httpListener, dataFile, replication });
}

/**
 * Connects to the PostgreSQL database and loads the index from it, logging how long it took.
 * The password comes from the URL or `PGPASSWORD` and is never logged.
 */
async function openReplication(
  config: PostgresConfig,
  options: Pick<ReplicationOptions, "holder" | "logger" | "onDiverged" | "onDemoted">,
): Promise<Replication> {
  const target = parsePostgresUrl(config.url, readPassword());
  const started = performance.now();
  const replication = await Replication.open({
    target,
    lease: config.lease,
    ...options,
  });
  (globalThis as { gc?: () => void }).gc?.();
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  options.logger.info(
    `Loaded ${plural(replication.index.size, "package")} from database ${target.display} in ` +
      `${seconds} s (lease ${config.lease} s)`,
  );
  return replication;
}

/** `PGPASSWORD`, or `undefined` when it is unset or may not be read. */
function readPassword(): string | undefined {
  try {
    return Deno.env.get("PGPASSWORD");
  } catch {
    return undefined;
  }
}

/**
 * The inspection API of a process on PostgreSQL: every answer says the role it comes from
 * (`X-Pkgindex-Role`) and, on a standby, how stale its replica is (`X-Pkgindex-Stale-Seconds`,
 * `X-Pkgindex-Lag-Changes`).
 */
function withStaleness(api: InspectionHandler, replication: Replication): InspectionHandler {
  return async (request, target) => {
    const response = await api(request, target);
    const status = replication.status();
    response.headers.set("x-pkgindex-role", status.role);
    if (status.role !== "leader") {
      response.headers.set("x-pkgindex-stale-seconds", status.lagSeconds.toFixed(3));
      response.headers.set("x-pkgindex-lag-changes", String(status.lagChanges));
    }
    return response;
  };
}

/**
 * Logs that the server listens, with its limits: once every listener it was asked for is bound,
 * so that the log never announces a server that then fails to start.
 */
function logListening(logger: Logger, started: { config: ServeConfig; server: Server }): void {
  const { config, server } = started;
  const postgres = config.postgres === undefined
    ? undefined
    : parsePostgresUrl(config.postgres.url, readPassword()).display;
  logger.info(
    `pkgindex ${VERSION} listening on ${formatHostPort(server.addr.hostname, server.addr.port)} ` +
      `(max-line-bytes=${config.maxLineBytes} max-connections=${config.maxConnections} ` +
      `idle-timeout=${config.idleTimeout}s ` +
      (postgres !== undefined
        ? `data=${postgres} lease=${config.postgres!.lease}s)`
        : config.data === undefined
        ? "memory only)"
        : `data=${config.data.path} sync=${config.data.sync})`),
  );
}

function loadDataFile(
  data: DataFileConfig,
  options: Pick<OpenDurableIndexOptions, "logger" | "onDiverged">,
): OpenedDataFile {
  const { path, sync, allowEmpty } = data;
  const started = performance.now();
  const dataFile = openDurableIndex(path, { sync, allowEmpty, ...options });
  // Loading leaves garbage about twice the size of the index; V8 would keep that memory committed
  // until allocation pressure triggers a full collection, which an idle server never creates. The
  // start and compile tasks pass --expose-gc for this one call.
  (globalThis as { gc?: () => void }).gc?.();
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  options.logger.info(
    `Loaded ${plural(dataFile.index.size, "package")} and ` +
      `${plural(dataFile.index.edgeCount, "dependency edge")} from ${path} in ${seconds} s`,
  );
  return dataFile;
}
