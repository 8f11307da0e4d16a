import assert from "node:assert/strict";
import { BENCH, type BenchConfig } from "../../lib/cli/bench.ts";
import { UsageError } from "../../lib/cli/flags.ts";
import { parseCommandLine } from "../../lib/cli/subcommand.ts";

/** The configuration `pkgindex bench` runs with for `args`; `undefined` for help. */
function parseBenchArgs(args: string[]): BenchConfig | undefined {
  const commandLine = parseCommandLine(BENCH, args, () => undefined);
  return commandLine.kind === "run" ? commandLine.config : undefined;
}

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
    drippers: 0,
    dripInterval: 200,
    json: false,
  });
});

Deno.test("parseBenchArgs gives pipeline mode a depth of 64 unless told", () => {
  assert.equal(parseBenchArgs(["--mode", "pipeline"])?.depth, 64);
  assert.equal(parseBenchArgs(["--mode", "pipeline", "--depth", "8"])?.depth, 8);
});

Deno.test("parseBenchArgs gives burst mode bursts of 64 unless told", () => {
  assert.equal(parseBenchArgs(["--mode", "burst"])?.depth, 64);
  assert.equal(parseBenchArgs(["--mode", "burst", "--depth", "8"])?.depth, 8);
});

Deno.test("parseBenchArgs names the offending value in usage errors", () => {
  const cases: [string[], RegExp][] = [
    [["--mode", "flood"], /--mode 'flood': expected one of pingpong, pipeline, burst/],
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
