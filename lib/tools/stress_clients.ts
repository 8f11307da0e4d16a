/**
 * The stress test of the official harness, as a library: many concurrent clients brute-force a
 * package list into a server and out again, and every reply is checked.
 *
 * @module
 */

import { MAX_NAME_BYTES } from "../protocol/names.ts";
import { type Reply, REPLY_CODES } from "../protocol/replies.ts";
import { OTHER_REPLY, ReplyReader } from "../protocol/reply_reader.ts";
import { errorMessage } from "../util/errors.ts";
import { closeQuietly, writeAll } from "../util/io.ts";
import { formatHostPort } from "../util/net.ts";
import { createRandom, type Random, randomInt, shuffle } from "./random.ts";
import type { PackageSpec } from "./synthetic_packages.ts";

/** Options for {@linkcode runStress}. */
export interface StressOptions {
  /** The server's host. */
  hostname: string;
  /** The server's port. */
  port: number;
  /** The packages to index and remove; every dependency must be in the list. */
  packages: readonly PackageSpec[];
  /** Concurrent clients per phase, each owning one slice of the packages. */
  concurrency: number;
  /** The seed of the package order and of the broken messages: same seed, same messages. */
  seed: number;
  /** The chance, in percent, of a broken message (which must get `ERROR`) before each INDEX. */
  unluckiness: number;
  /**
   * Whether the broken messages also include those that only pkgindex's own rules reject, which
   * the protocol leaves to each server (see {@linkcode brokenMessage}). Default: `false`, so that
   * any correct server passes.
   */
  strict?: boolean;
  /** Milliseconds the whole run may take before it fails. */
  timeoutMs: number;
  /** Called when a phase starts, with its live status (updated in place until it ends). */
  onPhaseStart?: (status: PhaseStatus) => void;
  /** Called when a phase ends, with its final status. */
  onPhaseEnd?: (status: PhaseStatus) => void;
}

/** The live status of one phase. */
export interface PhaseStatus {
  /** The phase's name, such as `index`. */
  readonly name: PhaseName;
  /** Packages in the phase. */
  readonly total: number;
  /** Packages finished: indexed, removed or queried as expected. */
  done: number;
  /** Requests sent, retries and broken messages included. */
  requests: number;
  /** `performance.now()` when the phase started. */
  readonly startedAt: number;
  /** `performance.now()` when the phase ended; `undefined` while it runs. */
  endedAt: number | undefined;
}

/** The phases, in the order they run. */
export type PhaseName = "clean" | "index" | "query-indexed" | "remove" | "query-removed";

/** What a stress run found. */
export interface StressResult {
  /** True when every phase finished and every reply was the expected one. */
  passed: boolean;
  /** Why the run failed, naming the client, the message and the reply; absent when it passed. */
  failure?: string;
  /** Every phase that started, in order. */
  phases: PhaseStatus[];
}

/**
 * Splits `items` into `count` consecutive slices of equal length; the last slice also takes the
 * remainder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sliceEvenly } from "./stress_clients.ts";
 *
 * assert.deepEqual(sliceEvenly([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4, 5]]);
 * ```
 */
export function sliceEvenly<T>(items: readonly T[], count: number): T[][] {
  const size = Math.floor(items.length / count);
  const slices: T[][] = [];
  for (let i = 0; i < count; i++) {
    slices.push(items.slice(i * size, i === count - 1 ? items.length : (i + 1) * size));
  }
  return slices;
}

/** Commands that no server knows, as the official harness sends them. */
const UNKNOWN_COMMANDS = ["BLINDEX", "REMOVES", "QUER", "LIZARD", "I"];

/** What the official harness puts between two names in a line of only two fields. */
const JOINING_CHARACTERS = ["=", "+", "\u2603", " "];

/** Makes one kind of message that a server must answer with `ERROR`. */
type BrokenMessageMaker = (spec: PackageSpec, random: Random) => string;

/**
 * The official harness's broken messages, which every correct server rejects whatever names it
 * accepts: an unknown command, and a line of two fields (`INDEX|emacs☃elisp`).
 */
const MALFORMED_EVERYWHERE: readonly BrokenMessageMaker[] = [
  (spec, random) =>
    `${pickOne(UNKNOWN_COMMANDS, random)}|${spec.name}|${spec.dependencies.join(",")}\n`,
  (spec, random) =>
    `INDEX|${spec.name}${pickOne(JOINING_CHARACTERS, random)}${
      spec.dependencies[0] ?? spec.name
    }\n`,
];

/**
 * Messages that only pkgindex's own rules reject; the protocol leaves them to each server: a
 * non-ASCII name, an empty entry in the dependency list, a name over {@linkcode MAX_NAME_BYTES}.
 */
const MALFORMED_FOR_PKGINDEX: readonly BrokenMessageMaker[] = [
  (spec) => `INDEX|${spec.name}\u2603|${spec.dependencies.join(",")}\n`,
  (spec) => `INDEX|${spec.name}|${spec.dependencies.map((name) => `${name},`).join("")},\n`,
  (spec) => `INDEX|${spec.name.padEnd(MAX_NAME_BYTES + 1, "x")}x|\n`,
];

/**
 * Makes a message the server must answer with `ERROR`, of a kind chosen by `options.random`:
 * one of the official harness's (an unknown command, or a line of two fields), or, when
 * `options.strict`, also one that only pkgindex's own rules reject (a non-ASCII name, an empty
 * entry in the dependency list, an over-long name).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createRandom } from "./random.ts";
 * import { brokenMessage } from "./stress_clients.ts";
 *
 * const message = brokenMessage({ name: "emacs", dependencies: ["elisp"] }, {
 *   random: createRandom(1),
 *   strict: false,
 * });
 * assert.match(message, /^(BLINDEX|REMOVES|QUER|LIZARD|I)\|emacs\|elisp\n$|^INDEX\|emacs.elisp\n$/);
 * ```
 */
export function brokenMessage(
  spec: PackageSpec,
  options: { random: Random; strict: boolean },
): string {
  const makers = options.strict
    ? [...MALFORMED_EVERYWHERE, ...MALFORMED_FOR_PKGINDEX]
    : MALFORMED_EVERYWHERE;
  return pickOne(makers, options.random)(spec, options.random);
}

function pickOne<T>(items: readonly T[], random: Random): T {
  return items[randomInt(random, items.length)]!;
}

/** One package, numbered, with its messages encoded once. */
interface Entry {
  readonly spec: PackageSpec;
  readonly dependencies: number[];
  readonly dependents: number[];
  readonly index: Uint8Array;
  readonly remove: Uint8Array;
  readonly query: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Runs the five phases against a server: 1) REMOVE everything until every REMOVE succeeds
 * (cleaning up after earlier runs), 2) INDEX everything until every INDEX succeeds (a `FAIL`
 * means a dependency is not indexed yet and is retried), 3) QUERY everything, expecting `OK`,
 * 4) REMOVE everything until every REMOVE succeeds, 5) QUERY everything, expecting `FAIL`.
 *
 * Each phase runs `concurrency` clients, one connection each, that send one message and wait for
 * its reply, as the official harness does. Every reply is checked: a malformed reply, an `ERROR`
 * to a valid message, anything but `ERROR` to a broken one, or a `FAIL` that the state the
 * clients have already confirmed rules out (an INDEX whose dependencies were all indexed, a
 * REMOVE whose dependents were all removed) fails the run at once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve } from "../server/server.ts";
 * import { createLogger } from "../util/log.ts";
 * import { runStress } from "./stress_clients.ts";
 * import { generatePackages } from "./synthetic_packages.ts";
 *
 * const server = serve({ hostname: "127.0.0.1", port: 0, logger: createLogger({ level: "error" }) });
 * const result = await runStress({
 *   hostname: "127.0.0.1",
 *   port: server.addr.port,
 *   packages: generatePackages({ count: 200, seed: 1 }),
 *   concurrency: 10,
 *   seed: 1,
 *   unluckiness: 5,
 *   timeoutMs: 120_000,
 * });
 * assert.equal(result.passed, true);
 * await server.shutdown();
 * ```
 */
export async function runStress(options: StressOptions): Promise<StressResult> {
  const entries = buildEntries(options.packages);
  const order = shuffle(entries.map((_, i) => i), createRandom(options.seed));
  const slices = sliceEvenly(order, options.concurrency);
  const run: RunState = { failure: undefined, conns: new Set() };
  const phases: PhaseStatus[] = [];
  let current: PhaseStatus | undefined;
  const deadline = setTimeout(() => {
    const where = current === undefined
      ? ""
      : ` in phase '${current.name}' with ${current.done} of ${current.total} packages done`;
    abort(run, `Timed out after ${options.timeoutMs / 1000} s${where}.`);
  }, options.timeoutMs);
  try {
    for (const plan of PHASES) {
      const status: PhaseStatus = {
        name: plan.name,
        total: entries.length,
        done: 0,
        requests: 0,
        startedAt: performance.now(),
        endedAt: undefined,
      };
      current = status;
      phases.push(status);
      options.onPhaseStart?.(status);
      const confirmed = new Uint8Array(entries.length);
      await Promise.all(slices.map((slice, client) =>
        runClient({
          run,
          plan,
          status,
          entries,
          confirmed,
          slice,
          client,
          options,
          random: createRandom((options.seed * 7919 + client * 104729 + 1) >>> 0),
        })
      ));
      status.endedAt = performance.now();
      options.onPhaseEnd?.(status);
      if (run.failure !== undefined) break;
    }
  } finally {
    clearTimeout(deadline);
  }
  return run.failure === undefined
    ? { passed: true, phases }
    : { passed: false, failure: run.failure, phases };
}

/** What each phase sends and which replies it accepts. */
interface PhasePlan {
  name: PhaseName;
  message: (entry: Entry) => Uint8Array;
  /** The reply that finishes a package. */
  finishedBy: Reply;
  /** Whether a `FAIL` means "retry later" rather than a failure. */
  retryOnFail: boolean;
  /**
   * For a `FAIL` that is retried: whether what the clients had confirmed before the request was
   * sent rules it out.
   */
  impossibleFail?: (entry: Entry, confirmed: Uint8Array) => boolean;
  /** Whether broken messages are sent in this phase. */
  unlucky: boolean;
}

/** A phase that repeats each package's message until it gets `OK`, retrying on `FAIL`. */
function bruteForce(
  name: PhaseName,
  message: (entry: Entry) => Uint8Array,
  options: Pick<PhasePlan, "impossibleFail"> & { unlucky?: boolean } = {},
): PhasePlan {
  return { name, message, finishedBy: "OK", retryOnFail: true, unlucky: false, ...options };
}

/** A phase that queries each package once, expecting `finishedBy`. */
function check(name: PhaseName, finishedBy: Reply): PhasePlan {
  return { name, message: (e) => e.query, finishedBy, retryOnFail: false, unlucky: false };
}

const PHASES: readonly PhasePlan[] = [
  bruteForce("clean", (e) => e.remove),
  bruteForce("index", (e) => e.index, {
    impossibleFail: (e, confirmed) => e.dependencies.every((d) => confirmed[d] === 1),
    unlucky: true,
  }),
  check("query-indexed", "OK"),
  bruteForce("remove", (e) => e.remove, {
    impossibleFail: (e, confirmed) => e.dependents.every((d) => confirmed[d] === 1),
  }),
  check("query-removed", "FAIL"),
];

interface RunState {
  failure: string | undefined;
  conns: Set<Deno.Conn>;
}

function abort(run: RunState, failure: string): void {
  run.failure ??= failure;
  for (const conn of run.conns) closeQuietly(conn);
  run.conns.clear();
}

interface ClientContext {
  run: RunState;
  plan: PhasePlan;
  status: PhaseStatus;
  entries: readonly Entry[];
  /** Entry → 1 once this phase got its finishing reply. */
  confirmed: Uint8Array;
  slice: readonly number[];
  client: number;
  options: StressOptions;
  random: Random;
}

async function runClient(context: ClientContext): Promise<void> {
  const { run, plan, status, entries, confirmed, options } = context;
  if (context.slice.length === 0 || run.failure !== undefined) return;
  let conn: Deno.Conn;
  try {
    conn = await Deno.connect({ hostname: options.hostname, port: options.port });
  } catch (error) {
    abort(
      run,
      `Client ${context.client} cannot connect to ${
        formatHostPort(options.hostname, options.port)
      }: ${errorMessage(error)}`,
    );
    return;
  }
  if (run.failure !== undefined) return closeQuietly(conn);
  run.conns.add(conn);
  const client = new LineClient(conn);
  const fail = (message: Uint8Array | string, reply: string, expected: string) =>
    abort(
      run,
      `Client ${context.client} in phase '${plan.name}' sent ${
        JSON.stringify(typeof message === "string" ? message : decoder.decode(message))
      } and received ${JSON.stringify(reply)}; expected ${expected}.`,
    );
  try {
    let pending = context.slice;
    while (pending.length > 0) {
      const retry: number[] = [];
      for (const i of pending) {
        const entry = entries[i]!;
        if (plan.unlucky && context.random() * 100 < options.unluckiness) {
          const broken = brokenMessage(entry.spec, {
            random: context.random,
            strict: options.strict ?? false,
          });
          status.requests++;
          const code = await client.request(encoder.encode(broken));
          if (code !== REPLY_CODES.ERROR) return fail(broken, client.lastReply(), '"ERROR\\n"');
        }
        const message = plan.message(entry);
        // Whether a FAIL is impossible is decided by what was confirmed before the request
        // left: a confirmation that arrives while it is in flight may be of a change the server
        // made after answering it (a proxy in between can deliver replies to different
        // connections in another order than the server sent them).
        const failIsImpossible = plan.impossibleFail?.(entry, confirmed) ?? false;
        status.requests++;
        const code = await client.request(message);
        if (code === REPLY_CODES[plan.finishedBy]) {
          confirmed[i] = 1;
          status.done++;
          continue;
        }
        if (code === REPLY_CODES.FAIL && plan.retryOnFail) {
          if (failIsImpossible) {
            return fail(
              message,
              client.lastReply(),
              '"OK\\n" (the clients had confirmed every package it needs)',
            );
          }
          retry.push(i);
          continue;
        }
        const expected = plan.retryOnFail
          ? '"OK\\n" or "FAIL\\n"'
          : JSON.stringify(`${plan.finishedBy}\n`);
        return fail(message, client.lastReply(), expected);
      }
      pending = retry;
    }
  } catch (error) {
    // After an abort, the closed connection's error is only the echo of the first failure.
    if (run.failure === undefined) {
      abort(run, `Client ${context.client} in phase '${plan.name}' failed: ${errorMessage(error)}`);
    }
  } finally {
    if (run.conns.delete(conn)) closeQuietly(conn);
  }
}

/** A connection that sends one message at a time and reads its one-line reply. */
class LineClient {
  readonly #conn: Deno.Conn;
  readonly #reader: ReplyReader;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#reader = new ReplyReader(conn, { bufferBytes: 4096 });
  }

  /** Sends `message` and resolves to the code of its reply (one of `REPLY_CODES` or other). */
  async request(message: Uint8Array): Promise<number> {
    await writeAll(this.#conn, message);
    const code = await this.#reader.next();
    if (code === null) throw new Error("the server closed the connection");
    // Anything after the first line is an extra, unrequested reply.
    return this.#reader.buffered === 0 ? code : OTHER_REPLY;
  }

  /** The last reply, for a failure message. */
  lastReply(): string {
    return this.#reader.lastLineTooLong ? "a line over 4096 bytes" : `${this.#reader.lastLine}\n`;
  }
}

function buildEntries(packages: readonly PackageSpec[]): Entry[] {
  const numbers = new Map<string, number>();
  for (const [i, spec] of packages.entries()) numbers.set(spec.name, i);
  const entries = packages.map((spec): Entry => ({
    spec,
    dependencies: [...new Set(spec.dependencies)].map((name) => {
      const number = numbers.get(name);
      if (number === undefined) {
        throw new Error(
          `Cannot stress with package '${spec.name}': its dependency '${name}' is not in the list`,
        );
      }
      return number;
    }),
    dependents: [],
    index: encoder.encode(`INDEX|${spec.name}|${spec.dependencies.join(",")}\n`),
    remove: encoder.encode(`REMOVE|${spec.name}|\n`),
    query: encoder.encode(`QUERY|${spec.name}|\n`),
  }));
  for (const [i, entry] of entries.entries()) {
    for (const dependency of entry.dependencies) entries[dependency]!.dependents.push(i);
  }
  return entries;
}
