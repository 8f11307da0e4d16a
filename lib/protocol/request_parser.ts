/**
 * Parsing request lines, `<COMMAND>|<package>|<dependencies>`, by the rules of the command
 * table.
 *
 * @module
 */

import { COMMAND_TABLE } from "./command_table.ts";
import { MAX_NAME_BYTES, NAME_BYTES } from "./names.ts";

/** A well-formed request line. */
export interface Request {
  /** What to do: the command's position in `COMMAND_TABLE`. */
  command: number;
  /** The package the command is about. */
  name: string;
  /** The dependencies named by a command that takes them, possibly with repeats; else empty. */
  dependencies: readonly string[];
}

/** The dependency list of every request that names none, shared to spare an array each. */
const NO_DEPENDENCIES: readonly string[] = Object.freeze([]);

const COMMA = 0x2c;

/**
 * Parses one request line (already stripped of its line ending). Returns `undefined` for anything
 * malformed: an unknown command, a field count other than three, an empty or over-long name, a
 * character outside the name alphabet, an empty entry in the dependency list, or dependencies on
 * a command that takes none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRequest } from "./request_parser.ts";
 *
 * const request = parseRequest("INDEX|cloog|gmp,isl");
 * assert.equal(request?.command, 0); // INDEX, the first entry of COMMAND_TABLE
 * assert.equal(request?.name, "cloog");
 * assert.deepEqual(request?.dependencies, ["gmp", "isl"]);
 * assert.equal(parseRequest("QUERY|cloog|gmp"), undefined);
 * ```
 */
export function parseRequest(line: string): Request | undefined {
  const firstBar = line.indexOf("|");
  const command = COMMAND_TABLE.findIndex((candidate) =>
    candidate.name.length === firstBar && line.startsWith(candidate.name)
  );
  if (command === -1) return undefined;
  const secondBar = line.indexOf("|", firstBar + 1);
  if (secondBar === -1 || !isName(line, firstBar + 1, secondBar)) return undefined;
  const name = line.slice(firstBar + 1, secondBar);
  if (secondBar + 1 === line.length) return { command, name, dependencies: NO_DEPENDENCIES };
  if (!COMMAND_TABLE[command]!.takesDependencies) return undefined;
  const dependencies = parseNameList(line, secondBar + 1);
  if (dependencies === undefined) return undefined;
  return { command, name, dependencies };
}

/** Whether `text[start, end)` is a valid package name. */
function isName(text: string, start: number, end: number): boolean {
  if (end <= start || end - start > MAX_NAME_BYTES) return false;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f || NAME_BYTES[code] !== 1) return false;
  }
  return true;
}

/** Parses the comma-separated names from `start` to the end of `text`, or `undefined`. */
function parseNameList(text: string, start: number): string[] | undefined {
  const names: string[] = [];
  let nameStart = start;
  for (let i = start; i <= text.length; i++) {
    if (i < text.length && text.charCodeAt(i) !== COMMA) continue;
    if (!isName(text, nameStart, i)) return undefined;
    names.push(text.slice(nameStart, i));
    nameStart = i + 1;
  }
  return names;
}
