import assert from "node:assert/strict";
import { Slowlog, SLOWLOG_CAPACITY } from "../../lib/server/slowlog.ts";

Deno.test("Slowlog keeps the newest requests once more than its capacity were recorded", () => {
  const slowlog = new Slowlog(5);
  const recorded = SLOWLOG_CAPACITY + 2;
  for (let i = 1; i <= recorded; i++) {
    slowlog.record({
      time: i,
      command: "INDEX",
      package: `p${i}`,
      dependencies: 0,
      durationMs: 5,
      peer: "127.0.0.1:1",
    });
  }
  assert.equal(slowlog.recorded, recorded);
  const kept = slowlog.newest(1000);
  assert.equal(kept.length, SLOWLOG_CAPACITY);
  assert.deepEqual(kept.slice(0, 2).map(({ id, package: name }) => [id, name]), [
    [recorded, `p${recorded}`],
    [recorded - 1, `p${recorded - 1}`],
  ]);
  assert.equal(kept.at(-1)!.id, 3, "the two oldest were replaced");
  assert.deepEqual(slowlog.newest(2).map(({ id }) => id), [recorded, recorded - 1]);
  assert.deepEqual(new Slowlog(5).newest(10), []);
});
