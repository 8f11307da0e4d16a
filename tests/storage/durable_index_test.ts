import assert from "node:assert/strict";
import { DurableIndex, type MutationStore } from "../../lib/storage/durable_index.ts";
import { PackageIndex } from "../../lib/index/package_index.ts";
import type { Mutation } from "../../lib/storage/sqlite_store.ts";
import { recordingLogger } from "../support/test_server.ts";

/** A store that records each commit, and fails the ones it is told to. */
class RecordingStore implements MutationStore {
  commits: Mutation[][] = [];
  failNext = false;
  commit(mutations: readonly Mutation[]): void {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("database or disk is full");
    }
    this.commits.push([...mutations]);
  }
}

function setUp() {
  const index = new PackageIndex();
  const store = new RecordingStore();
  const logger = recordingLogger();
  return { index, store, logger, durable: new DurableIndex({ index, store, logger }) };
}

Deno.test("DurableIndex commits every mutation of one turn in one transaction", async () => {
  const { durable, store } = setUp();
  assert.equal(durable.whenDurable(), undefined, "nothing to wait for yet");
  assert.equal(durable.index("gmp", []), true);
  assert.equal(durable.index("isl", ["gmp"]), true);
  assert.equal(durable.index("cloog", ["missing"]), false);
  assert.equal(durable.remove("never-there"), true);
  assert.equal(durable.remove("gmp"), false);
  const pending = durable.whenDurable();
  assert.ok(pending !== undefined);
  assert.equal(store.commits.length, 0, "not committed before the turn ends");
  assert.equal(await pending, true);
  assert.deepEqual(store.commits, [[
    { kind: "index", name: "gmp", dependencies: [] },
    { kind: "index", name: "isl", dependencies: ["gmp"] },
  ]]);
  assert.equal(durable.whenDurable(), undefined);
  durable.remove("isl");
  assert.equal(await durable.whenDurable(), true);
  assert.deepEqual(store.commits[1], [{ kind: "remove", name: "isl" }]);
  assert.equal(durable.commitStats.commits, 2);
  assert.equal(durable.commitStats.latency.count, 2);
});

Deno.test("DurableIndex undoes a failed commit in memory, newest change first", async () => {
  const { durable, index, store, logger } = setUp();
  durable.index("a", []);
  durable.index("b", ["a"]);
  assert.equal(await durable.whenDurable(), true);

  store.failNext = true;
  durable.index("c", ["b"]); // created
  durable.index("b", []); // re-indexed
  durable.remove("c"); // removed again
  durable.remove("b"); // removed, had dependencies []
  durable.index("b", ["a"]); // created again
  assert.equal(await durable.whenDurable(), false);
  assert.deepEqual([...index.entries()], [["a", []], ["b", ["a"]]]);
  assert.equal(index.has("c"), false);
  assert.equal(index.dependentCount("a"), 1);
  assert.equal(durable.commitStats.failures, 1);
  assert.ok(logger.lines.some((line) => /ERROR Commit of 5 change\(s\) failed/.test(line)));

  assert.equal(durable.remove("b"), true, "the next commit works again");
  assert.equal(await durable.whenDurable(), true);
  assert.deepEqual(store.commits.at(-1), [{ kind: "remove", name: "b" }]);
});

Deno.test("DurableIndex flush commits at once", () => {
  const { durable, store } = setUp();
  durable.index("a", []);
  durable.flush();
  assert.equal(store.commits.length, 1);
  assert.equal(durable.whenDurable(), undefined);
});
