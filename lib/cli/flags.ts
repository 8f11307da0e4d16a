/**
 * Declaring command-line flags: each flag says how it is written, documented, read from the
 * environment and parsed, in one object, and every subcommand is declared with these.
 *
 * @module
 */

/** A mistake in the command line or environment; the message says which value and why. */
export class UsageError extends Error {
  /** Makes a usage error with a message that names the offending value. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** One flag of a subcommand. Make one with the functions of this module. */
export interface Flag<T> {
  /** The value's placeholder in the usage, such as `PORT`; `undefined` for a switch. */
  readonly valueName: string | undefined;
  /** What the flag does, for the usage. */
  readonly help: string;
  /** The environment variable read when the flag is not given, if any. */
  readonly env: string | undefined;
  /**
   * Whether the value may come only from `env`, never from the command line, as a secret must:
   * every user of the machine can read a process's command line.
   */
  readonly environmentOnly: boolean;
  /** The value when neither the flag nor its variable is given. */
  readonly defaultValue: T;
  /** How the usage shows the default; `undefined` to show none. */
  readonly defaultText: string | undefined;
  /** Parses a value given as `source` (`--port` or `PKGINDEX_PORT`); throws a {@linkcode UsageError}. */
  parse(text: string, source: string): T;
}

/** A subcommand's flags, by name (without the leading `--`). */
// deno-lint-ignore no-explicit-any
export type Flags = Readonly<Record<string, Flag<any>>>;

/** The parsed values of `F`, by flag name. */
export type FlagValues<F extends Flags> = { -readonly [K in keyof F]: F[K]["defaultValue"] };

/**
 * The environment variables that `flags` fall back to, in declaration order: exactly what a
 * subcommand must be allowed to read (`--allow-env=...`) for every variable to be honoured.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { environmentVariables, integerFlag, switchFlag } from "./flags.ts";
 *
 * const flags = {
 *   port: integerFlag({ valueName: "PORT", help: "port", env: "APP_PORT", default: 80, min: 1, max: 65535 }),
 *   quiet: switchFlag({ help: "print less" }),
 * };
 * assert.deepEqual(environmentVariables(flags), ["APP_PORT"]);
 * ```
 */
export function environmentVariables(flags: Flags): string[] {
  return Object.values(flags).flatMap((flag) => flag.env === undefined ? [] : [flag.env]);
}

/** What every flag declaration says: its documentation and, optionally, its variable. */
export interface FlagOptions {
  /** What the flag does, for the usage. */
  help: string;
  /** The environment variable read when the flag is not given. */
  env?: string;
}

/** Options of a flag that takes a value. */
export interface ValueFlagOptions<D> extends FlagOptions {
  /** Read from `env` only, never from the command line (for secrets). Default: false. */
  environmentOnly?: boolean;
  /** The value's placeholder in the usage, such as `PORT`. */
  valueName: string;
  /** The value when the flag is not given. */
  default: D;
  /** How the usage shows the default. Default: the default value itself; none when undefined. */
  defaultText?: string;
}

function valueFlag<T, D>(
  options: ValueFlagOptions<D>,
  parse: (text: string, source: string) => T,
): Flag<T | D> {
  return {
    valueName: options.valueName,
    help: options.help,
    env: options.env,
    environmentOnly: options.environmentOnly ?? false,
    defaultValue: options.default,
    defaultText: options.defaultText ??
      (options.default === undefined ? undefined : String(options.default)),
    parse,
  };
}

/**
 * A flag taking an integer from `min` to `max`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { integerFlag } from "./flags.ts";
 *
 * const port = integerFlag({ valueName: "PORT", help: "TCP port", default: 8080, min: 0, max: 65535 });
 * assert.equal(port.parse("9000", "--port"), 9000);
 * assert.throws(
 *   () => port.parse("http", "--port"),
 *   /^UsageError: Cannot parse --port 'http': expected an integer from 0 to 65535$/,
 * );
 * ```
 */
export function integerFlag<D extends number | undefined>(
  options: ValueFlagOptions<D> & { min: number; max: number },
): Flag<number | D> {
  const { min, max } = options;
  return valueFlag(options, (text, source) => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      throw new UsageError(
        `Cannot parse ${source} '${text}': expected an integer from ${min} to ${max}`,
      );
    }
    return value;
  });
}

/**
 * A flag taking a number of seconds, fractions allowed, from 0 (or, when `positive`, above 0)
 * to `max`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { secondsFlag } from "./flags.ts";
 *
 * const timeout = secondsFlag({ valueName: "SECONDS", help: "idle timeout", default: 300, max: 86400 });
 * assert.equal(timeout.parse("0.5", "--idle-timeout"), 0.5);
 * assert.throws(
 *   () => timeout.parse("-1", "--idle-timeout"),
 *   /^UsageError: Cannot parse --idle-timeout '-1': expected a number of seconds from 0 to 86400$/,
 * );
 * ```
 */
export function secondsFlag<D extends number | undefined>(
  options: ValueFlagOptions<D> & { max: number; positive?: boolean },
): Flag<number | D> {
  const { max } = options;
  const positive = options.positive ?? false;
  return valueFlag(options, (text, source) => {
    const value = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || value > max || (positive && value === 0)) {
      const range = positive ? `above 0, up to ${max}` : `from 0 to ${max}`;
      throw new UsageError(
        `Cannot parse ${source} '${text}': expected a number of seconds ${range}`,
      );
    }
    return value;
  });
}

/**
 * A flag taking one of `choices`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { choiceFlag } from "./flags.ts";
 *
 * const sync = choiceFlag({ valueName: "MODE", help: "sync mode", default: "normal", choices: ["normal", "full"] as const });
 * assert.equal(sync.parse("full", "--sync"), "full");
 * assert.throws(() => sync.parse("always", "--sync"), /expected one of normal, full$/);
 * ```
 */
export function choiceFlag<T extends string, D extends T | undefined>(
  options: ValueFlagOptions<D> & { choices: readonly T[] },
): Flag<T | D> {
  const { choices } = options;
  return valueFlag(options, (text, source) => {
    const choice = choices.find((candidate) => candidate === text);
    if (choice === undefined) {
      throw new UsageError(
        `Cannot parse ${source} '${text}': expected one of ${choices.join(", ")}`,
      );
    }
    return choice;
  });
}

/**
 * A flag taking any text but the empty string; `expected` says what the text should be. With
 * `environmentOnly`, the text comes only from the flag's variable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { textFlag } from "./flags.ts";
 *
 * const host = textFlag({ valueName: "HOST", help: "address", default: "0.0.0.0", expected: "a host name or address" });
 * assert.equal(host.parse("::1", "--host"), "::1");
 * assert.throws(() => host.parse("", "--host"), /^UsageError: Cannot use --host '': expected a host name or address$/);
 * const token = textFlag({ valueName: "TOKEN", help: "secret", env: "TOKEN", environmentOnly: true, default: undefined, expected: "a token" });
 * assert.equal(token.environmentOnly, true);
 * ```
 */
export function textFlag<D extends string | undefined>(
  options: ValueFlagOptions<D> & { expected: string },
): Flag<string | D> {
  return valueFlag(options, (text, source) => {
    if (text === "") throw new UsageError(`Cannot use ${source} '': expected ${options.expected}`);
    return text;
  });
}

/**
 * A flag without a value: `true` when given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { switchFlag } from "./flags.ts";
 *
 * assert.equal(switchFlag({ help: "print JSON" }).defaultValue, false);
 * ```
 */
export function switchFlag(options: FlagOptions): Flag<boolean> {
  return {
    valueName: undefined,
    help: options.help,
    env: options.env,
    environmentOnly: false,
    defaultValue: false,
    defaultText: undefined,
    parse: (text, source) => {
      if (text === "1" || text === "true") return true;
      if (text === "0" || text === "false") return false;
      throw new UsageError(`Cannot parse ${source} '${text}': expected true or false`);
    },
  };
}
