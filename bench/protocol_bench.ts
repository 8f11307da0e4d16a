/**
 * `deno bench bench/protocol_bench.ts`: the cost of turning request bytes into requests and
 * replies into bytes, per line.
 *
 * @module
 */

import { LineSplitter } from "../lib/line_splitter.ts";
import { encodeReplies, parseRequest, type Reply } from "../lib/protocol.ts";

const QUERY = "QUERY|libpng|";
const INDEX = "INDEX|gtk+3|atk,cairo,gdk-pixbuf,glib,gobject-introspection,libepoxy,pango";
const BROKEN = "INDEX|gtk+3|atk,,cairo";
const BATCH = `${QUERY}\n`.repeat(48) + `${INDEX}\n`.repeat(16);
const REPLIES: Reply[] = Array.from({ length: 64 }, (_, i) => (i % 5 === 0 ? "FAIL" : "OK"));

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

Deno.bench("encodeReplies: 64 replies into one write", { group: "batch" }, () => {
  encodeReplies(REPLIES);
});

Deno.bench("encodeReplies: a single reply", { group: "batch" }, () => {
  encodeReplies(["OK"]);
});
