/**
 * The failover drill's verdicts (bench/failover_load.ts): the functions that decide whether the
 * survivor's invariants hold, whether a deposed leader acknowledged a write, and when writes
 * succeeded again. A verdict that can never say "broken" measures nothing.
 */
import assert from "node:assert/strict";
import { checkGraph, LeaderObserver, recoveredAfter } from "../../bench/failover_load.ts";

Deno.test("checkGraph finds missing dependencies and the packages on or behind a cycle", () => {
  assert.deepEqual(
    checkGraph([
      { name: "a", dependencies: "" },
      { name: "b", dependencies: "a" },
      { name: "c", dependencies: "a,b" },
    ]),
    { packages: 3, missingDependencies: 0, inCycles: 0 },
  );
  assert.deepEqual(
    checkGraph([
      { name: "a", dependencies: "gone" },
      { name: "c", dependencies: "d" },
      { name: "d", dependencies: "c" },
      { name: "e", dependencies: "d,a" },
    ]),
    { packages: 4, missingDependencies: 1, inCycles: 3 },
  );
});

Deno.test("an OK from the old leader counts as deposed only for a request sent after the fault, answered while another led", async () => {
  const observer = new LeaderObserver([]);
  await observer.stop();
  observer.observations.length = 0;
  observer.observations.push(
    { at: 10, leaders: ["a"] },
    { at: 20, leaders: [] },
    { at: 30, leaders: ["b"] },
    { at: 50, leaders: ["a"] },
  );
  const ack = (sentAt: number, at: number) => ({ name: `p${sentAt}`, sentAt, at });
  assert.equal(observer.takeoverAfter("a", 15), 30);
  assert.equal(observer.takeoverAfter("a", 35), undefined);
  assert.equal(observer.countDeposed("a", [ack(11, 12), ack(16, 25)], 15), 0);
  assert.equal(observer.countDeposed("a", [ack(5, 35), ack(31, 40)], 15), 1, "b led at 30");
  assert.equal(observer.countDeposed("a", [ack(41, 55)], 15), 0, "a led again at 50");
});

Deno.test("a writer recovers at its first acknowledgement after its first disruption since the fault", () => {
  const acks = [
    { name: "w1", sentAt: 1, at: 2 },
    { name: "w2", sentAt: 11, at: 12 },
    { name: "w3", sentAt: 21, at: 25 },
  ];
  assert.equal(recoveredAfter({ acks, disruptions: [13] }, 10), 15);
  assert.equal(recoveredAfter({ acks, disruptions: [5] }, 10), 0, "not disrupted since");
  assert.equal(recoveredAfter({ acks, disruptions: [30] }, 10), undefined, "never again");
});
