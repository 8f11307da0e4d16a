/**
 * The protocol's rules as a plain model, and random lines to check the server (and whatever else
 * decides replies) against it.
 *
 * @module
 */

import { type Random, randomInt } from "../../lib/tools/random.ts";

/** The longest line the model accepts; give the server the same `maxLineBytes`. */
export const MAX_LINE_BYTES = 48;

/**
 * The protocol's rules written as plainly as possible, on strings: one character per byte,
 * a regular expression per rule, a Map for the index and a depth-first search for cycles.
 */
export class ProtocolModel {
  readonly #dependencies = new Map<string, Set<string>>();

  /** The replies to every complete line of `stream`, as the server must send them. */
  answer(stream: Uint8Array): string {
    const text = String.fromCharCode(...stream);
    const lines = text.split("\n").slice(0, -1); // a last piece without \n gets no reply
    return lines.map((line) => `${this.#reply(line)}\n`).join("");
  }

  #reply(line: string): string {
    if (line.length > MAX_LINE_BYTES) return "ERROR";
    const request = /^(INDEX|REMOVE|QUERY)\|([A-Za-z0-9._+@\/:~-]{1,255})\|(.*?)\r?$/.exec(line);
    if (request === null) return "ERROR";
    const [, command, name, list] = request as unknown as [string, string, string, string];
    const names = /^[A-Za-z0-9._+@\/:~-]{1,255}(,[A-Za-z0-9._+@\/:~-]{1,255})*$/;
    if (list !== "" && (command !== "INDEX" || !names.test(list))) return "ERROR";
    const dependencies = new Set(list === "" ? [] : list.split(","));
    if (command === "QUERY") return this.#dependencies.has(name) ? "OK" : "FAIL";
    if (command === "REMOVE") {
      const dependedOn = [...this.#dependencies.values()].some((deps) => deps.has(name));
      if (dependedOn) return "FAIL";
      this.#dependencies.delete(name);
      return "OK";
    }
    for (const dependency of dependencies) {
      if (!this.#dependencies.has(dependency) || this.#reaches(dependency, name)) return "FAIL";
    }
    this.#dependencies.set(name, dependencies);
    return "OK";
  }

  /** Whether `from` is `to` or depends on it, directly or not. */
  #reaches(from: string, to: string): boolean {
    if (from === to) return true;
    return [...this.#dependencies.get(from)!].some((next) => this.#reaches(next, to));
  }
}

/** The few names random lines use, so that they meet each other often. */
export const NAMES = ["a", "b", "c", "gtk+3", "py@3.12", "@scope/p", "x:y~z", "n".repeat(30)];
const COMMANDS = ["INDEX", "REMOVE", "QUERY"];

/** One line of a random stream: mostly requests on a few names, with every kind of damage. */
export function randomLine(random: Random): string {
  const pick = <T>(items: readonly T[]) => items[randomInt(random, items.length)]!;
  const dependencies = Array.from({ length: randomInt(random, 4) }, () => pick(NAMES));
  let line = `${pick(COMMANDS)}|${pick(NAMES)}|${random() < 0.6 ? dependencies.join(",") : ""}`;
  switch (randomInt(random, 14)) {
    case 0: // a byte anywhere that is not allowed there
      return line.slice(0, randomInt(random, line.length)) +
        pick([" ", "=", "☃", "\u0000", "\t", "|", ",", "\r", "\u00ff", "é"]) +
        line.slice(randomInt(random, line.length));
    case 1:
      return line.split("|").slice(0, 2).join("|"); // two fields
    case 2:
      return pick(["BLINDEX", "REMOVES", "QUER", "LIZARD", "I", "", "index"]) +
        line.slice(line.indexOf("|"));
    case 3:
      return line + ",".repeat(randomInt(random, 2)); // an empty entry, maybe
    case 4:
      return line + "\r"; // one carriage return is fine
    case 5:
      return line + "x".repeat(randomInt(random, 60)); // may exceed the line limit
    case 6:
      line = `\ufeff${line}`; // a byte order mark
  }
  return line;
}
