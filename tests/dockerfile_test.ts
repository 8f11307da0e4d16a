/**
 * The Dockerfile, checked by reading: no container engine runs here, so these tests hold it to
 * what it must say, not to a build.
 */
import assert from "node:assert/strict";

const read = (path: string) => Deno.readTextFile(new URL(`../${path}`, import.meta.url));
const dockerfile = await read("Dockerfile");
const instructions = (name: string) =>
  [...dockerfile.matchAll(new RegExp(`^${name} (.+)$`, "gm"))].map((match) => match[1]!);

Deno.test("the Dockerfile builds and runs on ubuntu:26.04 with the Deno that CI installs", async () => {
  const ciVersion = /^DENO_VERSION=(\S+)$/m.exec(await read(".ci/run"))?.[1];
  assert.deepEqual(instructions("FROM"), [
    `--platform=linux/amd64 denoland/deno:bin-${ciVersion} AS deno`,
    "--platform=linux/amd64 ubuntu:26.04 AS build",
    "--platform=linux/amd64 ubuntu:26.04",
  ]);
  assert.ok(dockerfile.includes("COPY --from=deno /deno /usr/local/bin/deno\n"));
});

Deno.test("the Dockerfile runs the compiled binary as a non-root user, with its data in /data and a health check", async () => {
  const compile: string = JSON.parse(await read("deno.json")).tasks.compile;
  const output = /--output (\S+)/.exec(compile)?.[1];
  assert.ok(dockerfile.includes("RUN deno task compile\n"));
  assert.ok(dockerfile.includes(`COPY --from=build /src/${output} /usr/local/bin/pkgindex\n`));
  assert.deepEqual(instructions("USER"), ["pkgindex"]);
  assert.deepEqual(instructions("VOLUME"), ["/data"]);
  assert.deepEqual(instructions("CMD"), ['["serve", "--data", "/data/pkgindex.db"]']);
  assert.match(dockerfile, /^HEALTHCHECK .*\\\n\s+CMD \["pkgindex", "send", /m);
});
