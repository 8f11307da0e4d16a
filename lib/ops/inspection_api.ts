/**
 * The inspection API under `/v1/`: JSON answers to what the protocol cannot say. Why a REMOVE
 * fails, what an INDEX needs first, what a line would get and why, which names are indexed, and
 * the server's counters, connections and slow requests. Nothing here changes the index.
 *
 * Every list is cut at `limit` (default {@linkcode DEFAULT_LIMIT}, at most
 * {@linkcode MAX_LIMIT}) and says so. Walks over the graph run through one {@linkcode WalkRunner}:
 * one at a time, in slices, each answer from one state of the index (409 when the index kept
 * changing under a walk).
 *
 * @module
 */

import {
  blockersOf,
  describePackage,
  installOrderOf,
  listNames,
  type NameList,
  onPackage,
} from "../index/graph_walks.ts";
import type { PackageIndex } from "../index/package_index.ts";
import {
  IndexChangedError,
  WalkerBusyError,
  WalkRunner,
  type WalkSteps,
} from "../index/walk_runner.ts";
import { isValidName, MAX_NAME_BYTES } from "../protocol/names.ts";
import type { Server } from "../server/server.ts";
import type { CommitStats } from "../storage/durable_index.ts";
import { explainLine } from "./line_explainer.ts";
import { HttpError, jsonResponse } from "./http_responses.ts";
import { serverInfo } from "./info.ts";
import type { ReplicationSource } from "./metrics.ts";
import { readBody } from "./request_body.ts";

/** How many entries a list holds when the request does not say. */
export const DEFAULT_LIMIT = 1000;
/** The most entries a list may be asked to hold. */
export const MAX_LIMIT = 100_000;
/** The largest body `POST /v1/explain` takes: one protocol line. */
export const MAX_EXPLAIN_BODY_BYTES = 64 * 1024;
/** How long the body of `POST /v1/explain` may take to arrive, by default. */
export const EXPLAIN_BODY_TIMEOUT_MS = 5000;

/** What the inspection API looks at. */
export interface InspectionOptions {
  /** The in-memory index the server answers from (loaded from the data file, if any). */
  index: PackageIndex;
  /** The running server: its counters, connections and slow log. */
  server: Server;
  /** The server's longest request line, in bytes, for explaining lines. */
  maxLineBytes: number;
  /** Commit counters, when the server keeps a data file. */
  commits?: CommitStats;
  /** The process's role among several on one PostgreSQL database, for `/v1/info`. */
  replication?: ReplicationSource;
  /** Milliseconds the body of `POST /v1/explain` may take. Default: {@linkcode EXPLAIN_BODY_TIMEOUT_MS}. */
  bodyTimeoutMs?: number;
}

/** A request's path and query exactly as sent: not decoded, not normalized. */
export interface RequestTarget {
  /** The path, such as `/v1/packages/%40scope%2Fpkg`. */
  path: string;
  /** The query without its `?`, such as `prefix=gtk%2B&limit=10`; `""` when there is none. */
  query: string;
}

/** Answers one request under `/v1/`. */
export type InspectionHandler = (request: Request, target: RequestTarget) => Promise<Response>;

/** One endpoint: the methods it answers, the query parameters it takes, and its JSON answer. */
interface Endpoint {
  readonly methods: readonly string[];
  readonly parameters: readonly string[];
  answer(input: EndpointInput): Promise<unknown>;
}

/** What an endpoint is asked: the package named in the path, if any, and the query. */
interface EndpointInput {
  request: Request;
  /** The package named by the path (decoded and checked), or `""` for other paths. */
  name: string;
  parameters: Map<string, string>;
}

/**
 * Makes the handler of `/v1/` over `options`. It answers JSON: 200 with the answer, or an error
 * with a sentence and the right status (400 bad input, 404 unknown path or package, 405 wrong
 * method, 408 and 413 for a slow or large body, 409 when the index kept changing under a walk,
 * 503 when too many walks wait). Anything else it throws, for the listener to answer 500.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createInspectionApi } from "./inspection_api.ts";
 * import { PackageIndex } from "../index/package_index.ts";
 * import { serve } from "../server/server.ts";
 * import { createLogger } from "../util/log.ts";
 *
 * const index = PackageIndex.fromEntries([["gmp", []], ["gtk+3", ["gmp"]]]);
 * const server = serve({ hostname: "127.0.0.1", port: 0, index, logger: createLogger({ level: "error" }) });
 * const api = createInspectionApi({ index, server, maxLineBytes: 1024 });
 * const request = new Request("http://localhost/v1/packages/gmp");
 * const response = await api(request, { path: "/v1/packages/gmp", query: "" });
 * assert.deepEqual(await response.json(), {
 *   name: "gmp",
 *   dependencies: [],
 *   dependents: ["gtk+3"],
 *   dependencyCount: 0,
 *   dependentCount: 1,
 *   truncated: false,
 * });
 * await server.shutdown();
 * ```
 */
export function createInspectionApi(options: InspectionOptions): InspectionHandler {
  const { index, server } = options;
  const runner = new WalkRunner(index);
  /** Runs a walk on the package `name`, or answers 404 when it is not indexed. */
  const walk = async <T>(
    what: string,
    name: string,
    steps: (index: PackageIndex, slot: number) => WalkSteps<T>,
  ): Promise<T> => {
    const answer = await runner.run(
      (index) => onPackage(index, name, (slot) => steps(index, slot)),
      what,
    );
    if (answer === undefined) throw new HttpError(404, `The package '${name}' is not indexed.`);
    return answer;
  };
  /** An endpoint answering `{"name", [key]: [...], "total", "truncated"}` from a walk. */
  const orderedList = (
    key: string,
    what: string,
    steps: (index: PackageIndex, slot: number, limit: number) => WalkSteps<NameList>,
  ): Endpoint => ({
    methods: ["GET"],
    parameters: ["limit"],
    answer: async ({ name, parameters }) => {
      const limit = limitOf(parameters);
      const list = await walk(
        `${what} '${name}'`,
        name,
        (index, slot) => steps(index, slot, limit),
      );
      return { name, [key]: list.names, total: list.total, truncated: list.truncated };
    },
  });
  const endpoints: Record<string, Endpoint> = {
    info: {
      methods: ["GET"],
      parameters: [],
      answer: () => {
        const { commits, replication } = options;
        return Promise.resolve(serverInfo({
          stats: server.stats,
          index,
          slowlog: server.slowlog,
          ...(commits === undefined ? {} : { commits }),
          ...(replication === undefined ? {} : { replication }),
        }));
      },
    },
    connections: {
      methods: ["GET"],
      parameters: ["limit"],
      answer: ({ parameters }) => {
        const limit = limitOf(parameters);
        const now = Date.now();
        const { connections, total } = server.connections(limit);
        return Promise.resolve({
          connections: connections.map((connection) => ({
            peer: connection.peer,
            openedAt: new Date(connection.openedAt).toISOString(),
            ageSeconds: (now - connection.openedAt) / 1000,
            idleSeconds: (now - connection.lastActive) / 1000,
            requests: connection.requests,
            bytesReceived: connection.bytesReceived,
            bytesSent: connection.bytesSent,
          })),
          total,
          truncated: total > connections.length,
        });
      },
    },
    slowlog: {
      methods: ["GET"],
      parameters: ["limit"],
      answer: ({ parameters }) => {
        const { slowlog } = server;
        const entries = slowlog.newest(limitOf(parameters));
        return Promise.resolve({
          thresholdMs: slowlog.thresholdMs,
          recorded: slowlog.recorded,
          entries: entries.map((entry) => ({
            id: entry.id,
            time: new Date(entry.time).toISOString(),
            command: entry.command,
            package: entry.package,
            dependencies: entry.dependencies,
            durationMs: Math.round(entry.durationMs * 1000) / 1000,
            peer: entry.peer,
          })),
        });
      },
    },
    explain: {
      methods: ["POST"],
      parameters: ["limit"],
      answer: async ({ request, parameters }) => {
        const limit = limitOf(parameters);
        const bytes = oneLine(
          await readBody(request, {
            maxBytes: MAX_EXPLAIN_BODY_BYTES,
            timeoutMs: options.bodyTimeoutMs ?? EXPLAIN_BODY_TIMEOUT_MS,
          }),
        );
        const explainOptions = { maxLineBytes: options.maxLineBytes, limit };
        return await runner.run(
          (index) => explainLine(index, bytes, explainOptions),
          "the explanation of a line",
        );
      },
    },
    list: {
      methods: ["GET"],
      parameters: ["prefix", "after", "limit"],
      answer: async ({ parameters }) => {
        const prefix = parameters.get("prefix") ?? "";
        const after = parameters.get("after") ?? "";
        if (prefix !== "" && !isValidName(prefix)) throw badName(prefix, "the prefix");
        if (after !== "" && !isValidName(after)) throw badName(after, "the cursor after");
        const query = { prefix, after, limit: limitOf(parameters) };
        const page = await runner.run((index) => listNames(index, query), "the package names");
        return { ...page, truncated: page.next !== null };
      },
    },
    package: {
      methods: ["GET"],
      parameters: ["limit"],
      answer: ({ name, parameters }) => {
        const limit = limitOf(parameters);
        return walk(
          `the package '${name}'`,
          name,
          (index, slot) => describePackage(index, slot, limit),
        );
      },
    },
    blockers: orderedList("blockers", "the blockers of", blockersOf),
    installOrder: orderedList("order", "the install order of", installOrderOf),
  };

  return async (request, target) => {
    try {
      const { endpoint, name } = route(endpoints, target.path);
      const method = request.method === "HEAD" ? "GET" : request.method;
      if (!endpoint.methods.includes(method)) {
        const allow = endpoint.methods.flatMap((m) => m === "GET" ? ["GET", "HEAD"] : [m]);
        throw new HttpError(
          405,
          `${target.path} answers ${allow.join(", ")}, not ${request.method}.`,
          { allow: allow.join(", ") },
        );
      }
      const parameters = queryParameters(target.query, endpoint.parameters);
      return jsonResponse(await endpoint.answer({ request, name: packageName(name), parameters }));
    } catch (error) {
      if (error instanceof HttpError) return error.response();
      if (error instanceof IndexChangedError) return new HttpError(409, error.message).response();
      if (error instanceof WalkerBusyError) {
        return new HttpError(503, error.message, { "retry-after": "1" }).response();
      }
      throw error;
    }
  };
}

const PACKAGES = "/v1/packages";

/**
 * The endpoint of `path` and, for a package's endpoints, the package name as it appears in the
 * path (still percent-encoded; `undefined` for the other endpoints). A name is everything after
 * `/v1/packages/` up to a final `/blockers` or `/install-order`, so `@scope/pkg` works unencoded,
 * and a name that itself ends that way is sent with its `/` as `%2F`.
 */
function route(
  endpoints: Record<string, Endpoint>,
  path: string,
): { endpoint: Endpoint; name: string | undefined } {
  const fixed: Record<string, Endpoint | undefined> = {
    "/v1/info": endpoints.info,
    "/v1/connections": endpoints.connections,
    "/v1/slowlog": endpoints.slowlog,
    "/v1/explain": endpoints.explain,
    [PACKAGES]: endpoints.list,
  };
  const endpoint = fixed[path];
  if (endpoint !== undefined) return { endpoint, name: undefined };
  if (path.startsWith(`${PACKAGES}/`)) {
    const rest = path.slice(PACKAGES.length + 1);
    for (const [suffix, key] of [["/blockers", "blockers"], ["/install-order", "installOrder"]]) {
      if (rest.endsWith(suffix!)) {
        return { endpoint: endpoints[key!]!, name: rest.slice(0, -suffix!.length) };
      }
    }
    return { endpoint: endpoints.package!, name: rest };
  }
  throw new HttpError(
    404,
    `Nothing is served at ${path}; the endpoints are in docs/inspection.md.`,
  );
}

/** The package name in a path, decoded and checked; `""` when the endpoint names none. */
function packageName(encoded: string | undefined): string {
  if (encoded === undefined) return "";
  const name = decode(encoded, "the package name");
  if (!isValidName(name)) throw badName(name, "a package name");
  return name;
}

/**
 * The parameters of `query`, decoded (a `+` stays a plus sign: names hold no spaces, and
 * `gtk+3` must mean itself). Throws a 400 for a parameter the endpoint does not take, one given
 * twice, or broken percent-encoding.
 */
function queryParameters(query: string, allowed: readonly string[]): Map<string, string> {
  const parameters = new Map<string, string>();
  for (const part of query.split("&")) {
    if (part === "") continue;
    const equals = part.indexOf("=");
    const key = decode(equals === -1 ? part : part.slice(0, equals), "a parameter name");
    const value = decode(equals === -1 ? "" : part.slice(equals + 1), `the parameter ${key}`);
    if (!allowed.includes(key)) {
      throw new HttpError(
        400,
        `Unknown parameter '${key}': ` +
          (allowed.length === 0 ? "this endpoint takes none." : `expected ${allowed.join(", ")}.`),
      );
    }
    if (parameters.has(key)) throw new HttpError(400, `The parameter '${key}' is given twice.`);
    parameters.set(key, value);
  }
  return parameters;
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new HttpError(400, `Cannot decode ${what} '${text}': it is not valid percent-encoding.`);
  }
}

/** The `limit` parameter: an integer from 1 to {@linkcode MAX_LIMIT}, by default {@linkcode DEFAULT_LIMIT}. */
function limitOf(parameters: Map<string, string>): number {
  const text = parameters.get("limit");
  if (text === undefined) return DEFAULT_LIMIT;
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit < 1 || limit > MAX_LIMIT) {
    throw new HttpError(
      400,
      `Cannot use limit '${text}': expected an integer from 1 to ${MAX_LIMIT}.`,
    );
  }
  return limit;
}

function badName(name: string, what: string): HttpError {
  return new HttpError(
    400,
    `Cannot use '${name}' as ${what}: expected 1 to ${MAX_NAME_BYTES} characters of ` +
      "A-Z a-z 0-9 . _ + @ / : ~ -.",
  );
}

/** The body of `POST /v1/explain` as one line ending in `\n` (added when missing). */
function oneLine(body: Uint8Array): Uint8Array {
  const newline = body.indexOf(0x0a);
  if (newline !== -1 && newline === body.length - 1) return body;
  if (newline !== -1) {
    throw new HttpError(400, "The body holds more than one line; explain takes one line.");
  }
  const line = new Uint8Array(body.length + 1);
  line.set(body);
  line[body.length] = 0x0a;
  return line;
}
