/**
 * pkgindex processes on one PostgreSQL database, each in its own OS process on fixed ports of
 * 127.0.0.1 (so that HAProxy's config stays valid when one is restarted), for the tests and the
 * failover drill that need real leaders and standbys.
 *
 * @module
 */

import { writeAll } from "../../lib/util/io.ts";
import { parseExposition } from "./exposition.ts";
import type { Backend } from "./haproxy.ts";

/** How to run one process. */
export interface PkgindexProcessOptions {
  /** Its name, as HAProxy's `server` lines and the drill's output show it. */
  name: string;
  /** Its protocol port on 127.0.0.1. */
  port: number;
  /** Its HTTP port on 127.0.0.1 (`/v1/health`, `/v1/info`, `/metrics`). */
  httpPort: number;
  /** The `--data` URL, `postgres://…`; memory only when absent. */
  data?: string;
  /** `--lease` in seconds; the server's default when absent. */
  lease?: number;
  /** The file its standard output and error are appended to. Default: none (`/dev/null`). */
  logPath?: string;
}

/** What `/v1/health` said: the status and the role, or `undefined` when it did not answer. */
export type Health = { status: number; role: string } | undefined;

const REPO_ROOT = new URL("../..", import.meta.url).pathname;

/**
 * The flags `deno task start` runs the server with (V8 flags and permissions), read from
 * deno.json so that what runs here is what ships.
 */
const START_FLAGS: readonly string[] = (() => {
  const config = JSON.parse(Deno.readTextFileSync(`${REPO_ROOT}deno.json`));
  const words: string[] = config.tasks.start.split(" ");
  return words.slice(words.indexOf("run") + 1, words.indexOf("main.ts"));
})();

/** One pkgindex process, which can be killed, frozen and started again on the same ports. */
export class PkgindexProcess {
  readonly options: PkgindexProcessOptions;
  #child: Deno.ChildProcess | undefined;
  #exited: Promise<Deno.CommandStatus> | undefined;
  #running = false;

  /** A process not started yet (see {@linkcode start}). */
  constructor(options: PkgindexProcessOptions) {
    this.options = options;
  }

  /** Starts a process; it may still be loading when this returns (see {@linkcode waitFor}). */
  static async start(options: PkgindexProcessOptions): Promise<PkgindexProcess> {
    const process = new PkgindexProcess(options);
    await process.start();
    return process;
  }

  /** Its name. */
  get name(): string {
    return this.options.name;
  }

  /** Where HAProxy finds it. */
  get backend(): Backend {
    const { name, port, httpPort } = this.options;
    return { name, port, httpPort };
  }

  /** Its OS process id while it runs. */
  get pid(): number | undefined {
    return this.#running ? this.#child?.pid : undefined;
  }

  /** Whether it runs (or is frozen): it was started and has not exited. */
  get running(): boolean {
    return this.#running;
  }

  /** Starts it, or starts it again after it exited, on the same ports and database. */
  async start(): Promise<void> {
    if (this.#running) throw new Error(`Cannot start ${this.name}: it is running`);
    const { port, httpPort, data, lease, logPath = "/dev/null" } = this.options;
    const args = [
      "run",
      ...START_FLAGS,
      "main.ts",
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--http-port",
      String(httpPort),
      ...(data === undefined ? [] : ["--data", data]),
      ...(lease === undefined ? [] : ["--lease", String(lease)]),
    ];
    const log = await Deno.open(logPath, { create: true, append: true });
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: REPO_ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Straight to the file, not through its writable stream, which holds what it is given
    // until it closes: a log read while the process runs must be current.
    const copy = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) await writeAll(log, chunk);
    };
    const copied = Promise.all([copy(child.stdout), copy(child.stderr)]);
    this.#child = child;
    this.#running = true;
    this.#exited = child.status.then(async (status) => {
      this.#running = false;
      await copied.catch(() => {});
      log.close();
      return status;
    });
  }

  /** Sends `signal`; does nothing once it has exited. */
  signal(signal: Deno.Signal): void {
    if (!this.#running) return;
    try {
      this.#child!.kill(signal);
    } catch {
      // It exited meanwhile.
    }
  }

  /** `kill -9`, and waits for it to be gone. */
  async kill(): Promise<void> {
    this.signal("SIGKILL");
    await this.#exited;
  }

  /**
   * Stops it: SIGCONT (in case it is frozen), then SIGTERM, then SIGKILL if it has not exited
   * within `graceMs` (default 10 s). Safe to call when it has exited.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#exited === undefined) return;
    this.signal("SIGCONT");
    this.signal("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) =>
      timer = setTimeout(() => resolve("late"), graceMs)
    );
    if (await Promise.race([this.#exited, late]) === "late") await this.kill();
    clearTimeout(timer);
    await this.#exited;
  }

  /** `GET /v1/health`, giving up after `timeoutMs` (default 250): a frozen process never answers. */
  async health(timeoutMs = 250): Promise<Health> {
    const response = await this.#get("/v1/health", timeoutMs);
    if (response === undefined) return undefined;
    const body = await response.json().catch(() => ({}));
    return { status: response.status, role: String(body.role) };
  }

  /** `GET /v1/info`'s `replication` object, or `undefined` when it did not answer. */
  async replication(timeoutMs = 1000): Promise<Record<string, unknown> | undefined> {
    const response = await this.#get("/v1/info", timeoutMs);
    if (response === undefined) return undefined;
    const body = await response.json().catch(() => undefined);
    return body?.replication ?? undefined;
  }

  /**
   * A sample of its `/metrics`, such as `pkgindex_packages` (with its labels as written, if any);
   * `undefined` when absent or when it did not answer.
   */
  async metric(name: string, timeoutMs = 1000): Promise<number | undefined> {
    const response = await this.#get("/metrics", timeoutMs);
    if (response === undefined) return undefined;
    return parseExposition(await response.text()).get(name);
  }

  /**
   * Polls `/v1/health` until `ready` accepts what it says; throws after `timeoutMs`, naming the
   * last answer.
   */
  async waitFor(
    ready: (health: Health) => boolean,
    options: { timeoutMs: number; what: string },
  ): Promise<void> {
    const deadline = performance.now() + options.timeoutMs;
    let health: Health;
    while (!ready(health = await this.health())) {
      if (!this.#running) {
        const status = await this.#exited;
        throw new Error(
          `${this.name} exited with ${status?.code} while waiting until ${options.what}; ` +
            `its log ends:\n${await this.logTail()}`,
        );
      }
      if (performance.now() > deadline) {
        throw new Error(
          `${this.name} did not become ${options.what} within ${options.timeoutMs} ms ` +
            `(last health: ${JSON.stringify(health)}); its log ends:\n${await this.logTail()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** The last `lines` lines (default 15) of its log. */
  async logTail(lines = 15): Promise<string> {
    const text = await Deno.readTextFile(this.options.logPath ?? "/dev/null").catch(() => "");
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  }

  async #get(path: string, timeoutMs: number): Promise<Response | undefined> {
    if (!this.#running) return undefined;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await fetch(`http://127.0.0.1:${this.options.httpPort}${path}`, {
        signal: controller.signal,
      });
      // Read the body within the same time limit.
      const body = await response.arrayBuffer();
      return new Response(body, { status: response.status, headers: response.headers });
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Whether `health` says the process leads (200 `leader`). */
export function isLeader(health: Health): boolean {
  return health?.status === 200 && health.role === "leader";
}

/** Whether `health` says the process runs without PostgreSQL (200 `standalone`). */
export function isStandalone(health: Health): boolean {
  return health?.status === 200 && health.role === "standalone";
}

/** Whether `health` says the process is a standby (503 `standby`). */
export function isStandby(health: Health): boolean {
  return health?.status === 503 && health.role === "standby";
}
