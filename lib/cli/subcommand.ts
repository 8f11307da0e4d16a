/**
 * Declaring and running a subcommand of `pkgindex`: its flags, usage text, parsing with
 * environment fallbacks, `--help` and `--version`, and exit codes, the same way for every one.
 *
 * @module
 */

import { VERSION } from "../util/version.ts";
import { writeText } from "../util/io.ts";
import { errorMessage } from "../util/errors.ts";
import type { Flags, FlagValues } from "./flags.ts";
import { UsageError } from "./flags.ts";

/** Reads an environment variable; `undefined` when it is not set. */
export type EnvReader = (name: string) => string | undefined;

/** What a subcommand's `configure` gets besides the flag values. */
export interface CommandLineContext<F extends Flags> {
  /** The arguments that are not flags, in order (only for a subcommand that takes them). */
  positionals: string[];
  /** Where a flag's value came from (`--sync` or `PKGINDEX_SYNC`), or `undefined` if defaulted. */
  sourceOf(flag: keyof F & string): string | undefined;
}

/** A subcommand: its documentation, its flags, and what it does with them. */
export interface Subcommand<F extends Flags, C> {
  /** The name typed after `pkgindex`. */
  readonly name: string;
  /** One line for the list of subcommands. */
  readonly summary: string;
  /** The arguments after the options in the usage line, such as `[MESSAGE...]`; none if absent. */
  readonly arguments?: string;
  /** What it does, for the usage text. */
  readonly description: string;
  /** Its flags; `--help` and `--version` come with every subcommand. */
  readonly flags: F;
  /** Text after the options in the usage, such as the exit codes. */
  readonly notes?: string;
  /** Turns the parsed values into what `run` needs; throws a {@linkcode UsageError} for nonsense. */
  configure(values: FlagValues<F>, context: CommandLineContext<F>): C;
  /** Does the work and resolves to the process exit code. */
  run(config: C): Promise<number>;
}

/** A subcommand of any flags and configuration, for lists of subcommands. */
// deno-lint-ignore no-explicit-any
export type AnySubcommand = Subcommand<any, any>;

/** What a command line asks a subcommand for. */
export type CommandLine<C> = { kind: "help" } | { kind: "version" } | { kind: "run"; config: C };

/**
 * Parses `args` for `subcommand`: flags as `--name value` or `--name=value` (a value may start
 * with `-`), then each missing flag from its environment variable, then its default. Throws
 * {@linkcode UsageError} naming the offending flag or value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { integerFlag } from "./flags.ts";
 * import { parseCommandLine } from "./subcommand.ts";
 *
 * const hello = {
 *   name: "hello",
 *   summary: "greet",
 *   description: "Greets.",
 *   flags: { times: integerFlag({ valueName: "N", help: "how often", env: "HELLO_TIMES", default: 1, min: 1, max: 9 }) },
 *   configure: (values: { times: number }) => values.times,
 *   run: (times: number) => Promise.resolve(times),
 * };
 * assert.deepEqual(parseCommandLine(hello, ["--times", "3"], () => undefined), { kind: "run", config: 3 });
 * assert.deepEqual(parseCommandLine(hello, [], () => "2"), { kind: "run", config: 2 });
 * assert.deepEqual(parseCommandLine(hello, ["-h"], () => undefined), { kind: "help" });
 * assert.throws(() => parseCommandLine(hello, ["--times", "-1"], () => undefined), /--times '-1'/);
 * ```
 */
export function parseCommandLine<F extends Flags, C>(
  subcommand: Subcommand<F, C>,
  args: readonly string[],
  env: EnvReader,
): CommandLine<C> {
  const given = new Map<string, { text: string; source: string }>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg === "-h" || arg === "--help") return { kind: "help" };
    if (arg === "--version") return { kind: "version" };
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const equals = arg.indexOf("=");
    const name = arg.startsWith("--") ? arg.slice(2, equals === -1 ? undefined : equals) : "";
    const flag = Object.hasOwn(subcommand.flags, name) ? subcommand.flags[name] : undefined;
    if (flag === undefined) throw new UsageError(`Unknown option '${arg.split("=")[0]}'`);
    const source = `--${name}`;
    if (flag.environmentOnly) {
      throw new UsageError(
        `Cannot use ${source} on the command line: set ${flag.env} instead (every user of the ` +
          "machine can read a command line)",
      );
    }
    if (flag.valueName === undefined) {
      if (equals !== -1) throw new UsageError(`Cannot use ${source} with a value: it is a switch`);
      given.set(name, { text: "true", source });
    } else if (equals !== -1) {
      given.set(name, { text: arg.slice(equals + 1), source });
    } else if (i + 1 < args.length) {
      given.set(name, { text: args[++i]!, source });
    } else {
      throw new UsageError(`Cannot use ${source} without a value: expected ${flag.valueName}`);
    }
  }
  if (positionals.length > 0 && subcommand.arguments === undefined) {
    throw new UsageError(`Unexpected argument '${positionals[0]}'`);
  }
  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(subcommand.flags)) {
    let setting = given.get(name);
    if (setting === undefined && flag.env !== undefined) {
      const text = env(flag.env);
      if (text !== undefined) setting = { text, source: flag.env };
      if (setting !== undefined) given.set(name, setting);
    }
    values[name] = setting === undefined
      ? flag.defaultValue
      : flag.parse(setting.text, setting.source);
  }
  const config = subcommand.configure(values as FlagValues<F>, {
    positionals,
    sourceOf: (flag) => given.get(flag)?.source,
  });
  return { kind: "run", config };
}

/** The widest left column of the options list before the text moves to the next line. */
const OPTION_COLUMN = 24;

/**
 * The usage text of `subcommand`, generated from its declaration: every flag with its
 * placeholder, help, environment variable and default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { switchFlag } from "./flags.ts";
 * import { formatUsage } from "./subcommand.ts";
 *
 * const usage = formatUsage({
 *   name: "hello",
 *   summary: "greet",
 *   description: "Greets.",
 *   flags: { loud: switchFlag({ help: "shout" }) },
 *   configure: () => undefined,
 *   run: () => Promise.resolve(0),
 * });
 * assert.match(usage, /^Usage: pkgindex hello \[options\]\n\nGreets\.\n\nOptions:\n  --loud +shout\n/);
 * ```
 */
export function formatUsage<F extends Flags, C>(subcommand: Subcommand<F, C>): string {
  const synopsis = `pkgindex ${subcommand.name} [options]` +
    (subcommand.arguments === undefined ? "" : ` ${subcommand.arguments}`);
  const rows: [string, string][] = Object.entries(subcommand.flags).map(([name, flag]) => {
    if (flag.environmentOnly) return [flag.env!, `${flag.help} (environment only)`];
    const notes = [
      flag.env,
      flag.defaultText === undefined ? undefined : `default ${flag.defaultText}`,
    ].filter((note) => note !== undefined);
    const help = notes.length === 0 ? flag.help : `${flag.help} (${notes.join(", ")})`;
    return [`--${name}${flag.valueName === undefined ? "" : ` ${flag.valueName}`}`, help];
  });
  rows.push(["-h, --help", "print this help and exit"], [
    "--version",
    "print the version and exit",
  ]);
  const options = rows.map(([left, help]) => {
    const lines = wrap(help, 78 - OPTION_COLUMN);
    const indent = " ".repeat(OPTION_COLUMN);
    const first = left.length + 2 < OPTION_COLUMN - 1
      ? `  ${left.padEnd(OPTION_COLUMN - 2)}${lines[0]}`
      : `  ${left}\n${indent}${lines[0]}`;
    return [first, ...lines.slice(1).map((line) => indent + line)].join("\n");
  });
  return [
    `Usage: ${synopsis}`,
    "",
    subcommand.description,
    "",
    "Options:",
    ...options,
    ...(subcommand.notes === undefined ? [] : ["", subcommand.notes]),
  ].join("\n") + "\n";
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines;
}

/** Where {@linkcode runSubcommand} reads the environment and prints. */
export interface SubcommandIo {
  /** Reads an environment variable. */
  env: EnvReader;
  /** Writes to standard output. */
  stdout: (text: string) => void;
  /** Writes to standard error. */
  stderr: (text: string) => void;
}

/** How {@linkcode runSubcommand} presents a subcommand that runs without being named. */
export interface RunOptions {
  /** How the user typed the command, for the pointer to `--help`. Default: `pkgindex NAME`. */
  invokedAs?: string;
  /** Text printed after the usage for `--help`, such as the list of subcommands. */
  helpFooter?: string;
}

/**
 * Runs `subcommand` with `args` and resolves to the process exit code: its own for a run, 0 for
 * `--help` and `--version`, and 2, after one sentence and a pointer to `--help`, for a usage
 * error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runSubcommand } from "./subcommand.ts";
 *
 * const errors: string[] = [];
 * const io = { env: () => undefined, stdout: () => {}, stderr: (text: string) => errors.push(text) };
 * const hello = {
 *   name: "hello", summary: "greet", description: "Greets.", flags: {},
 *   configure: () => undefined, run: () => Promise.resolve(0),
 * };
 * assert.equal(await runSubcommand(hello, ["--loud"], io), 2);
 * assert.equal(errors.join(""), "Unknown option '--loud'\nRun 'pkgindex hello --help' for usage.\n");
 * ```
 */
export async function runSubcommand<F extends Flags, C>(
  subcommand: Subcommand<F, C>,
  args: readonly string[],
  io: SubcommandIo & RunOptions,
): Promise<number> {
  let commandLine: CommandLine<C>;
  try {
    commandLine = parseCommandLine(subcommand, args, io.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const invokedAs = io.invokedAs ?? `pkgindex ${subcommand.name}`;
    io.stderr(`${errorMessage(error)}\nRun '${invokedAs} --help' for usage.\n`);
    return 2;
  }
  if (commandLine.kind === "help") {
    io.stdout(formatUsage(subcommand) + (io.helpFooter ?? ""));
    return 0;
  }
  if (commandLine.kind === "version") {
    io.stdout(`pkgindex ${VERSION}\n`);
    return 0;
  }
  return await subcommand.run(commandLine.config);
}

/** Standard output, standard error and the real environment, for {@linkcode runSubcommand}. */
export const PROCESS_IO: SubcommandIo = {
  env: readEnvironment,
  stdout: (text) => writeText(Deno.stdout, text),
  stderr: (text) => writeText(Deno.stderr, text),
};

/**
 * Reads an environment variable of the process. A variable the process may not read is a usage
 * error naming it, never silently treated as unset: without the permission nobody can tell
 * whether it is set. `deno task start` and the compiled binary grant every `PKGINDEX_*` variable.
 */
function readEnvironment(name: string): string | undefined {
  if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
    throw new UsageError(
      `Cannot read the environment variable ${name}: permission denied (run with --allow-env, as the deno tasks and the compiled binary do)`,
    );
  }
  return Deno.env.get(name);
}
