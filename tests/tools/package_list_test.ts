import assert from "node:assert/strict";
import { parsePackageList, readPackageList } from "../../lib/tools/package_list.ts";

Deno.test("parsePackageList reads names and white-space separated dependencies", () => {
  const packages = parsePackageList("cloog: gmp  isl \nisl: gmp\ngmp:\n");
  assert.deepEqual(packages, [
    { name: "cloog", dependencies: ["gmp", "isl"] },
    { name: "isl", dependencies: ["gmp"] },
    { name: "gmp", dependencies: [] },
  ]);
});

Deno.test("parsePackageList adds packages named only as dependencies, with none", () => {
  const packages = parsePackageList("a: b c\n\nc:\n");
  assert.deepEqual(packages, [
    { name: "a", dependencies: ["b", "c"] },
    { name: "c", dependencies: [] },
    { name: "b", dependencies: [] },
  ]);
});

Deno.test("parsePackageList merges a package listed twice and drops repeated dependencies", () => {
  assert.deepEqual(parsePackageList("a: b b\na: c\nb:\nc:"), [
    { name: "a", dependencies: ["b", "c"] },
    { name: "b", dependencies: [] },
    { name: "c", dependencies: [] },
  ]);
});

Deno.test("parsePackageList rejects a line without a name, naming its line number", () => {
  assert.throws(() => parsePackageList("a:\nno colon here\n"), /line 2 'no colon here'/);
  assert.throws(() => parsePackageList(": b\n"), /line 1/);
});

Deno.test("readPackageList names the file it cannot read", async () => {
  await assert.rejects(
    readPackageList("/nonexistent/packages.txt"),
    /^Error: Cannot read packages file '\/nonexistent\/packages.txt': there is no such file$/,
  );
});
