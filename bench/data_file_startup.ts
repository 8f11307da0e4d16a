/**
 * Measures how long the server takes to start on a data file holding N synthetic packages
 * (default 1,000,000 with ~4 dependencies each): it writes the file, starts `main.ts --data` as
 * a child process, and reports the load time the server logs, the time until it listens, and its
 * RSS once listening.
 *
 *   deno run --allow-read --allow-write --allow-run bench/data_file_startup.ts [count]
 *
 * @module
 */

import { SqliteStore } from "../lib/sqlite_store.ts";
import { generatePackages } from "../lib/synthetic_packages.ts";

const count = Number(Deno.args[0] ?? 1_000_000);
const dir = await Deno.makeTempDir({ prefix: "pkgindex_startup_" });
const path = `${dir}/index.db`;
try {
  const packages = generatePackages({ count, seed: 1, averageDependencies: 4 });
  const store = SqliteStore.open(path);
  store.prepareForWrites("normal");
  store.commit(packages.map(({ name, dependencies }) => ({ kind: "index", name, dependencies })));
  store.close();
  const edges = packages.reduce((sum, spec) => sum + spec.dependencies.length, 0);
  const fileBytes = (await Deno.stat(path)).size;

  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      `--allow-read=${path}`,
      `--allow-write=${path}`,
      "main.ts",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--data",
      path,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  while (!log.includes("listening on")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`The server exited before listening:\n${log}`);
    log += value;
  }
  const listeningAfter = (performance.now() - started) / 1000;
  const rssMiB = await residentMiB(child.pid);
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  const settledMiB = await residentMiB(child.pid);
  child.kill("SIGTERM");
  await child.status;
  await reader.cancel();

  const loaded = /Loaded .* in ([\d.]+) s/.exec(log)?.[1];
  // deno-lint-ignore no-console
  console.log(
    `${count} packages, ${edges} edges, data file ${(fileBytes / 2 ** 20).toFixed(0)} MiB\n` +
      `load (as logged by the server): ${loaded} s\n` +
      `process start to listening:     ${listeningAfter.toFixed(2)} s\n` +
      `server RSS once listening:      ${rssMiB.toFixed(0)} MiB\n` +
      `server RSS 10 s later, idle:    ${settledMiB.toFixed(0)} MiB`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}

async function residentMiB(pid: number): Promise<number> {
  const ps = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", `${pid}`] }).output();
  return Number(new TextDecoder().decode(ps.stdout).trim()) / 1024;
}
