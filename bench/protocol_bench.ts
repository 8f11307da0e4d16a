/**
 * `deno bench bench/protocol_bench.ts`: the cost of the request path's pieces, per request:
 * parsing a line in place, hashing a name, answering from the index, encoding the reply.
 *
 * @module
 */

import { PackageIndex } from "../lib/index/package_index.ts";
import { NameHasher } from "../lib/index/name_hash.ts";
import { COMMAND_TABLE } from "../lib/protocol/command_table.ts";
import { REPLY_CODES } from "../lib/protocol/replies.ts";
import { RequestLine } from "../lib/protocol/request_parser.ts";
import { ReplyBuffer } from "../lib/server/reply_buffer.ts";

const encoder = new TextEncoder();
const QUERY = encoder.encode("QUERY|libpng|\n");
const INDEX = encoder.encode(
  "INDEX|gtk+3|atk,cairo,gdk-pixbuf,glib,gobject-introspection,libepoxy,pango\n",
);
const BROKEN = encoder.encode("INDEX|gtk+3|atk,,cairo\n");
const BATCH = encoder.encode("QUERY|libpng|\n".repeat(64));

const request = new RequestLine();
const hasher = new NameHasher();
const index = new PackageIndex();
for (const name of ["libpng", "atk", "cairo", "gdk-pixbuf", "glib", "pango", "libepoxy"]) {
  index.index(name, []);
}
index.index("gobject-introspection", ["glib"]);
const replies = new ReplyBuffer();

Deno.bench("parse QUERY", { group: "parse", baseline: true }, () => {
  request.parse(QUERY, 0);
});

Deno.bench("parse INDEX with 7 dependencies", { group: "parse" }, () => {
  request.parse(INDEX, 0);
});

Deno.bench("parse malformed (empty dependency)", { group: "parse" }, () => {
  request.parse(BROKEN, 0);
});

Deno.bench("hash a 6-byte name", { group: "name" }, () => {
  hasher.hash(QUERY, 6, 12);
});

Deno.bench("hash a 21-byte name", { group: "name" }, () => {
  hasher.hash(INDEX, 48, 69);
});

Deno.bench("answer 64 pipelined QUERYs: parse, look up, encode", { group: "batch" }, () => {
  for (let at = 0; at < BATCH.length;) {
    const newline = request.parse(BATCH, at);
    const ok = COMMAND_TABLE[request.command]!.run(index, request);
    replies.push(ok ? REPLY_CODES.OK : REPLY_CODES.FAIL);
    at = newline + 1;
  }
  replies.clear();
});

Deno.bench("re-INDEX a package with 7 dependencies, in place", { group: "batch" }, () => {
  request.parse(INDEX, 0);
  COMMAND_TABLE[request.command]!.run(index, request);
});
