import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { SERVE_ENV_VARIABLES } from "../lib/cli/serve.ts";
import { CONSOLE_PATHS } from "../lib/ops/console.ts";
import { VERSION } from "../lib/util/version.ts";
import { startServerProcess } from "./support/test_server.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
/** The words of `deno task compile`: `deno compile <flags> --output pkgindex main.ts`. */
const TASK: string[] = config.tasks.compile.split(" ");
const FLAGS = TASK.slice(2, -3);

Deno.test("deno task compile bakes in network access and exactly the PKGINDEX_* variables", () => {
  deepStrictEqual(TASK.slice(0, 2), ["deno", "compile"]);
  deepStrictEqual(TASK.slice(-3), ["--output", "pkgindex", "main.ts"]);
  deepStrictEqual(FLAGS, [
    "--target",
    "x86_64-unknown-linux-gnu",
    "--v8-flags=--max-semi-space-size=4,--initial-old-space-size=128,--expose-gc",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    `--allow-env=${SERVE_ENV_VARIABLES.join(",")}`,
  ]);
});

Deno.test("deno compile embeds the console without --include: its files are imported as text", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  const graph = JSON.parse(new TextDecoder().decode(output.stdout));
  const files = graph.modules.map((module: { specifier: string }) => module.specifier)
    .filter((specifier: string) => specifier.includes("/lib/ops/console/"))
    .map((specifier: string) => specifier.slice(specifier.lastIndexOf("/") + 1));
  deepStrictEqual(files.sort(), ["console.css", "console.js", "index.html"]);
  strictEqual(FLAGS.some((flag) => flag.startsWith("--include")), false);
});

const decoder = new TextDecoder();
const binaryDirectory = await Deno.makeTempDir({ prefix: "pkgindex_compile_test_" });
const binary = `${binaryDirectory}/pkgindex`;
const skipReason = await compile();
if (skipReason !== undefined) {
  await Deno.remove(binaryDirectory, { recursive: true });
  // deno-lint-ignore no-console
  console.warn(`Skipping the compiled binary test: ${skipReason}`);
}

/**
 * Compiles main.ts with the task's flags into `binary`. Resolves to why it cannot be done here
 * when `deno compile` has no usable base binary; throws for any other compile failure.
 */
async function compile(): Promise<string | undefined> {
  const base = Deno.env.get("DENORT_BIN");
  if (base !== undefined && await Deno.realPath(base) === await Deno.realPath(Deno.execPath())) {
    return "DENORT_BIN names the deno CLI itself, not denort: the file deno compile makes from " +
      "it runs as the deno CLI and ignores the embedded program";
  }
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["compile", ...FLAGS, "--output", binary, "main.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (output.success) return undefined;
  const stderr = decoder.decode(output.stderr);
  if (!stderr.includes("base binary")) throw new Error(`deno compile failed:\n${stderr}`);
  // The innermost cause, such as "failed to lookup address information: ...".
  const causes = stderr.split("Stack backtrace")[0]!.match(/^\s*\d+: .*$/gm) ?? [stderr];
  const cause = causes.at(-1)!.replace(/^\s*\d+: /, "");
  return `deno compile cannot get its denort base binary (${cause}); set DENORT_BIN to a ` +
    `denort ${Deno.version.deno} binary for x86_64 Linux to run it`;
}

/** Runs the compiled binary with `args` and returns its exit code and standard output. */
async function run(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(binary, { args, env, stdin: "null", stderr: "inherit" })
    .output();
  return { code: output.code, stdout: decoder.decode(output.stdout) };
}

Deno.test({
  name: "the compiled binary prints its version, serves the protocol and answers pkgindex send" +
    (skipReason === undefined ? "" : ` (skipped: ${skipReason})`),
  ignore: skipReason !== undefined,
  async fn() {
    try {
      deepStrictEqual(await run(["--version"]), { code: 0, stdout: `pkgindex ${VERSION}\n` });
      const pkgindex = await startServerProcess([binary, "--http-port", "0"]);
      const port = String(pkgindex.port);
      deepStrictEqual(await run(["send", "--port", port, "INDEX|gmp|", "QUERY|gmp|", "?"]), {
        code: 0,
        stdout: "OK\nOK\nERROR\n",
      });
      // PKGINDEX_PORT is read only when the binary was granted it at compile time.
      deepStrictEqual(await run(["send", "QUERY|gmp|"], { PKGINDEX_PORT: port }), {
        code: 0,
        stdout: "OK\n",
      });
      const health = await fetch(`http://127.0.0.1:${pkgindex.httpPort}/healthz`);
      strictEqual(`${health.status} ${await health.text()}`, "200 ok\n");
      // The console's files are embedded: the binary serves them without reading the disk.
      for (const path of CONSOLE_PATHS) {
        const file = await fetch(`http://127.0.0.1:${pkgindex.httpPort}${path}`);
        strictEqual(file.status, 200, path);
        await file.body?.cancel();
      }
      const { code, log } = await pkgindex.stop();
      strictEqual(code, 0, log);
    } finally {
      await Deno.remove(binaryDirectory, { recursive: true });
    }
  },
});
