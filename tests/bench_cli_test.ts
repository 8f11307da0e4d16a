import assert from "node:assert/strict";
import { UsageError } from "../lib/cli.ts";
import { parseBenchArgs } from "../lib/bench_cli.ts";

Deno.test("parseBenchArgs applies the documented defaults", () => {
  assert.deepEqual(parseBenchArgs([]), {
    hostname: "127.0.0.1",
    port: 8080,
    mode: "pingpong",
    depth: 1,
    connections: 50,
    duration: 10,
    warmup: 2,
    mix: "query",
    source: { kind: "synthetic", count: 10000, seed: 1 },
    seed: 1,
    json: false,
  });
});

Deno.test("parseBenchArgs gives pipeline mode a depth of 64 unless told", () => {
  assert.equal(parseBenchArgs(["--mode", "pipeline"])?.depth, 64);
  assert.equal(parseBenchArgs(["--mode", "pipeline", "--depth", "8"])?.depth, 8);
});

Deno.test("parseBenchArgs names the offending value in usage errors", () => {
  const cases: [string[], RegExp][] = [
    [["--mode", "burst"], /--mode 'burst': expected one of pingpong, pipeline/],
    [["--depth", "4"], /--depth '4' with --mode pingpong/],
    [["--mix", "write"], /--mix 'write'/],
    [["--conns", "0"], /--conns '0'/],
    [["--duration", "0"], /--duration '0'/],
    [["--synthetic", "x"], /--synthetic 'x'/],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseBenchArgs(args), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, message);
      return true;
    });
  }
});
