/**
 * The byte-level request path against a plain model of the protocol's rules: random streams of
 * good, bad and hostile lines, sent to a real server split at random points, must get exactly
 * the replies the model gives.
 */
import assert from "node:assert/strict";
import { createRandom, randomInt } from "../../lib/tools/random.ts";
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
