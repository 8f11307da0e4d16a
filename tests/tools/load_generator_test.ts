import assert from "node:assert/strict";
import { preloadPackages, runBench } from "../../lib/tools/load_generator.ts";
import { createLogger } from "../../lib/util/log.ts";
import { PackageIndex } from "../../lib/index/package_index.ts";
import { serve } from "../../lib/server/server.ts";
import { generatePackages } from "../../lib/tools/synthetic_packages.ts";

const quiet = createLogger({ level: "error", write: () => {} });

Deno.test("preloadPackages indexes a list in any order, retrying until dependencies are in", async () => {
  const server = serve({ hostname: "127.0.0.1", port: 0, logger: quiet });
  try {
    const packages = generatePackages({ count: 500, seed: 1 }).reverse();
    await preloadPackages({ hostname: "127.0.0.1", port: server.addr.port }, packages);
    assert.equal(server.stats.requests.INDEX.OK, 500);
    assert.ok(server.stats.requests.INDEX.FAIL > 0, "reversed order needs retries");
  } finally {
    await server.shutdown();
  }
});

Deno.test("preloadPackages rejects packages whose dependency is missing", async () => {
  const server = serve({ hostname: "127.0.0.1", port: 0, logger: quiet });
  try {
    await assert.rejects(
      preloadPackages({ hostname: "127.0.0.1", port: server.addr.port }, [
        { name: "a", dependencies: ["missing"] },
      ]),
      /Cannot preload 1 packages, such as 'a'/,
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("runBench counts only expected replies under the mixed mix, pipelined", async () => {
  const index = new PackageIndex();
  const server = serve({ hostname: "127.0.0.1", port: 0, logger: quiet, index });
  try {
    const target = { hostname: "127.0.0.1", port: server.addr.port };
    const packages = generatePackages({ count: 300, seed: 2 });
    await preloadPackages(target, packages);
    const result = await runBench({
      ...target,
      packages,
      depth: 8,
      connections: 4,
      durationMs: 200,
      warmupMs: 50,
      mix: "mixed",
      seed: 1,
    });
    assert.equal(result.unexpected, 0);
    assert.ok(result.requests > 100);
    assert.equal(result.replies.OK + result.replies.FAIL, result.requests);
    assert.ok(result.latency.p50 <= result.latency.p99 && result.latency.p99 <= result.latency.max);
    const { INDEX, REMOVE, QUERY } = server.stats.requests;
    assert.ok(REMOVE.OK > 0 && REMOVE.FAIL === 0 && INDEX.FAIL === 0);
    const total = INDEX.OK - 300 + REMOVE.OK + QUERY.OK + QUERY.FAIL;
    const queryShare = (QUERY.OK + QUERY.FAIL) / total;
    assert.ok(queryShare > 0.75 && queryShare < 0.85, `QUERY share ${queryShare}`);
    assert.equal(index.size, 300, "every REMOVE was followed by its INDEX");
  } finally {
    await server.shutdown();
  }
});

Deno.test("runBench counts a wrong reply as unexpected", async () => {
  const server = serve({ hostname: "127.0.0.1", port: 0, logger: quiet });
  try {
    const target = { hostname: "127.0.0.1", port: server.addr.port };
    // Never preloaded: every QUERY gets FAIL.
    const result = await runBench({
      ...target,
      packages: generatePackages({ count: 10, seed: 2 }),
      depth: 1,
      connections: 2,
      durationMs: 100,
      warmupMs: 0,
      mix: "query",
      seed: 1,
    });
    assert.ok(result.unexpected > 0);
    assert.equal(result.replies.FAIL, result.requests);
  } finally {
    await server.shutdown();
  }
});

Deno.test("runBench with bursts writes depth requests at once and waits for all their replies", async () => {
  // A server that answers the first line of each read at once and the rest in a second write:
  // a ring client would send a new request after the first reply; a burst client waits, so
  // every read brings exactly one whole burst.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const linesPerRead: number[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      (async () => {
        const buffer = new Uint8Array(4096);
        try {
          while (true) {
            const count = await conn.read(buffer);
            if (count === null) break;
            const lines = buffer.subarray(0, count).filter((byte) => byte === 0x0a).length;
            linesPerRead.push(lines);
            if (lines === 0) continue;
            await conn.write(new TextEncoder().encode("OK\n"));
            await conn.write(new TextEncoder().encode("OK\n".repeat(lines - 1)));
          }
        } catch {
          // The client closed the connection.
        } finally {
          conn.close();
        }
      })();
    }
  })();
  try {
    const result = await runBench({
      hostname: "127.0.0.1",
      port: (listener.addr as Deno.NetAddr).port,
      packages: generatePackages({ count: 50, seed: 3 }),
      depth: 8,
      bursts: true,
      connections: 2,
      durationMs: 100,
      warmupMs: 0,
      mix: "query",
      seed: 1,
    });
    assert.equal(result.unexpected, 0);
    assert.ok(result.requests > 0);
    assert.ok(linesPerRead.length > 2);
    assert.deepEqual(new Set(linesPerRead), new Set([8]));
  } finally {
    listener.close();
    await serving;
  }
});

Deno.test("runBench reports the window to onWindow and its own CPU time in it", async () => {
  const server = serve({ hostname: "127.0.0.1", port: 0, logger: quiet });
  try {
    const target = { hostname: "127.0.0.1", port: server.addr.port };
    const packages = generatePackages({ count: 50, seed: 4 });
    await preloadPackages(target, packages);
    const events: string[] = [];
    const result = await runBench({
      ...target,
      packages,
      depth: 4,
      connections: 2,
      durationMs: 100,
      warmupMs: 20,
      mix: "query",
      seed: 1,
      onWindow: (event) => events.push(event),
    });
    assert.deepEqual(events, ["open", "close"]);
    assert.ok(result.clientCpuSeconds > 0);
  } finally {
    await server.shutdown();
  }
});
