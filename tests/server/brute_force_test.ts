/**
 * The official harness's scenario in miniature: concurrent clients each own a slice of a seeded
 * dependency DAG and brute-force it into and out of one server, with broken messages mixed in.
 */
import assert from "node:assert/strict";
import { TestClient, withServer } from "../support/test_server.ts";
import { createRandom, type Random, shuffle } from "../../lib/tools/random.ts";
import { generatePackages, type PackageSpec } from "../../lib/tools/synthetic_packages.ts";

const CLIENTS = 100;
const PACKAGES = 3000;
const BROKEN_MESSAGES = ["BLINDEX|a|", "INDEX|a", "INDEX|a b|", "INDEX|a|b,,c", "QUERY|☃|"];

/**
 * Sends every line, then again every line answered FAIL, until all are answered OK. With
 * `random`, a broken message that must get ERROR goes before 5% of the lines.
 */
async function bruteForce(client: TestClient, lines: string[], random?: Random): Promise<void> {
  let pending = lines;
  while (pending.length > 0) {
    const failed: string[] = [];
    for (const line of pending) {
      if (random !== undefined && random() < 0.05) {
        const broken = BROKEN_MESSAGES[Math.floor(random() * BROKEN_MESSAGES.length)]!;
        assert.equal(await client.request(broken), "ERROR\n", broken);
      }
      const reply = await client.request(line);
      if (reply === "FAIL\n") failed.push(line);
      else assert.equal(reply, "OK\n", line);
    }
    pending = failed;
  }
}

/** Has every client query its whole slice at the same time, expecting `expected` for each. */
async function queryAll(clients: TestClient[], slices: PackageSpec[][], expected: string) {
  await Promise.all(clients.map(async (client, i) => {
    for (const spec of slices[i]!) {
      assert.equal(await client.request(`QUERY|${spec.name}|`), expected, spec.name);
    }
  }));
}

Deno.test("server converges when 100 clients brute-force a 3000-package DAG in and out", async () => {
  const random = createRandom(11);
  const packages = shuffle(generatePackages({ count: PACKAGES, seed: 11 }), random);
  const sliceSize = Math.floor(packages.length / CLIENTS);
  const slices = Array.from(
    { length: CLIENTS },
    (_, i) =>
      packages.slice(i * sliceSize, i === CLIENTS - 1 ? packages.length : (i + 1) * sliceSize),
  );
  await withServer({}, async (server) => {
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, () => TestClient.connect(server.addr.port)),
    );
    try {
      const removeLines = slices.map((slice) => slice.map((spec) => `REMOVE|${spec.name}|`));
      const indexLines = slices.map((slice) =>
        slice.map((spec) => `INDEX|${spec.name}|${spec.dependencies.join(",")}`)
      );
      await Promise.all(clients.map((client, i) => bruteForce(client, removeLines[i]!)));
      await Promise.all(clients.map((client, i) => bruteForce(client, indexLines[i]!, random)));
      await queryAll(clients, slices, "OK\n");
      assert.ok(server.stats.requests.INDEX.FAIL > 0, "the brute force really had to retry");
      await Promise.all(clients.map((client, i) => bruteForce(client, removeLines[i]!)));
      await queryAll(clients, slices, "FAIL\n");
      assert.ok(server.stats.requests.REMOVE.FAIL > 0, "removal really had to retry");
      assert.ok(server.stats.malformedRequests > 0, "broken messages were sent");
    } finally {
      for (const client of clients) client.close();
    }
  });
});
