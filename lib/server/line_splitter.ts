/**
 * Bounded line framing for a byte stream that arrives in arbitrary pieces.
 *
 * @module
 */

/** Stands in for a line that was longer than the limit; its content was discarded unread. */
export const OVERLONG_LINE: unique symbol = Symbol("overlong line");

/** A complete line without its `\n` (and without one `\r` before it), or {@linkcode OVERLONG_LINE}. */
export type Line = string | typeof OVERLONG_LINE;

/**
 * Splits text into `\n`-terminated lines, holding at most `maxLineLength` characters of an
 * unfinished line between pieces. A longer line is dropped as it streams in (so memory stays
 * bounded however much arrives) and reported once, as {@linkcode OVERLONG_LINE}, when its `\n`
 * arrives. One `\r` right before the `\n` is removed. A final piece without `\n` is never
 * reported: a line counts only once it is terminated.
 *
 * The limit counts UTF-16 code units of the decoded text. For the ASCII lines of the protocol
 * that is exactly the byte count; any other character makes a line invalid anyway.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineSplitter } from "./line_splitter.ts";
 *
 * const splitter = new LineSplitter(16);
 * assert.deepEqual(splitter.push("QUERY|a|\nQUE"), ["QUERY|a|"]);
 * assert.deepEqual(splitter.push("RY|b|\r\n"), ["QUERY|b|"]);
 * ```
 */
export class LineSplitter {
  readonly #maxLineLength: number;
  /** The unfinished line so far; never longer than #maxLineLength. */
  #partial = "";
  /** Whether the unfinished line has already exceeded the limit and is being skipped. */
  #discarding = false;

  /** Makes a splitter that reports lines longer than `maxLineLength` as {@linkcode OVERLONG_LINE}. */
  constructor(maxLineLength: number) {
    this.#maxLineLength = maxLineLength;
  }

  /** Takes the next piece of text and returns the lines it completes, in order. */
  push(text: string): Line[] {
    const lines: Line[] = [];
    let start = 0;
    let end = text.indexOf("\n");
    while (end !== -1) {
      lines.push(this.#finish(text, start, end));
      start = end + 1;
      end = text.indexOf("\n", start);
    }
    if (start < text.length && !this.#discarding) {
      if (this.#partial.length + text.length - start > this.#maxLineLength) {
        this.#partial = "";
        this.#discarding = true;
      } else {
        this.#partial += text.slice(start);
      }
    }
    return lines;
  }

  #finish(text: string, start: number, end: number): Line {
    if (this.#discarding) {
      this.#discarding = false;
      return OVERLONG_LINE;
    }
    let line = text.slice(start, end);
    if (this.#partial !== "") {
      line = this.#partial + line;
      this.#partial = "";
    }
    if (line.length > this.#maxLineLength) return OVERLONG_LINE;
    return line.endsWith("\r") ? line.slice(0, -1) : line;
  }
}
