/**
 * `pkgindex explain LINE`: asks a server's `POST /v1/explain` what it would answer to a protocol
 * line and why, and prints it for a person at a terminal.
 *
 * @module
 */

import type { Explanation } from "../ops/line_explainer.ts";
import { errorMessage } from "../util/errors.ts";
import { writeText } from "../util/io.ts";
import { formatHostPort } from "../util/net.ts";
import { integerFlag, switchFlag, textFlag, UsageError } from "./flags.ts";
import { HTTP_TOKEN_FLAG } from "./http_flags.ts";
import type { Subcommand } from "./subcommand.ts";

/** Everything `pkgindex explain` needs, after defaults and validation. */
export interface ExplainConfig {
  /** The host of the server's HTTP listener. */
  hostname: string;
  /** The port of the server's HTTP listener. */
  port: number;
  /** The bearer token to send, from `PKGINDEX_HTTP_TOKEN`. */
  token: string | undefined;
  /** The protocol line to explain, without its `\n`. */
  line: string;
  /** Whether to print the server's JSON answer as it is. */
  json: boolean;
}

/** The flags of `pkgindex explain`. */
export const EXPLAIN_FLAGS = {
  "http-host": textFlag({
    valueName: "HOST",
    help: "the server's HTTP listener (its --http-host)",
    default: "127.0.0.1",
    expected: "a host name or address",
  }),
  "http-port": integerFlag({
    valueName: "PORT",
    help: "the server's HTTP port (its --http-port); required",
    env: "PKGINDEX_HTTP_PORT",
    default: undefined,
    min: 1,
    max: 65535,
  }),
  "http-token": HTTP_TOKEN_FLAG,
  json: switchFlag({ help: "print the server's JSON answer as it is" }),
} as const;

/**
 * `pkgindex explain [options] LINE`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommandLine } from "./subcommand.ts";
 * import { EXPLAIN } from "./explain.ts";
 *
 * assert.deepEqual(parseCommandLine(EXPLAIN, ["--http-port", "9090", "REMOVE|openssl|"], () => undefined), {
 *   kind: "run",
 *   config: { hostname: "127.0.0.1", port: 9090, token: undefined, line: "REMOVE|openssl|", json: false },
 * });
 * ```
 */
export const EXPLAIN: Subcommand<typeof EXPLAIN_FLAGS, ExplainConfig> = {
  name: "explain",
  summary: "ask a server what it would answer to a line, and why",
  arguments: "LINE",
  description: `Asks a pkgindex server, through POST /v1/explain on its HTTP listener, what it
would answer to LINE (one request line, such as 'REMOVE|openssl|') and why:
the dependencies an INDEX is missing, the cycle it would close, what blocks a
REMOVE, or which byte makes a line malformed. Changes nothing on the server.`,
  flags: EXPLAIN_FLAGS,
  notes: `Exit codes: 0 when the server explained the line (whatever its reply would be),
1 when it cannot be reached or answers with an error, 2 on a usage error.`,
  configure: (values, { positionals }) => {
    if (positionals.length !== 1) {
      throw new UsageError(
        `Cannot explain ${positionals.length} arguments: give one request line, quoted`,
      );
    }
    const line = positionals[0]!;
    if (/[\r\n]/.test(line)) {
      throw new UsageError(
        `Cannot explain ${JSON.stringify(line)}: a request is one line, without line breaks`,
      );
    }
    const port = values["http-port"];
    if (port === undefined) {
      throw new UsageError(
        "Cannot explain without --http-port or PKGINDEX_HTTP_PORT: the server's HTTP " +
          "listener has no default port",
      );
    }
    return {
      hostname: values["http-host"],
      port,
      token: values["http-token"],
      line,
      json: values.json,
    };
  },
  run: runExplain,
};

/**
 * Why a fetch failed, in the system's words: `fetch` says only "fetch failed", and its cause ends
 * with what the operating system said, such as "Connection refused (os error 111)".
 */
function fetchFailure(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  if (!(cause instanceof Error)) return errorMessage(error);
  return cause.message.slice(cause.message.lastIndexOf(": ") + 2);
}

async function runExplain(config: ExplainConfig): Promise<number> {
  const address = formatHostPort(config.hostname, config.port);
  let status: number;
  let body: string;
  try {
    const response = await fetch(`http://${address}/v1/explain`, {
      method: "POST",
      body: config.line,
      headers: config.token === undefined ? {} : { authorization: `Bearer ${config.token}` },
    });
    status = response.status;
    body = await response.text();
  } catch (error) {
    writeText(Deno.stderr, `Cannot reach ${address}: ${fetchFailure(error)}\n`);
    return 1;
  }
  if (status !== 200) {
    writeText(Deno.stderr, `${address} answered ${status}: ${errorSentence(body)}\n`);
    return 1;
  }
  writeText(Deno.stdout, config.json ? body : formatExplanation(JSON.parse(body)));
  return 0;
}

/** The sentence of a JSON error answer, or the answer itself when it is not one. */
function errorSentence(body: string): string {
  try {
    const error = JSON.parse(body)?.error;
    if (typeof error === "string") return error;
  } catch {
    // Not JSON: say what it was.
  }
  return body.trim();
}

/**
 * An explanation as lines for a terminal: the reply and the reason, then each list, and for a
 * malformed line, the line with a caret under the offending byte.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatExplanation } from "./explain.ts";
 *
 * assert.equal(
 *   formatExplanation({
 *     line: "INDEX|gmp|ppl",
 *     reply: "FAIL",
 *     reason: "Indexing 'gmp' with these dependencies would close a dependency cycle.",
 *     cycle: ["gmp", "ppl", "gmp"],
 *     truncated: false,
 *   }),
 *   "FAIL: Indexing 'gmp' with these dependencies would close a dependency cycle.\n" +
 *     "  cycle: gmp -> ppl -> gmp\n",
 * );
 * ```
 */
export function formatExplanation(explanation: Explanation): string {
  const lines = [`${explanation.reply}: ${explanation.reason}`];
  const more = explanation.truncated ? " ... (cut at the limit)" : "";
  const lists: [string, string[] | undefined, string][] = [
    ["missing", explanation.missing, ", "],
    ["cycle", explanation.cycle, " -> "],
    ["dependents", explanation.dependents, ", "],
    ["blockers", explanation.blockers, ", "],
  ];
  for (const [label, names, separator] of lists) {
    if (names !== undefined) lines.push(`  ${label}: ${names.join(separator)}${more}`);
  }
  const malformed = explanation.malformed;
  // A caret can point at the byte only while every character before it is one byte.
  if (malformed !== undefined && /^[\x20-\x7e]*$/.test(explanation.line.slice(0, malformed.byte))) {
    lines.push(`  ${explanation.line}`, `  ${" ".repeat(malformed.byte)}^ ${malformed.field}`);
  }
  return lines.join("\n") + "\n";
}
