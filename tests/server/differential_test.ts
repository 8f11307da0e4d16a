/**
 * The byte-level request path against a plain model of the protocol's rules: random streams of
 * good, bad and hostile lines, sent to a real server split at random points, must get exactly
 * the replies the model gives.
 */
import assert from "node:assert/strict";
import { createRandom, randomInt } from "../../lib/tools/random.ts";
import { CountingModel } from "../support/counting_model.ts";
import { MAX_LINE_BYTES, NAMES, ProtocolModel, randomLine } from "../support/protocol_model.ts";
import { TestClient, withServer } from "../support/test_server.ts";

Deno.test("the server answers random streams split at random points exactly as the plain model", async () => {
  await withServer({ maxLineBytes: MAX_LINE_BYTES }, async (server) => {
    const random = createRandom(2024);
    const seen = { OK: 0, FAIL: 0, ERROR: 0 };
    for (let round = 0; round < 30; round++) {
      const text = Array.from({ length: 150 }, () => randomLine(random)).join("\n") + "\n";
      const stream = new TextEncoder().encode(text);
      const expected = new ProtocolModel().answer(stream);
      for (const reply of expected.split("\n").slice(0, -1)) seen[reply as keyof typeof seen]++;
      // Each round starts from an empty index: remove what the model's packages left.
      const client = await TestClient.connect(server.addr.port);
      try {
        let sent = 0;
        while (sent < stream.length) {
          const next = Math.min(stream.length, sent + 1 + randomInt(random, 40));
          await client.send(stream.subarray(sent, next));
          if (random() < 0.1) await new Promise((resolve) => setTimeout(resolve, 0));
          sent = next;
        }
        await client.conn.closeWrite();
        assert.equal(await client.readToEnd(), expected, `round ${round}`);
      } finally {
        client.close();
      }
      await emptyIndex(server.addr.port);
    }
    // The streams exercised every outcome, many times over.
    for (const [reply, count] of Object.entries(seen)) assert.ok(count > 500, `${reply}: ${count}`);
  });
});

/** Removes every name of NAMES from the server's index, dependents first. */
async function emptyIndex(port: number): Promise<void> {
  const client = await TestClient.connect(port);
  try {
    for (let pass = 0; pass < NAMES.length; pass++) {
      for (const name of NAMES) await client.request(`REMOVE|${name}|`);
    }
    for (const name of NAMES) assert.equal(await client.request(`QUERY|${name}|`), "FAIL\n");
  } finally {
    client.close();
  }
}

Deno.test("the server answers exactly as the counting model while its index's arrays grow past 1 MiB and shrink back, with removals", async () => {
  // Three phases over one pipelined connection: up to 300,000 packages, down to 80,000, and up
  // to 330,000 again. On the way the name table rehashes many times and the 32-bit slot arrays
  // (at 262,144 slots), the arena and the edge array pass 1 MiB and move into WebAssembly
  // memories (the one-byte marks stay plain until 1,048,576 slots: package_index_test.ts), while
  // packages are re-indexed, refused and removed; every reply is checked against the model.
  // Packages of the first CORE depend only on older core packages, so that re-indexing them
  // can close cycles; every other package depends on core packages and, sometimes, on one
  // recent package, which keeps the model's cycle searches short.
  const CORE = 500;
  const random = createRandom(3500);
  const model = new CountingModel();
  const live: string[] = [];
  let next = 0;
  const seen = { OK: 0, FAIL: 0 };
  const nameOf = (n: number) => n.toString(36).padStart(2 + (n % 7), "z");
  const dependenciesFor = (n: number) => {
    if (n === 0) return [];
    const count = randomInt(random, 4);
    const older = n < CORE ? n : CORE;
    const dependencies = Array.from({ length: count }, () => nameOf(randomInt(random, older)));
    if (n >= CORE && random() < 0.3) {
      dependencies.push(nameOf(Math.max(CORE, n - 1 - randomInt(random, 1000))));
    }
    return dependencies;
  };
  const numberOf = (name: string) => parseInt(name.replace(/^z+/, "") || "0", 36);
  const line = (choice: number, addChance: number): [string, string] => {
    if (live.length === 0 || choice < addChance) {
      const name = nameOf(next);
      const dependencies = dependenciesFor(next++);
      live.push(name);
      return [
        `INDEX|${name}|${dependencies.join(",")}`,
        model.index(name, dependencies) ? "OK" : "FAIL",
      ];
    }
    const at = randomInt(random, live.length);
    const name = live[at]!;
    if (choice < addChance + (1 - addChance) * 0.3) {
      // A core package re-indexed with any core dependency may close a cycle.
      const dependencies = numberOf(name) < CORE
        ? Array.from({ length: 1 + randomInt(random, 3) }, () => nameOf(randomInt(random, CORE)))
        : dependenciesFor(numberOf(name));
      return [
        `INDEX|${name}|${dependencies.join(",")}`,
        model.index(name, dependencies) ? "OK" : "FAIL",
      ];
    }
    if (choice < addChance + (1 - addChance) * 0.9) {
      const removed = model.remove(name);
      if (removed) {
        live[at] = live[live.length - 1]!;
        live.pop();
      }
      return [`REMOVE|${name}|`, removed ? "OK" : "FAIL"];
    }
    const asked = random() < 0.5 ? name : nameOf(next + randomInt(random, 100));
    return [`QUERY|${asked}|`, model.dependencies.has(asked) ? "OK" : "FAIL"];
  };
  await withServer({}, async (server) => {
    const client = await TestClient.connect(server.addr.port);
    try {
      for (const [target, addChance] of [[300_000, 0.75], [80_000, 0.05], [330_000, 0.75]]) {
        const growing = live.length < target!;
        while (growing ? live.length < target! : live.length > target!) {
          const lines: string[] = [];
          const expected: string[] = [];
          for (let i = 0; i < 4096; i++) {
            const [request, reply] = line(random(), addChance!);
            lines.push(request);
            expected.push(reply);
            seen[reply as keyof typeof seen]++;
          }
          await client.send(lines.join("\n") + "\n");
          const replies = (await client.readLines(lines.length)).split("\n");
          const wrong = expected.findIndex((reply, i) => replies[i] !== reply);
          if (wrong !== -1) {
            assert.fail(
              `'${lines[wrong]}' got ${replies[wrong]}, the model says ${expected[wrong]}`,
            );
          }
        }
      }
    } finally {
      client.close();
    }
  });
  assert.ok(next > 500_000, `${next} packages were indexed`);
  for (const [reply, count] of Object.entries(seen)) {
    assert.ok(count > 10_000, `${reply}: ${count}`);
  }
});
