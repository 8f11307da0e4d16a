/**
 * A small leveled logger: one line per event on standard error, with time and level, as text for
 * people or as one JSON object per line for log shippers.
 *
 * @module
 */

import { writeText } from "./io.ts";

/** How much to log, from most to least detailed. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Every level, from most to least detailed. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** How each line is written: `text` for people, `json` for log shippers. */
export type LogFormat = "text" | "json";

/** Every format, as the CLI accepts them. */
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

/** Writes events at or above a level; the methods below it do nothing. */
export interface Logger {
  /** Detail for debugging, such as each connection opening and closing. */
  debug(message: string): void;
  /** Normal operation: startup, shutdown, summaries. */
  info(message: string): void;
  /** Something unusual that the server handled, such as a limit being reached. */
  warn(message: string): void;
  /** Something failed that an operator should look at. */
  error(message: string): void;
}

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** The least severe level written. Default: `"info"`. */
  level?: LogLevel;
  /** How lines are written. Default: `"text"`. */
  format?: LogFormat;
  /** Where finished lines go. Default: standard error. */
  write?: (line: string) => void;
}

/**
 * Makes a logger that writes lines like `2026-11-27T10:00:00.000Z INFO Listening on ...`, or with
 * `format: "json"`, like `{"time":"2026-11-27T10:00:00.000Z","level":"info","message":"Listening
 * on ..."}`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "./log.ts";
 *
 * const lines: string[] = [];
 * const logger = createLogger({ level: "warn", write: (line) => lines.push(line) });
 * logger.info("not written");
 * logger.warn("Connection limit reached");
 * assert.equal(lines.length, 1);
 * assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\S+Z WARN Connection limit reached$/);
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level ?? "info");
  const write = options.write ?? writeToStderr;
  const json = options.format === "json";
  const at = (level: LogLevel) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return () => {};
    const label = level.toUpperCase();
    if (json) {
      return (message: string) =>
        write(JSON.stringify({ time: new Date().toISOString(), level, message }));
    }
    return (message: string) => write(`${new Date().toISOString()} ${label} ${message}`);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/**
 * Writes one line to standard error. Logging must never take the server down: when standard
 * error is gone (the process reading it exited), the line is dropped.
 */
function writeToStderr(line: string): void {
  try {
    writeText(Deno.stderr, line + "\n");
  } catch {
    // Nowhere left to report it.
  }
}
