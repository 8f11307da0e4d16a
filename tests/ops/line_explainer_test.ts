import assert from "node:assert/strict";
import { PackageIndex } from "../../lib/index/package_index.ts";
import { runToEnd } from "../../lib/index/walk_runner.ts";
import { explainLine } from "../../lib/ops/line_explainer.ts";
import { createRandom } from "../../lib/tools/random.ts";
import { MAX_LINE_BYTES, ProtocolModel, randomLine } from "../support/protocol_model.ts";
import { TestClient, withServer } from "../support/test_server.ts";

Deno.test("explainLine gives every random line the reply the server then gives it, and the model", async () => {
  const index = new PackageIndex();
  await withServer({ maxLineBytes: MAX_LINE_BYTES, index }, async (server) => {
    const client = await TestClient.connect(server.addr.port);
    try {
      const model = new ProtocolModel();
      const random = createRandom(14);
      const seen = { OK: 0, FAIL: 0, ERROR: 0, missing: 0, cycle: 0 };
      for (let i = 0; i < 6000; i++) {
        const line = new TextEncoder().encode(randomLine(random) + "\n");
        const explanation = runToEnd(
          explainLine(index, line, { maxLineBytes: MAX_LINE_BYTES, limit: 1000 }),
        );
        await client.send(line);
        const reply = await client.readLine();
        assert.equal(`${explanation.reply}\n`, reply, `line ${i}: ${explanation.line}`);
        assert.equal(model.answer(line), reply, `line ${i}: ${explanation.line}`);
        seen[explanation.reply]++;
        if (explanation.missing !== undefined) seen.missing++;
        if (explanation.cycle !== undefined) seen.cycle++;
      }
      // Every kind of reply came up, and both reasons for FAIL.
      for (const [kind, count] of Object.entries(seen)) assert.ok(count >= 20, `${kind}: ${count}`);
    } finally {
      client.close();
    }
  });
});
