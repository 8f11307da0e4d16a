import assert from "node:assert/strict";
import { createLogger } from "../../lib/util/log.ts";
import { createRandom } from "../../lib/tools/random.ts";
import { PackageIndex } from "../../lib/index/package_index.ts";
import { MAX_NAME_BYTES } from "../../lib/protocol/names.ts";
import { serve } from "../../lib/server/server.ts";
import {
  brokenMessage,
  runStress,
  sliceEvenly,
  type StressOptions,
  type StressResult,
} from "../../lib/tools/stress_clients.ts";
import { generatePackages } from "../../lib/tools/synthetic_packages.ts";
import { exchange, withServer } from "../support/test_server.ts";

const quiet = createLogger({ level: "error", write: () => {} });

Deno.test("sliceEvenly gives equal slices and the remainder to the last", () => {
  assert.deepEqual(sliceEvenly([1, 2, 3, 4, 5, 6, 7], 3), [[1, 2], [3, 4], [5, 6, 7]]);
  assert.deepEqual(sliceEvenly([1, 2], 1), [[1, 2]]);
  assert.deepEqual(sliceEvenly([1, 2], 3), [[], [], [1, 2]]);
});

Deno.test("brokenMessage makes only what every server must reject, and pkgindex's own cases with strict", async () => {
  const random = createRandom(5);
  const specs = [{ name: "cloog", dependencies: ["gmp", "isl"] }, {
    name: "gmp",
    dependencies: [],
  }];
  const made = (strict: boolean) =>
    new Set(
      Array.from({ length: 400 }, (_, i) => brokenMessage(specs[i % 2]!, { random, strict })),
    );
  const unknownCommand = /^(BLINDEX|REMOVES|QUER|LIZARD|I)\|(cloog|gmp)\|(gmp,isl)?\n$/;
  const twoFields = /^INDEX\|(cloog|gmp)[=+\u2603 ](cloog|gmp)\n$/;
  const harness = made(false);
  for (const message of harness) {
    assert.ok(unknownCommand.test(message) || twoFields.test(message), JSON.stringify(message));
  }
  assert.equal(harness.size, 2 * 5 + 2 * 4, "every unknown command and joining character");
  const strictOnly = [...made(true)].filter((message) => !harness.has(message));
  const shapes = new Set(
    strictOnly.map((message) =>
      message.includes("\u2603") ? "non-ASCII name" : message.includes(",\n") ? "empty entry" : (
        message.split("|")[1]!.length > MAX_NAME_BYTES ? "long name" : message
      )
    ),
  );
  assert.deepEqual([...shapes].sort(), ["empty entry", "long name", "non-ASCII name"]);
  await withServer({}, async (server) => {
    const all = [...harness, ...strictOnly];
    assert.equal(await exchange(server.addr.port, all.join("")), "ERROR\n".repeat(all.length));
  });
});

Deno.test("runStress passes against pkgindex, cleaning up what an earlier run left", async () => {
  const packages = generatePackages({ count: 300, seed: 2 });
  // Start with everything indexed, as an interrupted run would leave it.
  const index = new PackageIndex();
  for (const spec of packages) assert.ok(index.index(spec.name, spec.dependencies));
  const server = serve({ hostname: "127.0.0.1", port: 0, logger: quiet, index });
  try {
    const options = {
      hostname: "127.0.0.1",
      port: server.addr.port,
      packages,
      concurrency: 8,
      seed: 3,
      unluckiness: 20,
      timeoutMs: 10_000,
    };
    const started: string[] = [];
    const result = await runStress({ ...options, onPhaseStart: (s) => started.push(s.name) });
    assert.equal(result.failure, undefined);
    assert.ok(result.passed);
    assert.deepEqual(started, ["clean", "index", "query-indexed", "remove", "query-removed"]);
    for (const phase of result.phases) assert.equal(phase.done, 300, phase.name);
    assert.ok(result.phases[1]!.requests > 300, "broken messages and retries are counted");
    assert.ok(server.stats.malformedRequests > 0);
    assert.equal(server.stats.requests.REMOVE.OK, 600);
    assert.equal(server.stats.requests.QUERY.OK, 300);
    assert.equal(server.stats.requests.QUERY.FAIL, 300);
  } finally {
    await server.shutdown();
  }
});

/** A wrong server: answers each line with `answer(line)`. */
function serveFake(answer: (line: string) => string): { port: number; close: () => Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const encoder = new TextEncoder();
  const tasks: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) tasks.push(answerLines(conn, answer, encoder));
  })();
  return {
    port: listener.addr.port,
    close: async () => {
      listener.close();
      await accepting;
      await Promise.all(tasks);
    },
  };
}

async function answerLines(
  conn: Deno.Conn,
  answer: (line: string) => string,
  encoder: TextEncoder,
): Promise<void> {
  const buffer = new Uint8Array(1024);
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (true) {
      const count = await conn.read(buffer);
      if (count === null) break;
      text += decoder.decode(buffer.subarray(0, count));
      const lines = text.split("\n");
      text = lines.pop()!;
      for (const line of lines) await conn.write(encoder.encode(answer(line)));
    }
  } catch {
    // The client closed first.
  } finally {
    conn.close();
  }
}

/**
 * A correct server whose names are looser than pkgindex's: any text without `|` or `,`, non-ASCII
 * included, and empty entries in a dependency list are skipped. The protocol allows both.
 */
function serveLenient(): { port: number; close: () => Promise<void> } {
  const indexed = new Map<string, string[]>();
  return serveFake((line) => {
    const [command, name, list, ...rest] = line.split("|");
    if (list === undefined || rest.length > 0 || name === "") return "ERROR\n";
    const dependencies = list.split(",").filter((dependency) => dependency !== "");
    if (command === "INDEX") {
      if (!dependencies.every((dependency) => indexed.has(dependency))) return "FAIL\n";
      indexed.set(name!, dependencies);
      return "OK\n";
    }
    if (command === "REMOVE") {
      if ([...indexed.values()].some((list) => list.includes(name!))) return "FAIL\n";
      indexed.delete(name!);
      return "OK\n";
    }
    if (command === "QUERY") return indexed.has(name!) ? "OK\n" : "FAIL\n";
    return "ERROR\n";
  });
}

Deno.test("runStress passes a correct server with looser names, and fails it only with strict", async () => {
  const server = serveLenient();
  try {
    const options = {
      hostname: "127.0.0.1",
      port: server.port,
      packages: generatePackages({ count: 100, seed: 4 }),
      concurrency: 4,
      seed: 4,
      unluckiness: 100,
      timeoutMs: 10_000,
    };
    const result = await runStress(options);
    assert.equal(result.failure, undefined);
    const strict = await runStress({ ...options, strict: true });
    assert.match(
      strict.failure ?? "",
      /phase 'index' sent "INDEX\|.*" and received "(OK|FAIL)\\n"; expected "ERROR\\n"/,
    );
  } finally {
    await server.close();
  }
});

/**
 * Runs stress against a wrong server that answers each line with `answer(line)`: 50 packages, no
 * broken messages and a 10 s timeout unless `options` say otherwise.
 */
async function stressFake(
  answer: (line: string) => string,
  options: Partial<StressOptions>,
): Promise<StressResult> {
  const server = serveFake(answer);
  try {
    return await runStress({
      hostname: "127.0.0.1",
      port: server.port,
      packages: generatePackages({ count: 50, seed: 1 }),
      concurrency: 2,
      seed: 1,
      unluckiness: 0,
      timeoutMs: 10_000,
      ...options,
    });
  } finally {
    await server.close();
  }
}

Deno.test("runStress fails on a wrong reply, naming the client, message and reply", async () => {
  const result = await stressFake(() => "OK\n", { concurrency: 4 });
  assert.equal(result.passed, false);
  assert.match(
    result.failure ?? "",
    /^Client \d+ in phase 'query-removed' sent "QUERY\|.+\|\\n" and received "OK\\n"; expected "FAIL\\n"\.$/,
  );
});

Deno.test("runStress fails when a broken message is not answered with ERROR", async () => {
  const result = await stressFake(() => "OK\n", { unluckiness: 100 });
  assert.match(result.failure ?? "", /phase 'index' sent .* expected "ERROR\\n"/);
});

Deno.test("runStress fails on an INDEX FAIL although every dependency was confirmed", async () => {
  const result = await stressFake((line) => line.startsWith("INDEX|b|") ? "FAIL\n" : "OK\n", {
    packages: [{ name: "a", dependencies: [] }, { name: "b", dependencies: ["a"] }],
    concurrency: 1,
  });
  assert.match(result.failure ?? "", /sent "INDEX\|b\|a\\n" and received "FAIL\\n"/);
});

Deno.test("runStress times out a server that never converges, naming the phase", async () => {
  const result = await stressFake(() => "FAIL\n", {
    packages: generatePackages({ count: 20, seed: 1 }),
    concurrency: 3,
    timeoutMs: 200,
  });
  assert.equal(result.passed, false);
  assert.match(result.failure ?? "", /^Timed out after 0.2 s in phase 'clean' with 0 of 20/);
});

Deno.test("runStress reports a server it cannot connect to", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await runStress({
    hostname: "127.0.0.1",
    port,
    packages: [{ name: "a", dependencies: [] }],
    concurrency: 1,
    seed: 1,
    unluckiness: 0,
    timeoutMs: 10_000,
  });
  assert.match(result.failure ?? "", new RegExp(`cannot connect to 127.0.0.1:${port}`));
});
