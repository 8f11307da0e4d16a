import assert from "node:assert/strict";
import { COMMAND_TABLE } from "../../lib/protocol/command_table.ts";
import { MAX_NAME_BYTES } from "../../lib/protocol/names.ts";
import {
  describeProblem,
  type Problem,
  PROBLEMS,
  requestDependencies,
  RequestLine,
  requestName,
} from "../../lib/protocol/request_parser.ts";

const encoder = new TextEncoder();

/**
 * Parses `line` (without its line feed) the way the server does, in the middle of a buffer,
 * and returns the request with its command by name and its names as strings.
 */
function parseRequest(line: string | Uint8Array) {
  const bytes = typeof line === "string" ? encoder.encode(line) : line;
  const buffer = new Uint8Array([...encoder.encode("QUERY|before|\n"), ...bytes, 0x0a, 0x41]);
  const request = new RequestLine();
  const start = 14;
  const newline = request.parse(buffer, start);
  assert.equal(newline, buffer.length - 2, "the parse ends at the line feed");
  if (request.command === -1) return undefined;
  return {
    command: COMMAND_TABLE[request.command]!.name,
    name: requestName(request),
    dependencies: requestDependencies(request),
  };
}

const BREW_STYLE_NAMES = [
  "gtk+3",
  "libsigc++",
  "dvd+rw-tools",
  "python@3.12",
  "@scope/pkg",
  "org.example:artifact",
  "a",
  "x_y~z",
  "Z9",
];

Deno.test("RequestLine.parse parses the three commands", () => {
  assert.deepEqual(parseRequest("INDEX|cloog|gmp,isl,pkg-config"), {
    command: "INDEX",
    name: "cloog",
    dependencies: ["gmp", "isl", "pkg-config"],
  });
  assert.deepEqual(parseRequest("INDEX|gmp|"), { command: "INDEX", name: "gmp", dependencies: [] });
  assert.deepEqual(parseRequest("REMOVE|gmp|"), {
    command: "REMOVE",
    name: "gmp",
    dependencies: [],
  });
  assert.deepEqual(parseRequest("QUERY|gmp|"), { command: "QUERY", name: "gmp", dependencies: [] });
});

Deno.test("RequestLine.parse accepts every character of the name alphabet", () => {
  for (const name of BREW_STYLE_NAMES) {
    assert.equal(parseRequest(`QUERY|${name}|`)?.name, name);
    assert.deepEqual(parseRequest(`INDEX|p|${name},${name}`)?.dependencies, [name, name]);
  }
});

Deno.test("RequestLine.parse accepts a name of 255 bytes and refuses 256", () => {
  const longest = "n".repeat(MAX_NAME_BYTES);
  assert.equal(parseRequest(`QUERY|${longest}|`)?.name, longest);
  assert.equal(parseRequest(`QUERY|${longest}n|`), undefined);
  assert.equal(parseRequest(`INDEX|a|${longest}n`), undefined);
});

Deno.test("RequestLine.parse refuses malformed lines", () => {
  const malformed = [
    "",
    "QUERY",
    "QUERY|a",
    "QUERY|a|b|",
    "INDEX|a|b|c",
    "query|a|",
    "Query|a|",
    "FOO|a|",
    "|a|",
    "QUERY||",
    "INDEX||a",
    "QUERY|a b|",
    " QUERY|a|",
    "QUERY|a|b",
    "REMOVE|a|b",
    "QUERY|a|,",
    "INDEX|a|b,,c",
    "INDEX|a|b,",
    "INDEX|a|,b",
    "INDEX|a|,",
    "INDEX|a=b|",
    "INDEX|☃|",
    "INDEX|a|☃",
    "INDEX|a\u0000|",
    "INDEX|a\t|",
    "INDEX|a\r|",
    "\uFEFFQUERY|a|",
    "INDEX|\uFFFD|",
    "constructor|a|",
    "__proto__|a|",
  ];
  for (const line of malformed) {
    assert.equal(parseRequest(line), undefined, JSON.stringify(line));
  }
});

Deno.test("RequestLine.parse refuses every byte outside ASCII, a byte order mark and NUL", () => {
  for (let byte = 0; byte < 256; byte++) {
    if (byte === 0x0a) continue; // it ends the line
    const allowed = /[A-Za-z0-9._+@\/:~-]/.test(String.fromCharCode(byte));
    const parsed = parseRequest(new Uint8Array([...encoder.encode("QUERY|a"), byte, 0x7c]));
    assert.equal(parsed !== undefined, allowed, `byte 0x${byte.toString(16)}`);
  }
  assert.equal(
    parseRequest(new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode("QUERY|a|")])),
    undefined,
  );
  assert.equal(
    parseRequest(new Uint8Array([...encoder.encode("QUERY|"), 0xc3, 0xa9, 0x7c])),
    undefined,
  );
});

Deno.test("RequestLine.parse takes one carriage return before the line feed, and no other", () => {
  assert.deepEqual(parseRequest("INDEX|a|b\r"), {
    command: "INDEX",
    name: "a",
    dependencies: ["b"],
  });
  assert.deepEqual(parseRequest("QUERY|a|\r"), { command: "QUERY", name: "a", dependencies: [] });
  assert.equal(parseRequest("QUERY|a|\r\r"), undefined);
  assert.equal(parseRequest("QUERY|a\r|"), undefined);
  assert.equal(parseRequest("QUERY\r|a|"), undefined);
});

Deno.test("RequestLine.parse finds the end of a malformed line wherever the problem is", () => {
  const bytes = encoder.encode("BLINDEX|a|\nINDEX|a b|c\nINDEX|a|b,,c\nQUERY|a|\n");
  const request = new RequestLine();
  const ends: number[] = [];
  for (let at = 0; at < bytes.length; at = ends.at(-1)! + 1) ends.push(request.parse(bytes, at));
  assert.deepEqual(ends, [10, 22, 35, 44]);
  assert.equal(request.command, 2, "the last line is a QUERY");
});

Deno.test("RequestLine.parse says which field and which byte make a line malformed", () => {
  const cases: [string, Problem, string][] = [
    [
      "BLINDEX|a|",
      PROBLEMS.unknownCommand,
      "The command is not one of INDEX, REMOVE, QUERY followed by |: byte 0 is 0x42.",
    ],
    [
      "INDEX|emacs\u2603elisp",
      PROBLEMS.badNameByte,
      "The package name holds a byte outside the name alphabet: byte 11 is 0xe2.",
    ],
    [
      "INDEX|emacs=elisp",
      PROBLEMS.badNameByte,
      "The package name holds a byte outside the name alphabet: byte 11 is 0x3d.",
    ],
    [
      "INDEX|emacs",
      PROBLEMS.missingField,
      "The line has fewer than three fields: byte 11 is the end of the line.",
    ],
    ["QUERY||", PROBLEMS.emptyName, "The package name is empty: byte 6 is 0x7c."],
    [
      "QUERY|a|b",
      PROBLEMS.unexpectedDependencies,
      "This command takes no dependencies: byte 8 is 0x62.",
    ],
    [
      "INDEX|a|b,",
      PROBLEMS.emptyDependency,
      "The dependency list has an empty entry: byte 10 is the end of the line.",
    ],
    [
      "INDEX|a|b c",
      PROBLEMS.badDependencyByte,
      "The dependency list holds a byte outside the name alphabet: byte 9 is 0x20.",
    ],
    [
      `QUERY|${"n".repeat(256)}|`,
      PROBLEMS.nameTooLong,
      "The package name is longer than 255 bytes: byte 6 is 0x6e.",
    ],
    [
      `INDEX|a|${"n".repeat(256)}`,
      PROBLEMS.dependencyTooLong,
      "A dependency name is longer than 255 bytes: byte 8 is 0x6e.",
    ],
  ];
  for (const [line, problem, sentence] of cases) {
    const request = new RequestLine();
    request.parse(encoder.encode(`${line}\n`), 0);
    assert.equal(request.command, -1, line);
    assert.equal(request.problem, problem, line);
    assert.equal(describeProblem(request), sentence);
  }
});

Deno.test("RequestLine.parse reuses one object: a new line leaves nothing of the previous one", () => {
  const request = new RequestLine();
  const bytes = encoder.encode(
    `INDEX|a|${Array.from({ length: 100 }, (_, i) => `d${i}`).join(",")}\nINDEX|b|\n`,
  );
  const first = request.parse(bytes, 0);
  assert.equal(request.dependencyCount, 100, "the dependency list grew past its first capacity");
  request.parse(bytes, first + 1);
  assert.equal(requestName(request), "b");
  assert.deepEqual(requestDependencies(request), []);
});

Deno.test("RequestLine.parse refuses a line over its limit before anything else is wrong", () => {
  const request = new RequestLine({ maxLineBytes: 9 });
  const bytes = encoder.encode("QUERY|ab|\nQUERY|abc|\nBLINDEX|abc|\n");
  assert.equal(request.parse(bytes, 0), 9);
  assert.equal(request.command, 2, "9 bytes with the limit at 9: the \\n does not count");
  assert.equal(request.parse(bytes, 10), 20);
  assert.equal(request.command, -1);
  assert.equal(request.problem, PROBLEMS.lineTooLong);
  assert.equal(request.problem.field, "line");
  assert.equal(request.problemAt, 10 + 9);
  assert.equal(
    describeProblem(request),
    "The line is 10 bytes long, over the server's limit of 9 (--max-line-bytes).",
  );
  request.parse(bytes, 21);
  assert.equal(request.problem, PROBLEMS.lineTooLong, "an unknown command on a long line");
});
