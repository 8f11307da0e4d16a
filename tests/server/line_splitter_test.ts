import assert from "node:assert/strict";
import { LineSplitter, OVERLONG_LINE } from "../../lib/server/line_splitter.ts";

Deno.test("LineSplitter returns every complete line of a piece, in order", () => {
  const splitter = new LineSplitter(100);
  assert.deepEqual(splitter.push("a\nb\n\nc\n"), ["a", "b", "", "c"]);
});

Deno.test("LineSplitter joins a line split over many pieces", () => {
  const splitter = new LineSplitter(100);
  assert.deepEqual(splitter.push("QUE"), []);
  assert.deepEqual(splitter.push("RY|a"), []);
  assert.deepEqual(splitter.push("|\nINDEX|b|\nREM"), ["QUERY|a|", "INDEX|b|"]);
  assert.deepEqual(splitter.push("OVE|b|\n"), ["REMOVE|b|"]);
});

Deno.test("LineSplitter removes exactly one carriage return before the newline", () => {
  const splitter = new LineSplitter(100);
  assert.deepEqual(splitter.push("a\r\nb\r\r\nc\rd\n"), ["a", "b\r", "c\rd"]);
  assert.deepEqual(splitter.push("e\r"), []);
  assert.deepEqual(splitter.push("\n"), ["e"]);
});

Deno.test("LineSplitter accepts a line of exactly the limit and reports a longer one", () => {
  const splitter = new LineSplitter(5);
  assert.deepEqual(splitter.push("12345\n123456\nok\n"), ["12345", OVERLONG_LINE, "ok"]);
});

Deno.test("LineSplitter discards an over-long line as it streams in and reports it once", () => {
  const splitter = new LineSplitter(8);
  assert.deepEqual(splitter.push("abcdef"), []);
  assert.deepEqual(splitter.push("ghijkl"), [], "over the limit: dropped, nothing reported yet");
  for (let i = 0; i < 1000; i++) assert.deepEqual(splitter.push("x".repeat(1000)), []);
  assert.deepEqual(splitter.push("tail\nnext\n"), [OVERLONG_LINE, "next"]);
});

Deno.test("LineSplitter never reports an unterminated final fragment", () => {
  const splitter = new LineSplitter(100);
  assert.deepEqual(splitter.push("QUERY|a|\nQUERY|b|"), ["QUERY|a|"]);
});
