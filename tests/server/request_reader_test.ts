import assert from "node:assert/strict";
import {
  MAX_READ_BUFFER_BYTES,
  MIN_READ_BUFFER_BYTES,
  readRequestBatches,
} from "../../lib/server/request_reader.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A byte source that hands out `pieces` one per read, as far as the reader's buffer allows. */
function piecesSource(pieces: (string | Uint8Array)[]) {
  const queue = pieces.map((piece) => typeof piece === "string" ? encoder.encode(piece) : piece);
  const readSizes: number[] = [];
  return {
    readSizes,
    read(buffer: Uint8Array): Promise<number | null> {
      readSizes.push(buffer.length);
      const piece = queue.shift();
      if (piece === undefined) return Promise.resolve(null);
      const count = Math.min(piece.length, buffer.length);
      buffer.set(piece.subarray(0, count));
      if (count < piece.length) queue.unshift(piece.subarray(count));
      return Promise.resolve(count);
    },
  };
}

/** Every batch the reader yields for `pieces`, as its lines' text and its overlong flag. */
async function batchesOf(pieces: (string | Uint8Array)[], maxLineBytes = 1024) {
  const batches: { lines: string; overlong: boolean }[] = [];
  for await (const batch of readRequestBatches(piecesSource(pieces), { maxLineBytes })) {
    batches.push({
      lines: decoder.decode(batch.bytes.subarray(batch.start, batch.end)),
      overlong: batch.overlongLineEnded,
    });
  }
  return batches;
}

Deno.test("readRequestBatches yields the complete lines of each read, keeping a split line", async () => {
  assert.deepEqual(await batchesOf(["QUERY|a|\nQUERY|b|\nQUE", "RY|c|\n", "QUERY|d|"]), [
    { lines: "QUERY|a|\nQUERY|b|\n", overlong: false },
    { lines: "QUERY|c|\n", overlong: false },
    { lines: "", overlong: false }, // a last fragment without \n is never reported
  ]);
});

Deno.test("readRequestBatches joins a line split into single bytes", async () => {
  const line = "INDEX|gtk+3|glib\r\n";
  const batches = await batchesOf([...line]);
  assert.deepEqual(batches.map((batch) => batch.lines).join(""), line);
  assert.deepEqual(batches.at(-1), { lines: line, overlong: false });
});

Deno.test("readRequestBatches keeps a line of exactly the limit and drops a longer one as it streams", async () => {
  const exact = `QUERY|${"n".repeat(10)}|`; // 17 bytes
  assert.deepEqual(await batchesOf([exact.slice(0, 9), `${exact.slice(9)}\n`], 17), [
    { lines: "", overlong: false },
    { lines: `${exact}\n`, overlong: false },
  ]);
  const longer = `QUERY|${"n".repeat(11)}|`; // 18 bytes: dropped once 18 bytes are unfinished
  assert.deepEqual(await batchesOf([longer, "\nQUERY|a|\n"], 17), [
    { lines: "", overlong: false },
    { lines: "QUERY|a|\n", overlong: true },
  ]);
  assert.deepEqual(await batchesOf([longer, "xx", "x\nQUERY|a|\n"], 17), [
    { lines: "", overlong: false },
    { lines: "", overlong: false },
    { lines: "QUERY|a|\n", overlong: true },
  ]);
});

Deno.test("readRequestBatches drops a 10 MiB line without holding it, and reports it once", async () => {
  const chunk = new Uint8Array(64 * 1024).fill(0x78);
  const source = piecesSource([
    "QUERY|a|\n",
    ...Array.from({ length: 160 }, () => chunk),
    "\nQUERY|b|\n",
  ]);
  const lines: string[] = [];
  let overlong = 0;
  for await (const batch of readRequestBatches(source, { maxLineBytes: 1024 })) {
    lines.push(decoder.decode(batch.bytes.subarray(batch.start, batch.end)));
    if (batch.overlongLineEnded) overlong++;
  }
  assert.equal(lines.join(""), "QUERY|a|\nQUERY|b|\n");
  assert.equal(overlong, 1);
  assert.ok(Math.max(...source.readSizes) <= MAX_READ_BUFFER_BYTES, "the buffer stayed bounded");
});

Deno.test("readRequestBatches grows its buffer for a busy client and shrinks it when quiet", async () => {
  const busy = "QUERY|a|\n".repeat(20_000);
  const source = piecesSource([busy, "QUERY|a|\n", "QUERY|a|\n", "QUERY|a|\n"]);
  for await (const _ of readRequestBatches(source, { maxLineBytes: 1024 })) {
    // Only the sizes of the reads matter here.
  }
  assert.equal(source.readSizes[0], MIN_READ_BUFFER_BYTES);
  assert.equal(Math.max(...source.readSizes), MAX_READ_BUFFER_BYTES);
  assert.equal(source.readSizes.at(-1), MIN_READ_BUFFER_BYTES);
});

Deno.test("readRequestBatches reads every burst whole after the first, for bursts a little over its quiet size", async () => {
  // 64 lines of 18 bytes: 1,152 bytes, just over the 1,024 a quiet connection reads into.
  const burst = "QUERY|openssl@3|\n".repeat(64);
  const bursts = 10;
  const source = piecesSource(Array.from({ length: bursts }, () => burst));
  let lines = 0;
  let reads = 0;
  for await (const batch of readRequestBatches(source, { maxLineBytes: 1024 })) {
    reads++;
    lines += decoder.decode(batch.bytes.subarray(batch.start, batch.end)).split("\n").length - 1;
  }
  assert.equal(lines, 64 * bursts);
  assert.equal(reads, bursts + 1, "only the first burst took two reads");
  assert.ok(source.readSizes.slice(2).every((size) => size === 2 * MIN_READ_BUFFER_BYTES));
});

Deno.test("readRequestBatches grows past the busy size only to hold an unfinished line", async () => {
  const line = `INDEX|a|${"d,".repeat(60_000)}d\n`; // about 120 KB
  const source = piecesSource([line]);
  const lines: string[] = [];
  for await (const batch of readRequestBatches(source, { maxLineBytes: 200_000 })) {
    lines.push(decoder.decode(batch.bytes.subarray(batch.start, batch.end)));
  }
  assert.equal(lines.join(""), line);
  assert.ok(Math.max(...source.readSizes) < 2 * line.length);
});
