import assert from "node:assert/strict";
import { nextTurn } from "../../lib/util/event_loop.ts";
import { PackageIndex } from "../../lib/index/package_index.ts";
import {
  IndexChangedError,
  MAX_WAITING_WALKS,
  WalkerBusyError,
  WalkRunner,
  type WalkSteps,
} from "../../lib/index/walk_runner.ts";

/** A walk of `yields` slices (with `sliceMs: 0`) that calls `onStart` each time it (re)starts. */
function slicedWalk(yields: number, onStart: () => void) {
  return function* (index: PackageIndex): WalkSteps<boolean> {
    onStart();
    for (let i = 0; i < yields; i++) yield;
    return index.has("late");
  };
}

Deno.test("WalkRunner restarts a walk when the index changed between its slices", async () => {
  const index = new PackageIndex();
  const runner = new WalkRunner(index, { sliceMs: 0 });
  let starts = 0;
  const walk = slicedWalk(3, () => {
    // On the first attempt only, a client indexes a package while the walk waits for its turn.
    if (++starts === 1) setTimeout(() => index.index("late", []), 0);
  });
  assert.equal(await runner.run(walk, "a test walk"), true, "it answers from the new state");
  assert.equal(starts, 2);
});

Deno.test("WalkRunner gives up with IndexChangedError after three restarts", async () => {
  const index = new PackageIndex();
  const runner = new WalkRunner(index, { sliceMs: 0 });
  let starts = 0;
  const walk = slicedWalk(1, () => {
    starts++;
    setTimeout(() => index.index(`p${starts}`, []), 0);
  });
  await assert.rejects(
    runner.run(walk, "the blockers of 'gmp'"),
    new IndexChangedError(
      "The index kept changing while walking the blockers of 'gmp' (4 attempts); try again.",
    ),
  );
  assert.equal(starts, 4);
});

/**
 * A walk of ten steps, each taking `msPerStep` on the clock `time`, that answers after which
 * steps the event loop had a turn: a timer set during a step fires before the next step only
 * if the runner let the event loop turn in between.
 */
function turnsDuringWalk(time: { now: number }, msPerStep: number) {
  return function* (): WalkSteps<number[]> {
    const turnsAfter: number[] = [];
    let turned = false;
    for (let step = 0; step < 10; step++) {
      if (turned) turnsAfter.push(step - 1);
      turned = false;
      setTimeout(() => turned = true, 0);
      time.now += msPerStep;
      yield;
    }
    return turnsAfter;
  };
}

Deno.test("WalkRunner gives the event loop a turn each time a walk has run for a slice", async () => {
  const time = { now: 0 };
  const runner = new WalkRunner(new PackageIndex(), { sliceMs: 3, clock: () => time.now });
  assert.deepEqual(await runner.run(turnsDuringWalk(time, 1), "a test walk"), [2, 5, 8]);
  assert.deepEqual(await runner.run(turnsDuringWalk(time, 3), "a test walk"), [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
  ]);
  await nextTurn(); // the timer of the last step
});

Deno.test("WalkRunner runs a walk in one go while its slice has time left", async () => {
  const time = { now: 0 };
  const runner = new WalkRunner(new PackageIndex(), { sliceMs: 3, clock: () => time.now });
  assert.deepEqual(await runner.run(turnsDuringWalk(time, 0), "a test walk"), []);
  await nextTurn(); // the timers of the steps
});

Deno.test("WalkRunner runs walks one at a time, in the order they were asked for", async () => {
  const index = new PackageIndex();
  const runner = new WalkRunner(index, { sliceMs: 0 });
  const events: string[] = [];
  const walk = (name: string) =>
    function* (): WalkSteps<string> {
      events.push(`${name} starts`);
      for (let i = 0; i < 3; i++) yield;
      events.push(`${name} ends`);
      return name;
    };
  const answers = await Promise.all([
    runner.run(walk("first"), "first"),
    runner.run(walk("second"), "second"),
  ]);
  assert.deepEqual(answers, ["first", "second"]);
  assert.deepEqual(events, ["first starts", "first ends", "second starts", "second ends"]);
});

Deno.test("WalkRunner refuses walks beyond the waiting limit and still runs the others", async () => {
  const index = new PackageIndex();
  const runner = new WalkRunner(index, { sliceMs: 0 });
  const walk = function* (): WalkSteps<number> {
    yield;
    return 1;
  };
  // None of these has started yet: starting takes a turn of the microtask queue.
  const waiting = Array.from({ length: MAX_WAITING_WALKS }, () => runner.run(walk, "a walk"));
  await assert.rejects(
    runner.run(walk, "the packages after 'gmp'"),
    new WalkerBusyError(
      `Cannot walk the packages after 'gmp' now: ${MAX_WAITING_WALKS} walks are waiting ` +
        "already; try again.",
    ),
  );
  assert.deepEqual(await Promise.all(waiting), Array(MAX_WAITING_WALKS).fill(1));
  assert.equal(await runner.run(walk, "a walk after the queue drained"), 1);
});

Deno.test("WalkRunner passes on what a walk throws and goes on with the next walk", async () => {
  const runner = new WalkRunner(new PackageIndex());
  // deno-lint-ignore require-yield
  const failing = function* (): WalkSteps<never> {
    throw new RangeError("walk failed");
  };
  // deno-lint-ignore require-yield
  const next = function* (): WalkSteps<string> {
    return "next";
  };
  await assert.rejects(runner.run(failing, "a failing walk"), new RangeError("walk failed"));
  assert.equal(await runner.run(next, "the next walk"), "next");
});
