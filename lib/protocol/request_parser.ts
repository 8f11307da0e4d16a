/**
 * Parsing request lines, `<COMMAND>|<package>|<dependencies>`, in place: straight from the bytes
 * of a read buffer, by the rules of the command table, without decoding them or allocating
 * anything per request.
 *
 * The rules: exactly three fields separated by `|`; a command of the table (case-sensitive); a
 * name of 1 to {@linkcode MAX_NAME_BYTES} bytes of the name alphabet; for a command that takes
 * dependencies, a third field of such names separated by single commas (or nothing); for the
 * others, an empty third field. One `\r` before the `\n` is ignored. Anything else, including
 * every byte outside ASCII, makes the line malformed, and so does a line over the length limit,
 * whatever it holds.
 *
 * @module
 */

import { COMMAND_TABLE, type RequestNames } from "./command_table.ts";
import { MAX_NAME_BYTES, NAME_BYTES, nameFromBytes } from "./names.ts";

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const BAR = 0x7c;
const COMMA = 0x2c;

/** Why a line is malformed: the field at fault and a sentence saying what is wrong there. */
export interface Problem {
  /** `command`, `package`, `dependencies`, or `line` for a line over the length limit. */
  readonly field: "command" | "package" | "dependencies" | "line";
  /** What is wrong in the line `request` last parsed, as a sentence without its full stop. */
  readonly sentence: (request: RequestLine) => string;
}

/**
 * Every way a line can be malformed. The server only needs to know that it is (and counts lines
 * that are too long); `POST /v1/explain` says why, with {@linkcode describeProblem}.
 */
export const PROBLEMS = {
  lineTooLong: {
    field: "line",
    sentence: (request) =>
      `the line is ${request.lineEnd - request.lineStart} bytes long, over the server's limit ` +
      `of ${request.maxLineBytes} (--max-line-bytes)`,
  },
  unknownCommand: atByte(
    "command",
    `the command is not one of ${COMMAND_TABLE.map((command) => command.name).join(", ")} ` +
      "followed by |",
  ),
  missingField: atByte("dependencies", "the line has fewer than three fields"),
  emptyName: atByte("package", "the package name is empty"),
  nameTooLong: atByte("package", `the package name is longer than ${MAX_NAME_BYTES} bytes`),
  badNameByte: atByte("package", "the package name holds a byte outside the name alphabet"),
  unexpectedDependencies: atByte("dependencies", "this command takes no dependencies"),
  emptyDependency: atByte("dependencies", "the dependency list has an empty entry"),
  dependencyTooLong: atByte(
    "dependencies",
    `a dependency name is longer than ${MAX_NAME_BYTES} bytes`,
  ),
  badDependencyByte: atByte(
    "dependencies",
    "the dependency list holds a byte outside the name alphabet",
  ),
} as const satisfies Record<string, Problem>;

/** A problem found at one byte: its sentence names that byte. */
function atByte(field: Problem["field"], sentence: string): Problem {
  return {
    field,
    sentence: (request) => {
      const offset = request.problemAt - request.lineStart;
      const byte = request.bytes[request.problemAt]!;
      const what = byte === NEWLINE
        ? "the end of the line"
        : `0x${byte.toString(16).padStart(2, "0")}`;
      return `${sentence}: byte ${offset} is ${what}`;
    },
  };
}

/** Options for {@linkcode RequestLine}. */
export interface RequestLineOptions {
  /**
   * The longest line accepted, in bytes before its `\n`; a longer one is malformed
   * ({@linkcode PROBLEMS.lineTooLong}).
   *
   * @default {Infinity}
   */
  maxLineBytes?: number;
}

/** Each command as its bytes on the wire, with the `|` after it. */
const COMMAND_BYTES: readonly Uint8Array[] = COMMAND_TABLE.map((command) =>
  new TextEncoder().encode(`${command.name}|`)
);

/** Byte → the position of the first command that starts with it, or -1: a one-load dispatch. */
const FIRST_COMMAND_BY_BYTE: Int8Array = (() => {
  const table = new Int8Array(256).fill(-1);
  for (let command = COMMAND_BYTES.length - 1; command >= 0; command--) {
    table[COMMAND_BYTES[command]![0]!] = command;
  }
  return table;
})();

/**
 * A request line parsed in place: which command, and where its names are in the bytes it was
 * parsed from. One object is reused for request after request, so it is valid only until the
 * next {@linkcode RequestLine.parse}; the index reads it synchronously and keeps nothing of it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMMAND_TABLE, type RequestNames } from "./command_table.ts";
 * import { RequestLine, requestDependencies, requestName } from "./request_parser.ts";
 *
 * const bytes = new TextEncoder().encode("INDEX|cloog|gmp,isl\nQUERY|cloog|x\n");
 * const request = new RequestLine();
 * const newline = request.parse(bytes, 0);
 * assert.equal(newline, 19);
 * assert.equal(COMMAND_TABLE[request.command]!.name, "INDEX");
 * assert.equal(requestName(request), "cloog");
 * assert.deepEqual(requestDependencies(request), ["gmp", "isl"]);
 * assert.equal(request.parse(bytes, newline + 1), 33);
 * assert.equal(request.command, -1); // QUERY takes no dependencies: malformed
 * ```
 */
export class RequestLine implements RequestNames {
  /** The command's position in `COMMAND_TABLE`, or -1 when the line is malformed. */
  command: number = -1;
  /** The bytes the line was parsed from. */
  bytes: Uint8Array = new Uint8Array(0);
  /** Where the line starts in `bytes`. */
  lineStart: number = 0;
  /** Where the line's `\n` is in `bytes`. */
  lineEnd: number = 0;
  /** Where the package name starts. */
  nameStart: number = 0;
  /** Where the package name ends (exclusive). */
  nameEnd: number = 0;
  /** How many dependencies the line names (repeats included). */
  dependencyCount: number = 0;
  /** Dependency `i` is `bytes[dependencyBounds[2 * i], dependencyBounds[2 * i + 1])`. */
  dependencyBounds: Int32Array = new Int32Array(64);
  /** Why the line is malformed (one of {@linkcode PROBLEMS}); `undefined` when it is not. */
  problem: Problem | undefined = undefined;
  /** Where in `bytes` the problem was found. */
  problemAt: number = 0;
  /** The longest line accepted, in bytes before its `\n`. */
  readonly maxLineBytes: number;

  /** A parser for lines of up to `options.maxLineBytes` bytes. */
  constructor(options: RequestLineOptions = {}) {
    this.maxLineBytes = options.maxLineBytes ?? Infinity;
  }

  /**
   * Parses the line that starts at `start` in `bytes` and returns the position of its `\n`,
   * which must come before the end of `bytes`. Afterwards {@linkcode RequestLine.command} is the
   * command, or -1 with {@linkcode RequestLine.problem} saying why the line is malformed.
   */
  parse(bytes: Uint8Array, start: number): number {
    this.bytes = bytes;
    this.lineStart = start;
    this.command = -1;
    this.dependencyCount = 0;
    const command = matchCommand(bytes, start);
    if (command === -1) return this.#fail(PROBLEMS.unknownCommand, start);
    const nameStart = start + COMMAND_BYTES[command]!.length;
    let i = nameStart;
    while (NAME_BYTES[bytes[i]!] === 1) i++;
    if (bytes[i] !== BAR) {
      return this.#fail(endsLine(bytes, i) ? PROBLEMS.missingField : PROBLEMS.badNameByte, i);
    }
    if (i === nameStart) return this.#fail(PROBLEMS.emptyName, i);
    if (i - nameStart > MAX_NAME_BYTES) return this.#fail(PROBLEMS.nameTooLong, nameStart);
    this.nameStart = nameStart;
    this.nameEnd = i;
    i++;
    if (endsLine(bytes, i)) return this.#succeed(command, bytes, i);
    if (!COMMAND_TABLE[command]!.takesDependencies) {
      return this.#fail(PROBLEMS.unexpectedDependencies, i);
    }
    while (true) {
      const dependencyStart = i;
      while (NAME_BYTES[bytes[i]!] === 1) i++;
      if (i === dependencyStart) return this.#fail(PROBLEMS.emptyDependency, i);
      if (i - dependencyStart > MAX_NAME_BYTES) {
        return this.#fail(PROBLEMS.dependencyTooLong, dependencyStart);
      }
      this.#addDependency(dependencyStart, i);
      if (bytes[i] === COMMA) {
        i++;
        continue;
      }
      if (endsLine(bytes, i)) return this.#succeed(command, bytes, i);
      return this.#fail(PROBLEMS.badDependencyByte, i);
    }
  }

  #succeed(command: number, bytes: Uint8Array, end: number): number {
    const newline = bytes[end] === NEWLINE ? end : end + 1;
    this.lineEnd = newline;
    if (newline - this.lineStart > this.maxLineBytes) return this.#tooLong();
    this.command = command;
    this.problem = undefined;
    return newline;
  }

  #fail(problem: Problem, at: number): number {
    const newline = this.bytes.indexOf(NEWLINE, at);
    this.lineEnd = newline;
    if (newline - this.lineStart > this.maxLineBytes) return this.#tooLong();
    this.problem = problem;
    this.problemAt = at;
    return newline;
  }

  /** A line over the limit is malformed whatever else is wrong with it: the limit comes first. */
  #tooLong(): number {
    this.problem = PROBLEMS.lineTooLong;
    this.problemAt = this.lineStart + this.maxLineBytes;
    return this.lineEnd;
  }

  #addDependency(start: number, end: number): void {
    if (2 * this.dependencyCount === this.dependencyBounds.length) {
      const grown = new Int32Array(this.dependencyBounds.length * 2);
      grown.set(this.dependencyBounds);
      this.dependencyBounds = grown;
    }
    this.dependencyBounds[2 * this.dependencyCount] = start;
    this.dependencyBounds[2 * this.dependencyCount + 1] = end;
    this.dependencyCount++;
  }
}

/** The position in `COMMAND_TABLE` of the command (with its `|`) at `start`, or -1. */
function matchCommand(bytes: Uint8Array, start: number): number {
  // A line always ends in \n, which no command contains: comparing never runs past the line.
  const first = bytes[start]!;
  for (let command = FIRST_COMMAND_BY_BYTE[first]!; command !== -1;) {
    const expected = COMMAND_BYTES[command]!;
    let i = 1;
    while (i < expected.length && bytes[start + i] === expected[i]) i++;
    if (i === expected.length) return command;
    // Another command may start with the same byte.
    do command++; while (command < COMMAND_BYTES.length && COMMAND_BYTES[command]![0] !== first);
    if (command === COMMAND_BYTES.length) return -1;
  }
  return -1;
}

/** Whether the line ends at `i`: a `\n` there, or one `\r` and then the `\n`. */
function endsLine(bytes: Uint8Array, i: number): boolean {
  const byte = bytes[i];
  return byte === NEWLINE || (byte === CARRIAGE_RETURN && bytes[i + 1] === NEWLINE);
}

/**
 * The package name of `request`, as a string. Allocates: for the cold paths (durable mode,
 * inspection), never the request path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { namesOf, requestName } from "./request_parser.ts";
 *
 * assert.equal(requestName(namesOf("cloog", ["gmp"])), "cloog");
 * ```
 */
export function requestName(request: RequestNames): string {
  return nameFromBytes(request.bytes, request.nameStart, request.nameEnd);
}

/**
 * The dependencies `request` names, as strings, repeats included. Allocates, like
 * {@linkcode requestName}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { namesOf, requestDependencies } from "./request_parser.ts";
 *
 * assert.deepEqual(requestDependencies(namesOf("cloog", ["gmp", "isl"])), ["gmp", "isl"]);
 * ```
 */
export function requestDependencies(request: RequestNames): string[] {
  const { bytes, dependencyBounds } = request;
  const names: string[] = [];
  for (let i = 0; i < 2 * request.dependencyCount; i += 2) {
    names.push(nameFromBytes(bytes, dependencyBounds[i]!, dependencyBounds[i + 1]!));
  }
  return names;
}

/**
 * Request names for a package given as strings, for callers that do not parse lines (loading,
 * undoing a failed commit, tests). Allocates; the request path never calls it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { namesOf } from "./request_parser.ts";
 *
 * const names = namesOf("cloog", ["gmp", "isl"]);
 * assert.equal(names.dependencyCount, 2);
 * assert.equal(new TextDecoder().decode(names.bytes.subarray(names.nameStart, names.nameEnd)), "cloog");
 * ```
 */
export function namesOf(name: string, dependencies: readonly string[]): RequestNames {
  const encoder = new TextEncoder();
  const parts = [name, ...dependencies].map((part) => encoder.encode(part));
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  const bounds = new Int32Array(2 * parts.length);
  let offset = 0;
  for (const [i, part] of parts.entries()) {
    bytes.set(part, offset);
    bounds[2 * i] = offset;
    bounds[2 * i + 1] = offset += part.length;
  }
  return {
    bytes,
    nameStart: 0,
    nameEnd: bounds[1]!,
    dependencyCount: dependencies.length,
    dependencyBounds: bounds.subarray(2),
  };
}

/**
 * One sentence saying why the line `request` last parsed is malformed, naming the field and
 * the byte (its offset from the start of the line), for `POST /v1/explain`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeProblem, RequestLine } from "./request_parser.ts";
 *
 * const request = new RequestLine();
 * request.parse(new TextEncoder().encode("INDEX|a b|\n"), 0);
 * assert.equal(
 *   describeProblem(request),
 *   "The package name holds a byte outside the name alphabet: byte 7 is 0x20.",
 * );
 * ```
 */
export function describeProblem(request: RequestLine): string {
  const sentence = request.problem?.sentence(request) ?? "the line is well-formed";
  return `${sentence[0]!.toUpperCase()}${sentence.slice(1)}.`;
}
