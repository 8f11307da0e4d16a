/**
 * The command table: every protocol command, in one place. An entry names the command, says
 * whether it takes a dependency list, and says what it does to the index; parsing, counting and
 * the metrics labels all follow from this table.
 *
 * @module
 */

/** Where a request's names are, as byte ranges of `bytes`: what the index needs of a request. */
export interface RequestNames {
  /** The bytes the names are in. */
  readonly bytes: Uint8Array;
  /** Where the package name starts. */
  readonly nameStart: number;
  /** Where the package name ends (exclusive). */
  readonly nameEnd: number;
  /** How many dependencies the request names (repeats included). */
  readonly dependencyCount: number;
  /** Dependency `i` is `bytes[dependencyBounds[2 * i], dependencyBounds[2 * i + 1])`. */
  readonly dependencyBounds: Int32Array;
}

/**
 * What the commands need from an index (the package index, or its durable wrapper): each
 * operation takes the names of a request as byte ranges, straight from the read buffer.
 */
export interface IndexOperations {
  /** Indexes the request's package with exactly its dependencies; `false` if not allowed. */
  indexRequest(request: RequestNames): boolean;
  /** Removes the request's package; `false` while something depends on it. */
  removeRequest(request: RequestNames): boolean;
  /** Whether the request's package is indexed. */
  hasRequest(request: RequestNames): boolean;
  /**
   * For an index that persists changes after applying them: the outcome of making everything
   * applied so far durable (`false` if it failed and was undone), or `undefined` when nothing is
   * waiting. Replies must not leave before it settles. An index without it is never waited for.
   */
  whenDurable?(): Promise<boolean> | undefined;
}

/** One command of the protocol. */
export interface CommandSpec {
  /** The command as written on the wire (case-sensitive). */
  readonly name: string;
  /** Whether the third field may hold a dependency list; when not, it must be empty. */
  readonly takesDependencies: boolean;
  /** Runs the command against `index`: `true` for the reply `OK`, `false` for `FAIL`. */
  readonly run: (index: IndexOperations, request: RequestNames) => boolean;
}

/**
 * Every command, in the order they are documented and reported. Adding a command is one entry
 * here (and, when it needs something new of the index, one method of
 * {@linkcode IndexOperations}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMMAND_TABLE } from "./command_table.ts";
 *
 * assert.deepEqual(COMMAND_TABLE.map((command) => command.name), ["INDEX", "REMOVE", "QUERY"]);
 * ```
 */
export const COMMAND_TABLE = [
  { name: "INDEX", takesDependencies: true, run: (index, request) => index.indexRequest(request) },
  {
    name: "REMOVE",
    takesDependencies: false,
    run: (index, request) => index.removeRequest(request),
  },
  { name: "QUERY", takesDependencies: false, run: (index, request) => index.hasRequest(request) },
] as const satisfies readonly CommandSpec[];

/** The name of a command in {@linkcode COMMAND_TABLE}. */
export type Command = (typeof COMMAND_TABLE)[number]["name"];

/** Every command's name, in table order. */
export const COMMANDS: readonly Command[] = COMMAND_TABLE.map((command) => command.name);
