import assert from "node:assert/strict";
import { type Reply, REPLY_CODES } from "../../lib/protocol/replies.ts";
import { ReplyBuffer } from "../../lib/server/reply_buffer.ts";

/** The bytes of `replies` pushed in order into a fresh buffer, as text. */
function encodeReplies(replies: Reply[]): string {
  const buffer = new ReplyBuffer();
  for (const reply of replies) buffer.push(REPLY_CODES[reply]);
  return new TextDecoder().decode(buffer.bytes());
}

Deno.test("ReplyBuffer writes the replies in order as one buffer", () => {
  assert.equal(encodeReplies(["OK"]), "OK\n");
  assert.equal(encodeReplies(["FAIL"]), "FAIL\n");
  assert.equal(encodeReplies(["ERROR"]), "ERROR\n");
  assert.equal(encodeReplies(["OK", "FAIL", "ERROR", "OK"]), "OK\nFAIL\nERROR\nOK\n");
  assert.equal(encodeReplies([]), "");
});

Deno.test("ReplyBuffer grows past its first capacity and starts small again after clear", () => {
  const buffer = new ReplyBuffer();
  for (let i = 0; i < 20_000; i++) buffer.push(REPLY_CODES.ERROR);
  assert.equal(buffer.length, 120_000);
  assert.equal(new TextDecoder().decode(buffer.bytes()), "ERROR\n".repeat(20_000));
  buffer.clear();
  assert.equal(buffer.length, 0);
  buffer.push(REPLY_CODES.OK);
  assert.equal(new TextDecoder().decode(buffer.bytes()), "OK\n");
});

Deno.test("ReplyBuffer truncates to a length it held, to redo a slice of replies", () => {
  const buffer = new ReplyBuffer();
  buffer.push(REPLY_CODES.OK);
  buffer.push(REPLY_CODES.OK);
  buffer.truncate(3);
  buffer.push(REPLY_CODES.ERROR);
  assert.equal(new TextDecoder().decode(buffer.bytes()), "OK\nERROR\n");
});
