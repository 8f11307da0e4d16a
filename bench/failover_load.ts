/**
 * The failover drill's load and checks: writers that keep indexing through HAProxy and reconnect
 * when dropped, an observer of who leads, and the survivor's invariants.
 *
 * @module
 */

import { ReplyReader } from "../lib/protocol/reply_reader.ts";
import { REPLY_CODES } from "../lib/protocol/replies.ts";
import { closeQuietly, writeAll } from "../lib/util/io.ts";
import { isLeader, type PkgindexProcess } from "../tests/support/pkgindex_process.ts";

const encoder = new TextEncoder();

/** A write that got `OK`: its package name, and when it was sent and acknowledged. */
export interface Ack {
  /** The package indexed. */
  name: string;
  /** `performance.now()` when the request was sent. */
  sentAt: number;
  /** `performance.now()` when `OK` arrived. */
  at: number;
}

/**
 * One client that indexes packages one at a time (`w-1`, then `w-2` depending on `w-1`, ...),
 * each depending on the last one acknowledged, so that a lost acknowledged write also breaks the
 * dependencies of the next. A dropped connection is reconnected at once; the write in flight is
 * then of unknown outcome and is sent again.
 */
export class Writer {
  /** Every write acknowledged with `OK`, in order. */
  readonly acks: Ack[] = [];
  /** `performance.now()` at each request sent. */
  readonly sends: number[] = [];
  /** Replies that were `FAIL` (a dependency acknowledged earlier is missing) or unknown. */
  unexpected = 0;
  /** Replies that were `ERROR` (a commit failed: not acknowledged, sent again). */
  errors = 0;
  /** Connections dropped or refused. */
  drops = 0;
  /** `performance.now()` at each `ERROR`, drop or refused connection. */
  readonly disruptions: number[] = [];
  readonly #port: number;
  readonly #prefix: string;
  #conn: Deno.TcpConn | undefined;
  #stopped = false;
  readonly #running: Promise<void>;

  /** Starts writing to 127.0.0.1:`port`, names starting with `prefix`. */
  constructor(port: number, prefix: string) {
    this.#port = port;
    this.#prefix = prefix;
    this.#running = this.#run();
  }

  /** Stops writing (the write in flight is abandoned) and waits for the loop to end. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#conn !== undefined) closeQuietly(this.#conn);
    await this.#running;
  }

  async #run(): Promise<void> {
    let sequence = 1;
    while (!this.#stopped) {
      let conn: Deno.TcpConn;
      try {
        conn = this.#conn = await Deno.connect({ hostname: "127.0.0.1", port: this.#port });
        conn.setNoDelay(true);
      } catch {
        this.drops++;
        this.disruptions.push(performance.now());
        await sleep(10);
        continue;
      }
      const reader = new ReplyReader(conn);
      try {
        while (!this.#stopped) {
          const name = `${this.#prefix}${sequence}`;
          const dependency = this.acks.at(-1)?.name ?? "";
          const sentAt = performance.now();
          this.sends.push(sentAt);
          await writeAll(conn, encoder.encode(`INDEX|${name}|${dependency}\n`));
          const code = await reader.next();
          if (code === null) break;
          if (code === REPLY_CODES.OK) {
            this.acks.push({ name, sentAt, at: performance.now() });
            sequence++;
          } else if (code === REPLY_CODES.ERROR) {
            this.errors++;
            this.disruptions.push(performance.now());
            await sleep(10);
          } else {
            this.unexpected++;
            sequence++;
          }
        }
      } catch {
        // Reset by the server or by HAProxy: reconnect.
      }
      closeQuietly(conn);
      if (!this.#stopped) {
        this.drops++;
        this.disruptions.push(performance.now());
      }
    }
  }
}

/**
 * How long after `since` the writer could write again: from `since` to the first write
 * acknowledged after its first disruption (drop or `ERROR`) since then; 0 when nothing disrupted
 * it, `undefined` when it never wrote again.
 */
export function recoveredAfter(
  writer: Pick<Writer, "acks" | "disruptions">,
  since: number,
): number | undefined {
  const disrupted = writer.disruptions.find((at) => at >= since);
  if (disrupted === undefined) return 0;
  const ack = writer.acks.find(({ sentAt }) => sentAt > disrupted);
  return ack === undefined ? undefined : ack.at - since;
}

/** Which processes said they lead, at one moment. */
export interface Observation {
  /** `performance.now()` when every answer was in. */
  at: number;
  /** The names of the processes whose `/v1/health` said leader. */
  leaders: string[];
}

/** Polls every process's `/v1/health` every 20 ms and keeps what it saw. */
export class LeaderObserver {
  /** What it saw, in order. */
  readonly observations: Observation[] = [];
  #stopped = false;
  readonly #running: Promise<void>;

  /** Starts observing `processes`. */
  constructor(processes: readonly PkgindexProcess[]) {
    this.#running = (async () => {
      while (!this.#stopped) {
        const healths = await Promise.all(processes.map((process) => process.health(200)));
        const leaders = processes.filter((_, i) => isLeader(healths[i])).map(({ name }) => name);
        this.observations.push({ at: performance.now(), leaders });
        await sleep(20);
      }
    })();
  }

  /** When a process other than `name` was first seen leading after `since`; undefined if never. */
  takeoverAfter(name: string, since: number): number | undefined {
    return this.observations.find(({ at, leaders }) =>
      at > since && leaders.length > 0 && !leaders.includes(name)
    )?.at;
  }

  /**
   * How many of `acks`, all from process `name`, are writes acknowledged by a deposed leader:
   * sent after `since` (the fault), and answered when the last observation showed another
   * process leading, not `name`.
   */
  countDeposed(name: string, acks: readonly Ack[], since: number): number {
    let count = 0;
    for (const ack of acks) {
      if (ack.sentAt <= since) continue;
      const before = this.observations.findLast(({ at }) => at < ack.at);
      if (before !== undefined && before.leaders.length > 0 && !before.leaders.includes(name)) {
        count++;
      }
    }
    return count;
  }

  /** Stops observing. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }
}

/** What {@linkcode checkGraph} found. */
export interface GraphCheck {
  /** Packages. */
  packages: number;
  /** Dependencies that name a package that is not there. */
  missingDependencies: number;
  /** Packages on or behind a dependency cycle (0 when there is none). */
  inCycles: number;
}

/**
 * Checks the invariants of an index given as rows of a name and its comma-joined dependencies:
 * every dependency is there, and there is no cycle (Kahn's algorithm: whatever cannot be
 * ordered is on or behind a cycle).
 */
export function checkGraph(rows: readonly { name: string; dependencies: string }[]): GraphCheck {
  const ids = new Map<string, number>();
  for (const [i, { name }] of rows.entries()) ids.set(name, i);
  const waiting = new Int32Array(rows.length);
  const dependents: number[][] = rows.map(() => []);
  let missingDependencies = 0;
  for (const [i, { dependencies }] of rows.entries()) {
    if (dependencies === "") continue;
    for (const dependency of dependencies.split(",")) {
      const id = ids.get(dependency);
      if (id === undefined) missingDependencies++;
      else {
        waiting[i]!++;
        dependents[id]!.push(i);
      }
    }
  }
  const ready: number[] = [];
  for (let i = 0; i < rows.length; i++) if (waiting[i] === 0) ready.push(i);
  let ordered = 0;
  while (ready.length > 0) {
    const id = ready.pop()!;
    ordered++;
    for (const dependent of dependents[id]!) if (--waiting[dependent]! === 0) ready.push(dependent);
  }
  return { packages: rows.length, missingDependencies, inCycles: rows.length - ordered };
}

/**
 * Sends `QUERY` for every name over one pipelined connection to 127.0.0.1:`port` and returns
 * the names that did not get `OK`.
 */
export async function missingNames(port: number, names: readonly string[]): Promise<string[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const reader = new ReplyReader(conn);
  const missing: string[] = [];
  try {
    for (let start = 0; start < names.length; start += 4096) {
      const batch = names.slice(start, start + 4096);
      await writeAll(conn, encoder.encode(batch.map((name) => `QUERY|${name}|\n`).join("")));
      for (const name of batch) {
        const code = await reader.next();
        if (code === null) throw new Error(`The server closed the connection at QUERY|${name}|`);
        if (code !== REPLY_CODES.OK) missing.push(name);
      }
    }
  } finally {
    closeQuietly(conn);
  }
  return missing;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
