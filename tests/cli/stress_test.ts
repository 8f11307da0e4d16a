import assert from "node:assert/strict";
import { UsageError } from "../../lib/cli/flags.ts";
import { STRESS, type StressConfig } from "../../lib/cli/stress.ts";
import { parseCommandLine } from "../../lib/cli/subcommand.ts";

/** The configuration `pkgindex stress` runs with for `args`; `undefined` for help. */
function parseStressArgs(args: string[]): StressConfig | undefined {
  const commandLine = parseCommandLine(STRESS, args, () => undefined);
  return commandLine.kind === "run" ? commandLine.config : undefined;
}

Deno.test("parseStressArgs applies the documented defaults", () => {
  assert.deepEqual(parseStressArgs([]), {
    hostname: "127.0.0.1",
    port: 8080,
    concurrency: 10,
    seed: 1,
    unluckiness: 5,
    strict: false,
    timeout: 120,
    source: { kind: "synthetic", count: 1000, seed: 1 },
    quiet: false,
  });
});

Deno.test("parseStressArgs reads every flag", () => {
  const config = parseStressArgs([
    "--host=localhost",
    "--port=9000",
    "--concurrency=500",
    "--seed=7",
    "--unluckiness=0",
    "--strict",
    "--timeout=2.5",
    "--packages=deps.txt",
    "--quiet",
  ]);
  assert.deepEqual(config, {
    hostname: "localhost",
    port: 9000,
    concurrency: 500,
    seed: 7,
    unluckiness: 0,
    strict: true,
    timeout: 2.5,
    source: { kind: "file", path: "deps.txt" },
    quiet: true,
  });
  assert.deepEqual(parseStressArgs(["--synthetic", "50", "--seed", "3"])?.source, {
    kind: "synthetic",
    count: 50,
    seed: 3,
  });
});

Deno.test("parseStressArgs returns undefined for --help", () => {
  assert.equal(parseStressArgs(["--help"]), undefined);
});

Deno.test("parseStressArgs names the offending value in usage errors", () => {
  const cases: [string[], RegExp][] = [
    [["--concurrency", "0"], /--concurrency '0': expected an integer from 1 to 10000/],
    [["--unluckiness", "101"], /--unluckiness '101'/],
    [["--timeout", "0"], /--timeout '0'/],
    [["--port", "http"], /--port 'http'/],
    [["--packages", "a", "--synthetic", "5"], /--packages 'a' and --synthetic '5'/],
    [["--bogus"], /bogus/],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseStressArgs(args), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, message);
      return true;
    });
  }
});
