import assert from "node:assert/strict";
import { COMMAND_TABLE } from "../../lib/protocol/command_table.ts";
import { MAX_NAME_BYTES } from "../../lib/protocol/names.ts";
import { parseRequest as parse } from "../../lib/protocol/request_parser.ts";

/** Parses `line`, naming the command instead of giving its place in the table. */
function parseRequest(line: string) {
  const request = parse(line);
  return request && { ...request, command: COMMAND_TABLE[request.command]!.name };
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

Deno.test("parseRequest parses the three commands", () => {
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

Deno.test("parseRequest accepts every character of the name alphabet", () => {
  for (const name of BREW_STYLE_NAMES) {
    assert.equal(parseRequest(`QUERY|${name}|`)?.name, name);
    assert.deepEqual(parseRequest(`INDEX|p|${name},${name}`)?.dependencies, [name, name]);
  }
});

Deno.test("parseRequest accepts a name of 255 bytes and refuses 256", () => {
  const longest = "n".repeat(MAX_NAME_BYTES);
  assert.equal(parseRequest(`QUERY|${longest}|`)?.name, longest);
  assert.equal(parseRequest(`QUERY|${longest}n|`), undefined);
  assert.equal(parseRequest(`INDEX|a|${longest}n`), undefined);
});

Deno.test("parseRequest refuses malformed lines", () => {
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
