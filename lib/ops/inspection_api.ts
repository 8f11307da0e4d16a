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
  /** What runs the walks over `index`. Default: a new {@linkcode WalkRunner} over it. */
  walks?: WalkRunner;
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

/** What every route's handler works with: the options, and the one runner of walks. */
interface Context {
  readonly options: InspectionOptions;
  readonly runner: WalkRunner;
}

/** What a route is asked: the package named in the path, if any, and the query. */
interface RouteInput {
  request: Request;
  /** The package named by the path (decoded and checked), or `""` for other paths. */
  name: string;
  parameters: Map<string, string>;
}

/**
 * One route of the API: its path (`{name}` stands for a package name), the methods it answers,
 * the query parameters it takes, and the handler of its JSON answer.
 */
interface Route {
  readonly path: string;
  readonly methods: readonly string[];
  readonly parameters: readonly string[];
  readonly answer: (context: Context, input: RouteInput) => Promise<unknown>;
}

/**
 * Every route, in the order paths are matched. A package name is everything between
 * `/v1/packages/` and the rest of its route's path, so `@scope/pkg` works unencoded; that is why
 * the routes that end after the name come before the one that ends with it, and why a name that
 * itself ends in `/blockers` or `/install-order` is sent with its `/` as `%2F`.
 */
const ROUTES: readonly Route[] = [
  { path: "/v1/info", methods: ["GET"], parameters: [], answer: info },
  { path: "/v1/connections", methods: ["GET"], parameters: ["limit"], answer: connections },
  { path: "/v1/slowlog", methods: ["GET"], parameters: ["limit"], answer: slowlog },
  { path: "/v1/explain", methods: ["POST"], parameters: ["limit"], answer: explain },
  {
    path: "/v1/packages",
    methods: ["GET"],
    parameters: ["prefix", "after", "limit"],
    answer: packageNames,
  },
  {
    path: "/v1/packages/{name}/blockers",
    methods: ["GET"],
    parameters: ["limit"],
    answer: orderedList("blockers", "the blockers of", blockersOf),
  },
  {
    path: "/v1/packages/{name}/install-order",
    methods: ["GET"],
    parameters: ["limit"],
    answer: orderedList("order", "the install order of", installOrderOf),
  },
  { path: "/v1/packages/{name}", methods: ["GET"], parameters: ["limit"], answer: packageView },
];

/** Each route's path split at `{name}`: the text before it, and after it (`undefined` if none). */
const ROUTE_PATHS = ROUTES.map((route) => {
  const [before, after] = route.path.split("{name}") as [string, string | undefined];
  return { route, before, after };
});

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
  const context: Context = {
    options,
    runner: options.walks ?? new WalkRunner(options.index),
  };
  return async (request, target) => {
    try {
      const { route, name } = findRoute(target.path);
      const method = request.method === "HEAD" ? "GET" : request.method;
      if (!route.methods.includes(method)) {
        const allow = route.methods.flatMap((m) => m === "GET" ? ["GET", "HEAD"] : [m]);
        throw new HttpError(
          405,
          `${target.path} answers ${allow.join(", ")}, not ${request.method}.`,
          { allow: allow.join(", ") },
        );
      }
      const parameters = queryParameters(target.query, route.parameters);
      const input = { request, name: packageName(name), parameters };
      return jsonResponse(await route.answer(context, input));
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

/**
 * The route of `path` and, for a package's route, the package name as it appears in the path
 * (still percent-encoded; `undefined` for the other routes).
 */
function findRoute(path: string): { route: Route; name: string | undefined } {
  for (const { route, before, after } of ROUTE_PATHS) {
    if (after === undefined) {
      if (path === route.path) return { route, name: undefined };
    } else if (
      path.length >= before.length + after.length && path.startsWith(before) &&
      path.endsWith(after)
    ) {
      return { route, name: path.slice(before.length, path.length - after.length) };
    }
  }
  throw new HttpError(
    404,
    `Nothing is served at ${path}; the endpoints are in docs/inspection.md.`,
  );
}

/** `GET /v1/info`: the server's counters and the index's size. */
function info({ options }: Context): Promise<unknown> {
  const { server, index, commits, replication } = options;
  return Promise.resolve(serverInfo({
    stats: server.stats,
    index,
    slowlog: server.slowlog,
    ...(commits === undefined ? {} : { commits }),
    ...(replication === undefined ? {} : { replication }),
  }));
}

/** `GET /v1/connections`: the oldest open connections. */
function connections({ options }: Context, { parameters }: RouteInput): Promise<unknown> {
  const limit = limitOf(parameters);
  const now = Date.now();
  const { connections, total } = options.server.connections(limit);
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
}

/** `GET /v1/slowlog`: the newest slow requests. */
function slowlog({ options }: Context, { parameters }: RouteInput): Promise<unknown> {
  const { slowlog } = options.server;
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
}

/** `POST /v1/explain`: the reply the body's line would get now, and why. */
async function explain(
  { options, runner }: Context,
  { request, parameters }: RouteInput,
): Promise<unknown> {
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
}

/** `GET /v1/packages`: one page of the indexed names. */
async function packageNames({ runner }: Context, { parameters }: RouteInput): Promise<unknown> {
  const prefix = parameters.get("prefix") ?? "";
  const after = parameters.get("after") ?? "";
  if (prefix !== "" && !isValidName(prefix)) throw badName(prefix, "the prefix");
  if (after !== "" && !isValidName(after)) throw badName(after, "the cursor after");
  const query = { prefix, after, limit: limitOf(parameters) };
  const page = await runner.run((index) => listNames(index, query), "the package names");
  return { ...page, truncated: page.next !== null };
}

/** `GET /v1/packages/{name}`: the package with its direct neighbours. */
function packageView({ runner }: Context, { name, parameters }: RouteInput): Promise<unknown> {
  const limit = limitOf(parameters);
  return walkOn(runner, {
    name,
    what: "the package",
    steps: (index, slot) => describePackage(index, slot, limit),
  });
}

/** A route answering `{"name", [key]: [...], "total", "truncated"}` from a walk. */
function orderedList(
  key: string,
  what: string,
  steps: (index: PackageIndex, slot: number, limit: number) => WalkSteps<NameList>,
): Route["answer"] {
  return async ({ runner }, { name, parameters }) => {
    const limit = limitOf(parameters);
    const list = await walkOn(runner, {
      name,
      what,
      steps: (index, slot) => steps(index, slot, limit),
    });
    return { name, [key]: list.names, total: list.total, truncated: list.truncated };
  };
}

/** A walk on one package, named for errors as `${what} '${name}'`. */
interface PackageWalk<T> {
  name: string;
  what: string;
  steps: (index: PackageIndex, slot: number) => WalkSteps<T>;
}

/** Runs `walk` on its package, or answers 404 when the package is not indexed. */
async function walkOn<T>(runner: WalkRunner, walk: PackageWalk<T>): Promise<T> {
  const { name, what, steps } = walk;
  const answer = await runner.run(
    (index) => onPackage(index, name, (slot) => steps(index, slot)),
    `${what} '${name}'`,
  );
  if (answer === undefined) throw new HttpError(404, `The package '${name}' is not indexed.`);
  return answer;
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
