import assert from "node:assert/strict";
import { COMMANDS } from "../../lib/protocol/command_table.ts";
import { REPLY_CODES } from "../../lib/protocol/replies.ts";
import { ServerStats, SliceCounts } from "../../lib/server/stats.ts";

const INDEX = COMMANDS.indexOf("INDEX");
const QUERY = COMMANDS.indexOf("QUERY");

/** A slice of two INDEX OK, one QUERY FAIL, one malformed line and one over-long line. */
function busySlice(): SliceCounts {
  const slice = new SliceCounts();
  slice.countReply(INDEX, REPLY_CODES.OK);
  slice.countReply(INDEX, REPLY_CODES.OK);
  slice.countReply(QUERY, REPLY_CODES.FAIL);
  slice.countMalformed(false);
  slice.countMalformed(true);
  return slice;
}

Deno.test("ServerStats adds a committed slice's counts as they were counted", () => {
  const stats = new ServerStats();
  const slice = busySlice();
  assert.equal(slice.lines, 5);
  stats.addSlice(slice, true);
  assert.deepEqual(stats.requests.INDEX, { OK: 2, FAIL: 0, ERROR: 0 });
  assert.deepEqual(stats.requests.QUERY, { OK: 0, FAIL: 1, ERROR: 0 });
  assert.equal(stats.malformedRequests, 2);
  assert.equal(stats.overlongLines, 1);
});

Deno.test("ServerStats counts every reply of a slice whose commit failed as ERROR", () => {
  const stats = new ServerStats();
  stats.addSlice(busySlice(), false);
  assert.deepEqual(stats.requests.INDEX, { OK: 0, FAIL: 0, ERROR: 2 });
  assert.deepEqual(stats.requests.QUERY, { OK: 0, FAIL: 0, ERROR: 1 });
  assert.equal(stats.malformedRequests, 2, "malformed lines stay malformed");
  assert.equal(stats.overlongLines, 1);
});

Deno.test("SliceCounts starts the next slice from zero", () => {
  const stats = new ServerStats();
  const slice = busySlice();
  stats.addSlice(slice, true);
  slice.clear();
  assert.equal(slice.lines, 0);
  stats.addSlice(slice, true);
  assert.deepEqual(stats.requests.INDEX, { OK: 2, FAIL: 0, ERROR: 0 }, "nothing added twice");
});

Deno.test("ServerStats counts the open connections from the set it is given", () => {
  const open = new Set<string>();
  const stats = new ServerStats({ openConnections: open });
  assert.equal(stats.connectionsOpen, 0);
  open.add("a").add("b");
  assert.equal(stats.connectionsOpen, 2);
  open.delete("a");
  assert.equal(stats.connectionsOpen, 1);
});
