/**
 * `pkgindex send`: sends request lines to a server and prints the replies, for scripts, smoke
 * tests and health checks.
 *
 * @module
 */

import { send } from "../protocol/client.ts";
import { errorMessage } from "../util/errors.ts";
import type { ByteSource } from "../util/io.ts";
import { writeText } from "../util/io.ts";
import { TARGET_FLAGS } from "./client_flags.ts";
import { UsageError } from "./flags.ts";
import type { Subcommand } from "./subcommand.ts";

/** Everything `pkgindex send` needs, after defaults and validation. */
export interface SendConfig {
  /** The server to connect to. */
  hostname: string;
  /** The server's TCP port. */
  port: number;
  /** The request lines to send; empty to read them from standard input. */
  messages: string[];
}

/**
 * `pkgindex send [MESSAGE...]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommandLine } from "./subcommand.ts";
 * import { SEND } from "./send.ts";
 *
 * assert.deepEqual(parseCommandLine(SEND, ["--port", "9000", "QUERY|gmp|"], () => undefined), {
 *   kind: "run",
 *   config: { hostname: "127.0.0.1", port: 9000, messages: ["QUERY|gmp|"] },
 * });
 * ```
 */
export const SEND: Subcommand<typeof TARGET_FLAGS, SendConfig> = {
  name: "send",
  summary: "send request lines to a server and print the replies",
  arguments: "[MESSAGE...]",
  description: `Sends each MESSAGE, one request line such as 'QUERY|openssl|', to a pkgindex
server over one connection and prints each reply on its own line. Without
messages, sends the lines of standard input instead.`,
  flags: TARGET_FLAGS,
  notes: `Exit codes: 0 when every message got a reply (OK, FAIL and ERROR alike), 1 when
the server cannot be reached, closes the connection early or answers something
that is not a reply, 2 on a usage error.`,
  configure: (values, { positionals }) => {
    for (const message of positionals) {
      if (/[\r\n]/.test(message)) {
        throw new UsageError(
          `Cannot send ${JSON.stringify(message)}: a message is one line, without line breaks`,
        );
      }
    }
    return { hostname: values.host, port: values.port, messages: positionals };
  },
  run: async ({ hostname, port, messages }) => {
    try {
      const batches = messages.length > 0 ? [messages] : readMessages(Deno.stdin);
      for await (const replies of send(batches, { hostname, port })) {
        writeText(Deno.stdout, replies.join("\n") + "\n");
      }
    } catch (error) {
      writeText(Deno.stderr, `${errorMessage(error)}\n`);
      return 1;
    }
    return 0;
  },
};

/**
 * Splits what `source` yields (standard input, say) into batches of message lines: one batch per
 * read, without the `\n` and one `\r` before it. A last line without `\n` is a message too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readMessages } from "./send.ts";
 *
 * const bytes = new TextEncoder().encode("INDEX|gmp|\r\nQUERY|gmp|");
 * let done = false;
 * const source = {
 *   read(buffer: Uint8Array) {
 *     if (done) return Promise.resolve(null);
 *     done = true;
 *     buffer.set(bytes);
 *     return Promise.resolve(bytes.length);
 *   },
 * };
 * const batches = [];
 * for await (const batch of readMessages(source)) batches.push(batch);
 * assert.deepEqual(batches, [["INDEX|gmp|"], ["QUERY|gmp|"]]);
 * ```
 */
export async function* readMessages(source: ByteSource): AsyncGenerator<string[], void, void> {
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(64 * 1024);
  let partial = "";
  while (true) {
    const count = await source.read(buffer);
    if (count === null) break;
    const lines = (partial + decoder.decode(buffer.subarray(0, count), { stream: true }))
      .split("\n");
    partial = lines.pop()!;
    yield lines.map(withoutCarriageReturn);
  }
  partial += decoder.decode();
  if (partial !== "") yield [withoutCarriageReturn(partial)];
}

function withoutCarriageReturn(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}
