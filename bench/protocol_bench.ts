/**
 * `deno bench bench/protocol_bench.ts`: the cost of turning request bytes into requests and
 * replies into bytes, per line.
 *
 * @module
 */

import { LineSplitter } from "../lib/server/line_splitter.ts";
import { REPLY_CODES } from "../lib/protocol/replies.ts";
import { parseRequest } from "../lib/protocol/request_parser.ts";
import { ReplyBuffer } from "../lib/server/reply_buffer.ts";

const QUERY = "QUERY|libpng|";
const INDEX = "INDEX|gtk+3|atk,cairo,gdk-pixbuf,glib,gobject-introspection,libepoxy,pango";
const BROKEN = "INDEX|gtk+3|atk,,cairo";
const BATCH = `${QUERY}\n`.repeat(48) + `${INDEX}\n`.repeat(16);
const REPLIES: number[] = Array.from(
  { length: 64 },
  (_, i) => (i % 5 === 0 ? REPLY_CODES.FAIL : REPLY_CODES.OK),
);
const replyBuffer = new ReplyBuffer();

Deno.bench("parseRequest QUERY", { group: "parse", baseline: true }, () => {
  parseRequest(QUERY);
});

Deno.bench("parseRequest INDEX with 7 dependencies", { group: "parse" }, () => {
  parseRequest(INDEX);
});

Deno.bench("parseRequest malformed (empty dependency)", { group: "parse" }, () => {
  parseRequest(BROKEN);
});

Deno.bench("LineSplitter: a batch of 64 lines", { group: "batch", baseline: true }, () => {
  new LineSplitter(65536).push(BATCH);
});

Deno.bench("ReplyBuffer: 64 replies into one write", { group: "batch" }, () => {
  for (const reply of REPLIES) replyBuffer.push(reply);
  replyBuffer.clear();
});
