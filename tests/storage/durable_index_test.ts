import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { DurableIndex, type MutationStore } from "../../lib/storage/durable_index.ts";
import { PackageIndex } from "../../lib/index/package_index.ts";
import { type Mutation, SqliteStore } from "../../lib/storage/sqlite_store.ts";
import { namesOf } from "../../lib/protocol/request_parser.ts";
import { withTempDir } from "../support/data_files.ts";
import { recordingLogger } from "../support/test_server.ts";
import { createRandom, randomInt } from "../../lib/tools/random.ts";

/** A store that records each commit, and fails as many as it is told to. */
class RecordingStore implements MutationStore {
  commits: Mutation[][] = [];
  failures = 0;
  commit(mutations: readonly Mutation[]): void {
    if (this.failures > 0) {
      this.failures--;
      throw new Error("database or disk is full");
    }
    this.commits.push([...mutations]);
  }
}

function setUp() {
  const index = new PackageIndex();
  const store = new RecordingStore();
  const logger = recordingLogger();
  const diverged: Error[] = [];
  const onDiverged = (error: Error) => diverged.push(error);
  const durable = new DurableIndex({ index, store, logger, onDiverged });
  return { index, store, logger, diverged, durable };
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

  store.failures = 1;
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
  assert.ok(logger.lines.some((line) => /ERROR Commit of 5 changes failed/.test(line)));

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

Deno.test("DurableIndex logs failing commits once, and their count when one succeeds again", async () => {
  const { durable, store, logger } = setUp();
  store.failures = 3;
  for (const names of [["a", "b"], ["c"], ["d", "e"]]) {
    for (const name of names) durable.index(name, []);
    assert.equal(await durable.whenDurable(), false);
  }
  durable.index("f", []);
  assert.equal(await durable.whenDurable(), true);
  durable.index("g", []);
  assert.equal(await durable.whenDurable(), true);
  assert.deepEqual(logger.lines.map((line) => line.replace(/^\S+ /, "")), [
    "ERROR Commit of 2 changes failed; undone in memory and answered ERROR: database or disk " +
    "is full. Further failures are counted until a commit succeeds",
    "INFO Commits succeed again after 3 failed commits of 5 changes, all undone in memory and " +
    "answered ERROR",
  ]);
  assert.equal(durable.commitStats.failures, 3);
});

Deno.test("DurableIndex stops committing and answers nothing durable once an undo fails", async () => {
  const index = new PackageIndex();
  const logger = recordingLogger();
  const diverged: Error[] = [];
  let commits = 0;
  // The commit fails after something changed the index behind the wrapper's back: 'b' now
  // depends on 'a', so undoing the new 'a' (removing it) is impossible.
  const store: MutationStore = {
    commit: () => {
      commits++;
      index.index("b", ["a"]);
      throw new Error("disk I/O error");
    },
  };
  const durable = new DurableIndex({
    index,
    store,
    logger,
    onDiverged: (error) => diverged.push(error),
  });
  durable.index("a", []);
  assert.equal(await durable.whenDurable(), false, "the waiting replies become ERROR");
  assert.deepEqual(diverged.map((error) => error.message), [
    "Cannot undo the change to 'a' after a commit failed (disk I/O error): memory and the data " +
    "file disagree, so every reply is ERROR until a restart reloads the file",
  ]);
  assert.deepEqual(logger.lines, [], "the owner logs the one line about it");
  durable.index("c", []);
  assert.equal(await durable.whenDurable(), false, "every later reply becomes ERROR too");
  durable.flush();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(commits, 1, "nothing was committed after the divergence");
  assert.equal(diverged.length, 1);
});

/** A store whose commits settle only when the test says so. */
class ManualStore implements MutationStore {
  inFlight: { mutations: Mutation[]; settle: PromiseWithResolvers<void> }[] = [];
  commit(mutations: readonly Mutation[]): Promise<void> {
    const settle = Promise.withResolvers<void>();
    this.inFlight.push({ mutations: [...mutations], settle });
    return settle.promise;
  }
}

/**
 * Waits until the group commits scheduled so far have started: they run in an immediate, and
 * immediates run in the order they were scheduled.
 */
function afterGroupCloses(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function setUpAsync() {
  const index = new PackageIndex();
  const store = new ManualStore();
  const durable = new DurableIndex({
    index,
    store,
    logger: recordingLogger(),
    onDiverged: (error) => assert.fail(error),
  });
  return { index, store, durable };
}

Deno.test("DurableIndex with an asynchronous store keeps one commit in flight; later changes form the next group", async () => {
  const { durable, store } = setUpAsync();
  durable.index("gmp", []);
  const first = durable.whenDurable()!;
  await afterGroupCloses();
  assert.equal(store.inFlight.length, 1);
  durable.index("isl", ["gmp"]);
  durable.index("cloog", ["isl"]);
  const second = durable.whenDurable()!;
  assert.notEqual(second, first);
  await afterGroupCloses();
  assert.equal(store.inFlight.length, 1, "the second group waits for the first commit");
  store.inFlight[0]!.settle.resolve();
  assert.equal(await first, true);
  assert.equal(store.inFlight.length, 2, "the second group is committed once the first succeeds");
  assert.deepEqual(store.inFlight[1]!.mutations.map(({ name }) => name), ["isl", "cloog"]);
  store.inFlight[1]!.settle.resolve();
  assert.equal(await second, true);
  assert.equal(durable.whenDurable(), undefined);
  assert.equal(durable.commitStats.commits, 2);
});

Deno.test("DurableIndex with an asynchronous store undoes a failed group and the group behind it", async () => {
  const { durable, store, index } = setUpAsync();
  durable.index("gmp", []);
  const committed = durable.whenDurable()!;
  await afterGroupCloses();
  store.inFlight[0]!.settle.resolve();
  assert.equal(await committed, true);
  durable.index("isl", ["gmp"]);
  const failing = durable.whenDurable()!;
  await afterGroupCloses();
  durable.index("cloog", ["isl"]); // depends on the change in flight
  durable.remove("gmp"); // refused: isl depends on it
  const behind = durable.whenDurable()!;
  assert.equal(durable.has("cloog"), true, "applied in memory at once");
  store.inFlight[1]!.settle.reject(new Error("connection lost"));
  assert.deepEqual([await failing, await behind], [false, false]);
  assert.deepEqual([index.has("gmp"), index.has("isl"), index.has("cloog")], [true, false, false]);
  assert.equal(durable.whenDurable(), undefined);
  assert.equal(store.inFlight.length, 2, "the group behind the failure is never sent");
  assert.equal(durable.commitStats.failures, 1);
});

Deno.test("DurableIndex flush resolves once nothing is pending or in flight", async () => {
  const { durable, store } = setUpAsync();
  durable.index("gmp", []);
  const flushed = durable.flush();
  assert.equal(store.inFlight.length, 1, "flush commits at once");
  let done = false;
  flushed.then(() => done = true);
  await afterGroupCloses();
  assert.equal(done, false);
  store.inFlight[0]!.settle.resolve();
  await flushed;
  assert.equal(durable.whenDurable(), undefined);
});

/** The names of a QUERY of `name`. */
function names(name: string) {
  return namesOf(name, []);
}

Deno.test("DurableIndex lets a QUERY of a package no pending change touches reply at once", async () => {
  const { durable, store } = setUpAsync();
  durable.index("gmp", []);
  assert.ok(durable.whenDurable() !== undefined, "the INDEX waits for its commit");
  await afterGroupCloses();
  assert.equal(store.inFlight.length, 1);
  assert.equal(durable.hasRequest(names("isl")), false);
  assert.equal(durable.whenDurable(), undefined, "isl is untouched: its FAIL is durable already");
  assert.equal(durable.hasRequest(names("gmp")), true);
  const waiting = durable.whenDurable();
  assert.ok(waiting !== undefined, "gmp's OK must wait: its INDEX may still fail");
  durable.remove("never-there"); // a REMOVE may observe pending changes: it waits
  assert.ok(durable.whenDurable() !== undefined);
  store.inFlight[0]!.settle.resolve();
  assert.equal(await waiting, true);
  assert.equal(durable.hasRequest(names("gmp")), true);
  assert.equal(durable.whenDurable(), undefined, "gmp is durable now");
});

Deno.test("DurableIndex restores exactly the state before a failed commit, over random changes", async () => {
  const { durable, index, store } = setUp();
  const random = createRandom(14);
  const names = Array.from({ length: 12 }, (_, i) => `p${i}`);
  const pick = () => names[randomInt(random, names.length)]!;
  for (let round = 0; round < 40; round++) {
    const before = [...index.entries()].sort();
    store.failures = round % 2;
    let accepted = 0;
    for (let change = 0; change < 20; change++) {
      const done = randomInt(random, 3) === 0
        ? durable.remove(pick())
        : durable.index(pick(), Array.from({ length: randomInt(random, 3) }, pick));
      if (done) accepted++;
    }
    const committed = await (durable.whenDurable() ?? Promise.resolve(true));
    if (round % 2 === 0 || accepted === 0) continue;
    assert.equal(committed, false);
    assert.deepEqual([...index.entries()].sort(), before, `round ${round}`);
  }
  assert.ok(durable.commitStats.commits > 0 && durable.commitStats.failures > 0);
});

Deno.test("DurableIndex over a data file: after failed commits are undone, the file reloads as memory, slot for slot", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/index.db`;
    const store = SqliteStore.open(path);
    const index = store.load();
    store.prepareForWrites("normal");
    let failNext = false;
    const durable = new DurableIndex({
      index,
      // A failed commit writes nothing, as a transaction that could not commit.
      store: {
        commit: (mutations) => {
          if (failNext) throw new Error("database or disk is full");
          store.commit(mutations);
        },
      },
      logger: recordingLogger(),
      onDiverged: (error) => assert.fail(error),
    });
    const random = createRandom(16);
    const names = Array.from({ length: 30 }, (_, i) => `p${i}`);
    const pick = () => names[randomInt(random, names.length)]!;
    for (let round = 0; round < 60; round++) {
      failNext = round % 3 === 2;
      for (let change = 0; change < 15; change++) {
        if (randomInt(random, 3) === 0) durable.remove(pick());
        else durable.index(pick(), Array.from({ length: randomInt(random, 4) }, pick));
      }
      await durable.whenDurable();
    }
    assert.ok(durable.commitStats.commits > 0 && durable.commitStats.failures > 0);
    store.close();
    const reopened = SqliteStore.open(path);
    const loaded = reopened.load();
    assert.deepEqual([...loaded.entries()].sort(), [...index.entries()].sort());
    for (const name of names) assert.equal(loaded.slotOf(name), index.slotOf(name), name);
    reopened.close();
  });
});

Deno.test("DurableIndex writes nothing for a re-INDEX that changes nothing, and waits only while the package is pending", async () => {
  const { durable, store } = setUpAsync();
  durable.index("gmp", []);
  durable.index("isl", ["gmp"]);
  assert.ok(durable.whenDurable() !== undefined);
  await afterGroupCloses();
  assert.equal(store.inFlight.length, 1);
  assert.equal(durable.index("isl", ["gmp"]), true);
  const waiting = durable.whenDurable();
  assert.ok(waiting !== undefined, "isl's INDEX is in flight and may still fail: its OK waits");
  store.inFlight[0]!.settle.resolve();
  assert.equal(await waiting, true);
  assert.equal(durable.index("isl", ["gmp"]), true);
  assert.equal(durable.index("gmp", []), true);
  assert.equal(durable.whenDurable(), undefined, "isl and gmp are durable as they are");
  await afterGroupCloses();
  assert.equal(store.inFlight.length, 1, "no commit for changes that change nothing");
  assert.equal(durable.index("isl", []), true);
  const changed = durable.whenDurable();
  assert.ok(changed !== undefined, "a real change waits for its commit");
  await afterGroupCloses();
  assert.equal(store.inFlight.length, 2);
  assert.deepEqual(store.inFlight[1]!.mutations, [{
    kind: "index",
    name: "isl",
    dependencies: [],
  }]);
  store.inFlight[1]!.settle.resolve();
  assert.equal(await changed, true);
});
