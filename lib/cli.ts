/**
 * Command-line parsing for `pkgindex serve` and `pkgindex send`: flags, their `PKGINDEX_*`
 * environment equivalents, validation and usage text. Knows nothing about `Deno.args`: callers
 * pass arguments in.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { LOG_LEVELS, type LogLevel } from "./log.ts";
import { errorMessage } from "./errors.ts";
import { SERVE_DEFAULTS } from "./server.ts";
import { SYNC_MODES, type SyncMode } from "./sqlite_store.ts";

/** A mistake in the command line or environment; the message says which value and why. */
export class UsageError extends Error {
  /** Makes a usage error with a message that names the offending value. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

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
  /** The SQLite file that keeps the index across restarts; memory only when absent. */
  data?: string;
  /** How hard each commit pushes data to disk (with `data`). */
  sync: SyncMode;
  /** The HTTP port of `/metrics` and `/healthz`, on the same host; `undefined` for none. */
  metricsPort: number | undefined;
}

/** What the `serve` command line asks for. */
export type ServeCommand =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "serve"; config: ServeConfig };

/** Reads an environment variable; `undefined` when it is not set. */
export type EnvReader = (name: string) => string | undefined;

/** The environment variables `serve` reads, one per flag. The binary is granted exactly these. */
export const SERVE_ENV_VARIABLES = {
  host: "PKGINDEX_HOST",
  port: "PKGINDEX_PORT",
  "max-line-bytes": "PKGINDEX_MAX_LINE_BYTES",
  "max-connections": "PKGINDEX_MAX_CONNECTIONS",
  "idle-timeout": "PKGINDEX_IDLE_TIMEOUT",
  "log-level": "PKGINDEX_LOG_LEVEL",
  data: "PKGINDEX_DATA",
  sync: "PKGINDEX_SYNC",
  "metrics-port": "PKGINDEX_METRICS_PORT",
} as const;

/** The usage text of `pkgindex serve`. */
export const SERVE_USAGE = `Usage: pkgindex [serve] [options]
       pkgindex send [--host HOST] [--port PORT] [MESSAGE...]   send requests, print replies
       pkgindex stress [options]   check a server with the official harness's scenario
       pkgindex bench [options]    measure a server's throughput and latency
       (each subcommand documents itself: pkgindex <subcommand> --help)

Serves the package dependency index over TCP. Each request is one line,
<COMMAND>|<package>|<dependencies>, answered with OK, FAIL or ERROR.

Options (each can also be set by the environment variable shown):
  --host HOST             address to listen on (PKGINDEX_HOST, default ${SERVE_DEFAULTS.hostname})
  --port PORT             TCP port, 0 for any free one (PKGINDEX_PORT, default ${SERVE_DEFAULTS.port})
  --max-line-bytes N      longest request line accepted; longer lines get ERROR
                          (PKGINDEX_MAX_LINE_BYTES, default ${SERVE_DEFAULTS.maxLineBytes})
  --max-connections N     connections served at once; more are closed on accept
                          (PKGINDEX_MAX_CONNECTIONS, default ${SERVE_DEFAULTS.maxConnections})
  --idle-timeout SECONDS  close a connection idle this long, 0 for never
                          (PKGINDEX_IDLE_TIMEOUT, default ${SERVE_DEFAULTS.idleTimeout})
  --log-level LEVEL       debug, info, warn or error (PKGINDEX_LOG_LEVEL, default info)
  --data FILE             keep the index in this SQLite file, created if missing, so it
                          survives restarts and crashes (PKGINDEX_DATA, default: memory only)
  --sync MODE             with --data: normal survives a killed process, full also
                          survives power loss (PKGINDEX_SYNC, default normal)
  --metrics-port PORT     serve GET /metrics (Prometheus) and GET /healthz over HTTP
                          on this port of the same host (PKGINDEX_METRICS_PORT, default off)
  --version               print the version and exit
  -h, --help              print this help and exit

Flags take precedence over environment variables. SIGINT or SIGTERM stops the
server gracefully. Exit codes: 0 after a clean stop, 1 on a runtime failure,
2 on a usage error.`;

/** Everything `pkgindex send` needs, after defaults and validation. */
export interface SendConfig {
  /** The server to connect to. */
  hostname: string;
  /** The server's TCP port. */
  port: number;
  /** The request lines to send; empty to read them from standard input. */
  messages: string[];
}

/** What the `send` command line asks for. */
export type SendCommand = { kind: "help" } | { kind: "send"; config: SendConfig };

/** The usage text of `pkgindex send`. */
export const SEND_USAGE = `Usage: pkgindex send [--host HOST] [--port PORT] [MESSAGE...]

Sends each MESSAGE, one request line such as 'QUERY|openssl|', to a pkgindex
server over one connection and prints each reply on its own line. Without
messages, sends the lines of standard input instead.

Options:
  --host HOST   server to connect to (default 127.0.0.1)
  --port PORT   server's TCP port (PKGINDEX_PORT, default ${SERVE_DEFAULTS.port})
  -h, --help    print this help and exit

Exit codes: 0 when every message got a reply (OK, FAIL and ERROR alike), 1 when
the server cannot be reached, closes the connection early or answers something
that is not a reply, 2 on a usage error.`;

/**
 * Parses the arguments of `pkgindex send`, taking the port from `PKGINDEX_PORT` when `--port` is
 * not given, so a health check follows the server's setting. Throws {@linkcode UsageError} for an
 * unknown flag, an invalid value or a message with a line break.
 *
 * @example
 * ```ts
 * import { parseSendArgs } from "./cli.ts";
 *
 * parseSendArgs(["--port", "9000", "QUERY|gmp|"], () => undefined);
 * // { kind: "send", config: { hostname: "127.0.0.1", port: 9000, messages: ["QUERY|gmp|"] } }
 * ```
 */
export function parseSendArgs(args: string[], env: EnvReader): SendCommand {
  const { values, positionals } = withUsageErrors(() =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    })
  );
  if (values.help) return { kind: "help" };
  if (values.host === "") {
    throw new UsageError("Cannot use --host '': expected a host name or address");
  }
  const fromEnv = env(SERVE_ENV_VARIABLES.port);
  let port: Setting | undefined;
  if (values.port !== undefined) port = { source: "--port", value: values.port };
  else if (fromEnv !== undefined) port = { source: SERVE_ENV_VARIABLES.port, value: fromEnv };
  for (const message of positionals) {
    if (/[\r\n]/.test(message)) {
      throw new UsageError(
        `Cannot send ${JSON.stringify(message)}: a message is one line, without line breaks`,
      );
    }
  }
  return {
    kind: "send",
    config: {
      hostname: values.host ?? "127.0.0.1",
      port: parseInteger(port, { min: 1, max: 65535 }) ?? SERVE_DEFAULTS.port,
      messages: positionals,
    },
  };
}

/**
 * Parses the arguments of `pkgindex serve`, falling back to `env` and then to the defaults.
 * Throws {@linkcode UsageError} for an unknown flag or an invalid value.
 *
 * @example
 * ```ts
 * import { parseServeArgs } from "./cli.ts";
 *
 * parseServeArgs(["--port", "9000"], () => undefined);
 * // { kind: "serve", config: { hostname: "0.0.0.0", port: 9000, ... } }
 * ```
 */
export function parseServeArgs(args: string[], env: EnvReader): ServeCommand {
  const { values } = withUsageErrors(() =>
    parseArgs({
      args,
      strict: true,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        "max-line-bytes": { type: "string" },
        "max-connections": { type: "string" },
        "idle-timeout": { type: "string" },
        "log-level": { type: "string" },
        data: { type: "string" },
        sync: { type: "string" },
        "metrics-port": { type: "string" },
        version: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    })
  );
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  const setting = (flag: keyof typeof SERVE_ENV_VARIABLES): Setting | undefined => {
    const fromFlag = values[flag];
    if (typeof fromFlag === "string") return { source: `--${flag}`, value: fromFlag };
    const variable = SERVE_ENV_VARIABLES[flag];
    const fromEnv = env(variable);
    return fromEnv === undefined ? undefined : { source: variable, value: fromEnv };
  };
  const host = setting("host");
  if (host !== undefined && host.value === "") {
    throw new UsageError(`Cannot use ${host.source} '': expected a host name or address`);
  }
  const data = setting("data");
  if (data !== undefined && data.value === "") {
    throw new UsageError(`Cannot use ${data.source} '': expected the path of a data file`);
  }
  return {
    kind: "serve",
    config: {
      ...(data === undefined ? {} : { data: data.value }),
      sync: parseChoice(setting("sync"), SYNC_MODES) ?? "normal",
      hostname: host?.value ?? SERVE_DEFAULTS.hostname,
      port: parseInteger(setting("port"), { min: 0, max: 65535 }) ?? SERVE_DEFAULTS.port,
      maxLineBytes: parseInteger(setting("max-line-bytes"), { min: 1, max: 1 << 30 }) ??
        SERVE_DEFAULTS.maxLineBytes,
      maxConnections: parseInteger(setting("max-connections"), { min: 1, max: 1_000_000 }) ??
        SERVE_DEFAULTS.maxConnections,
      idleTimeout: parseSeconds(setting("idle-timeout")) ?? SERVE_DEFAULTS.idleTimeout,
      logLevel: parseChoice(setting("log-level"), LOG_LEVELS) ?? "info",
      metricsPort: parseInteger(setting("metrics-port"), { min: 0, max: 65535 }),
    },
  };
}

/** A raw value and where it came from (`--port` or `PKGINDEX_PORT`), for error messages. */
export interface Setting {
  /** The flag or environment variable the value came from. */
  source: string;
  /** The value as given. */
  value: string;
}

/**
 * Runs a `parseArgs` call, turning its errors (unknown flag, missing value) into
 * {@linkcode UsageError}s.
 *
 * @example
 * ```ts
 * import { parseArgs } from "node:util";
 * import { withUsageErrors } from "./cli.ts";
 *
 * withUsageErrors(() => parseArgs({ args: ["--nope"], options: {}, strict: true })); // throws UsageError
 * ```
 */
export function withUsageErrors<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
}

/** Parses an integer setting within bounds; `undefined` when it is not set. */
export function parseInteger(
  setting: Setting | undefined,
  bounds: { min: number; max: number },
): number | undefined {
  if (setting === undefined) return undefined;
  const value = Number(setting.value);
  if (!/^\d+$/.test(setting.value) || value < bounds.min || value > bounds.max) {
    throw new UsageError(
      `Cannot parse ${setting.source} '${setting.value}': expected an integer from ${bounds.min} to ${bounds.max}`,
    );
  }
  return value;
}

/** Parses a non-negative number of seconds (fractions allowed); `undefined` when it is not set. */
export function parseSeconds(setting: Setting | undefined): number | undefined {
  if (setting === undefined) return undefined;
  const value = Number(setting.value);
  if (!/^\d+(\.\d+)?$/.test(setting.value) || !Number.isFinite(value)) {
    throw new UsageError(
      `Cannot parse ${setting.source} '${setting.value}': expected a number of seconds, 0 or more`,
    );
  }
  return value;
}

/** Parses a setting that must be one of `choices`; `undefined` when it is not set. */
export function parseChoice<T extends string>(
  setting: Setting | undefined,
  choices: readonly T[],
): T | undefined {
  if (setting === undefined) return undefined;
  const choice = choices.find((candidate) => candidate === setting.value);
  if (choice === undefined) {
    throw new UsageError(
      `Cannot parse ${setting.source} '${setting.value}': expected one of ${choices.join(", ")}`,
    );
  }
  return choice;
}
