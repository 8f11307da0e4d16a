import assert from "node:assert/strict";
import { UsageError } from "../../lib/cli/flags.ts";
import { readMessages, SEND, type SendConfig } from "../../lib/cli/send.ts";
import { type EnvReader, parseCommandLine } from "../../lib/cli/subcommand.ts";
import { collect } from "../support/async_helpers.ts";

/** The configuration `pkgindex send` runs with for `args` and the environment `env`. */
function parseSendArgs(args: string[], env: EnvReader): SendConfig {
  const commandLine = parseCommandLine(SEND, args, env);
  if (commandLine.kind !== "run") throw new Error(`Expected a run, got ${commandLine.kind}`);
  return commandLine.config;
}

Deno.test("parseSendArgs connects to 127.0.0.1:8080 by default and keeps messages in order", () => {
  assert.deepEqual(parseSendArgs(["QUERY|a|", "QUERY|b|"], () => undefined), {
    hostname: "127.0.0.1",
    port: 8080,
    messages: ["QUERY|a|", "QUERY|b|"],
  });
});

Deno.test("parseSendArgs takes --host and --port, falling back to PKGINDEX_PORT", () => {
  const env = (name: string) => name === "PKGINDEX_PORT" ? "9000" : undefined;
  assert.deepEqual(parseSendArgs(["--host", "localhost"], env), {
    hostname: "localhost",
    port: 9000,
    messages: [],
  });
  assert.deepEqual(parseSendArgs(["--port", "9001"], env), {
    hostname: "127.0.0.1",
    port: 9001,
    messages: [],
  });
});

Deno.test("parseSendArgs rejects a message with a line break", () => {
  assert.throws(
    () => parseSendArgs(["QUERY|a|\nQUERY|b|"], () => undefined),
    new UsageError('Cannot send "QUERY|a|\\nQUERY|b|": a message is one line, without line breaks'),
  );
});

Deno.test("readMessages splits input into lines, keeping a last line without a line feed", async () => {
  const bytes = new TextEncoder().encode("INDEX|gmp|\r\nQUERY|é|\n\nQUERY|isl|");
  // Pieces of 3 bytes split lines and the two bytes of "é" across reads.
  let offset = 0;
  const source = {
    read(buffer: Uint8Array): Promise<number | null> {
      if (offset === bytes.length) return Promise.resolve(null);
      const piece = bytes.subarray(offset, Math.min(offset + 3, bytes.length));
      buffer.set(piece);
      offset += piece.length;
      return Promise.resolve(piece.length);
    },
  };
  assert.deepEqual(await collect(readMessages(source)), [
    "INDEX|gmp|",
    "QUERY|é|",
    "",
    "QUERY|isl|",
  ]);
});
