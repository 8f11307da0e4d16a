/**
 * The wire protocol: `<COMMAND>|<package>|<dependencies>` request lines and one-word replies.
 *
 * @module
 */

import { type Line, OVERLONG_LINE } from "./line_splitter.ts";

/** The commands a client can send. Case-sensitive on the wire. */
export type Command = "INDEX" | "REMOVE" | "QUERY";

/** Every command, in the order they are documented and reported. */
export const COMMANDS: readonly Command[] = ["INDEX", "REMOVE", "QUERY"];

/** A well-formed request line. */
export interface Request {
  /** What to do. */
  command: Command;
  /** The package the command is about. */
  name: string;
  /** The dependencies named by an `INDEX`, possibly with repeats; always empty for the others. */
  dependencies: readonly string[];
}

/** The possible replies: `OK` and `FAIL` answer a request, `ERROR` rejects a malformed line. */
export type Reply = "OK" | "FAIL" | "ERROR";

/** The longest package name accepted, in bytes. */
export const MAX_NAME_LENGTH = 255;

/** Which commands take a dependency list; for the others the third field must be empty. */
const TAKES_DEPENDENCIES: Readonly<Record<Command, boolean>> = {
  INDEX: true,
  REMOVE: false,
  QUERY: false,
};

/** The dependency list of every request that names none, shared to spare an array each. */
const NO_DEPENDENCIES: readonly string[] = Object.freeze([]);

/**
 * Whether a character code may appear in a package name: `A-Z a-z 0-9 . _ + @ / : ~ -`. This
 * covers every Homebrew formula (`gtk+3`, `libsigc++`) and the usual ecosystem spellings
 * (`python@3.12`, `@scope/pkg`, `org.example:artifact`) while keeping the separators `|` and `,`,
 * white space and everything outside ASCII out.
 */
const NAME_CHARACTERS: Uint8Array = (() => {
  const table = new Uint8Array(128);
  const allowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+@/:~-";
  for (let i = 0; i < allowed.length; i++) table[allowed.charCodeAt(i)] = 1;
  return table;
})();

const COMMA = 0x2c;

/**
 * Parses one request line (already stripped of its line ending). Returns `undefined` for anything
 * malformed: an unknown command, a field count other than three, an empty or over-long name, a
 * character outside the name alphabet, an empty entry in the dependency list, dependencies on a
 * command that takes none, or a line that was too long to keep.
 *
 * @example
 * ```ts
 * import { parseRequest } from "./protocol.ts";
 *
 * parseRequest("INDEX|cloog|gmp,isl"); // { command: "INDEX", name: "cloog", dependencies: ["gmp", "isl"] }
 * parseRequest("QUERY|cloog|gmp"); // undefined
 * ```
 */
export function parseRequest(line: Line): Request | undefined {
  if (line === OVERLONG_LINE) return undefined;
  const firstBar = line.indexOf("|");
  const command = COMMANDS.find((candidate) =>
    candidate.length === firstBar && line.startsWith(candidate)
  );
  if (command === undefined) return undefined;
  const secondBar = line.indexOf("|", firstBar + 1);
  if (secondBar === -1 || !isName(line, firstBar + 1, secondBar)) return undefined;
  const name = line.slice(firstBar + 1, secondBar);
  if (secondBar + 1 === line.length) return { command, name, dependencies: NO_DEPENDENCIES };
  if (!TAKES_DEPENDENCIES[command]) return undefined;
  const dependencies = parseNameList(line, secondBar + 1);
  if (dependencies === undefined) return undefined;
  return { command, name, dependencies };
}

/**
 * Whether `name` is a valid package name: 1 to {@linkcode MAX_NAME_LENGTH} characters from the
 * name alphabet.
 *
 * @example
 * ```ts
 * import { isValidName } from "./protocol.ts";
 *
 * isValidName("gtk+3"); // true
 * isValidName("a b"); // false
 * ```
 */
export function isValidName(name: string): boolean {
  return isName(name, 0, name.length);
}

/** Whether `text[start, end)` is a valid package name. */
function isName(text: string, start: number, end: number): boolean {
  if (end <= start || end - start > MAX_NAME_LENGTH) return false;
  for (let i = start; i < end; i++) {
    if (NAME_CHARACTERS[text.charCodeAt(i)] !== 1) return false;
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

const ENCODED_REPLIES: Readonly<Record<Reply, Uint8Array>> = {
  OK: new TextEncoder().encode("OK\n"),
  FAIL: new TextEncoder().encode("FAIL\n"),
  ERROR: new TextEncoder().encode("ERROR\n"),
};

/**
 * Encodes replies, in order, as the bytes of one write. The result may be shared between calls, so
 * it must not be modified.
 *
 * @example
 * ```ts
 * import { encodeReplies } from "./protocol.ts";
 *
 * new TextDecoder().decode(encodeReplies(["OK", "FAIL"])); // "OK\nFAIL\n"
 * ```
 */
export function encodeReplies(replies: readonly Reply[]): Uint8Array {
  if (replies.length === 1) return ENCODED_REPLIES[replies[0]!];
  let length = 0;
  for (const reply of replies) length += ENCODED_REPLIES[reply].length;
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const reply of replies) {
    // Byte by byte: TypedArray.set() costs more than copying three to six bytes.
    const encoded = ENCODED_REPLIES[reply];
    for (let i = 0; i < encoded.length; i++) bytes[offset++] = encoded[i]!;
  }
  return bytes;
}
