/**
 * Runs a pkgindex server as a child process for tests, from `deno run main.ts` or a compiled
 * binary alike, on ephemeral ports of 127.0.0.1.
 *
 * @module
 */

/** A pkgindex server running in a child process. */
export interface PkgindexProcess {
  /** The TCP port of the protocol. */
  port: number;
  /** The HTTP port of `/metrics` and `/healthz`. */
  metricsPort: number;
  /** Sends SIGTERM and resolves to the exit code and everything the server logged. */
  stop(): Promise<{ code: number; log: string }>;
}

/**
 * Starts `command` (the program and its leading arguments, such as `["deno", "run", "main.ts"]`)
 * with `--host 127.0.0.1 --port 0 --metrics-port 0`, and resolves once its log names both ports.
 */
export async function startPkgindex(command: string[]): Promise<PkgindexProcess> {
  const [program, ...args] = command;
  const child = new Deno.Command(program!, {
    args: [...args, "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  while (!log.includes("/healthz on")) {
    const chunk = await stderr.read();
    if (chunk.done) {
      await child.status;
      throw new Error(`pkgindex exited before listening; its log: ${log}`);
    }
    log += chunk.value;
  }
  return {
    port: Number(/listening on 127\.0\.0\.1:(\d+)/.exec(log)![1]),
    metricsPort: Number(/\/healthz on 127\.0\.0\.1:(\d+)/.exec(log)![1]),
    async stop() {
      child.kill("SIGTERM");
      while (true) {
        const chunk = await stderr.read();
        if (chunk.done) break;
        log += chunk.value;
      }
      return { code: (await child.status).code, log };
    },
  };
}
