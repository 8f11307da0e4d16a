import assert from "node:assert/strict";
import { generatePackages } from "../../lib/tools/synthetic_packages.ts";

Deno.test("generatePackages gives the same graph for the same seed", () => {
  assert.deepEqual(
    generatePackages({ count: 2000, seed: 9 }),
    generatePackages({ count: 2000, seed: 9 }),
  );
});

Deno.test("generatePackages gives a different graph for another seed", () => {
  assert.notDeepEqual(
    generatePackages({ count: 200, seed: 1 }),
    generatePackages({ count: 200, seed: 2 }),
  );
});

Deno.test("generatePackages lists dependencies first and concentrates dependents", () => {
  const packages = generatePackages({ count: 5000, seed: 4 });
  const seen = new Set<string>();
  const dependents = new Map<string, number>();
  for (const spec of packages) {
    for (const dependency of spec.dependencies) {
      assert.ok(seen.has(dependency), `${spec.name} depends on later ${dependency}`);
      dependents.set(dependency, (dependents.get(dependency) ?? 0) + 1);
    }
    seen.add(spec.name);
  }
  const most = Math.max(...dependents.values());
  assert.ok(most > 100, `the most depended-on package has only ${most} dependents`);
});
