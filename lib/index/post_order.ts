/**
 * The depth-first post-order of the dependency graph: each package after everything it depends
 * on. One walk serves the index (its entries, and the cycle check when loading) and the
 * inspection walks (blockers, install orders).
 *
 * @module
 */

import type { PackageIndex } from "./package_index.ts";
import { Pace, type WalkSteps } from "./walk_runner.ts";

/** A range of slots, `from` up to but not including `to`. */
export interface SlotRange {
  /** The first slot. */
  from: number;
  /** The slot after the last one. */
  to: number;
}

/** The answer of {@linkcode postOrder}. */
export interface PostOrder {
  /** The slots in post-order. */
  order: Int32Array;
  /**
   * A slot on a dependency cycle, if the walk met one (the order then puts some dependency after
   * its dependent); `undefined` for an acyclic graph, which an index always is once built.
   */
  cycleMember: number | undefined;
}

const IN_PROGRESS = 1;
const DONE = 2;

/**
 * Every indexed package reachable from the packages in `roots` through dependencies, the roots
 * included, in depth-first post-order: each after everything it depends on. Uses explicit
 * stacks, so a chain of a million packages needs no deep recursion; yields as a walk does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PackageIndex } from "./package_index.ts";
 * import { postOrder } from "./post_order.ts";
 * import { runToEnd } from "./walk_runner.ts";
 *
 * const index = PackageIndex.fromEntries([["gmp", []], ["isl", ["gmp"]], ["cloog", ["isl", "gmp"]]]);
 * const cloog = index.slotOf("cloog");
 * const { order, cycleMember } = runToEnd(postOrder(index, { from: cloog, to: cloog + 1 }));
 * assert.deepEqual([...order].map((slot) => index.nameOf(slot)), ["gmp", "isl", "cloog"]);
 * assert.equal(cycleMember, undefined);
 * ```
 */
export function* postOrder(index: PackageIndex, roots: SlotRange): WalkSteps<PostOrder> {
  const slotCount = index.slotCount;
  const states = new Uint8Array(slotCount);
  const stack = new Int32Array(slotCount);
  /** For each package on the stack, how many of its dependencies have been looked at. */
  const positions = new Int32Array(slotCount);
  const order = new Int32Array(slotCount);
  let length = 0;
  let cycleMember: number | undefined;
  const pace = new Pace();
  for (let root = roots.from; root < roots.to; root++) {
    if (states[root] !== 0 || !index.isIndexed(root)) continue;
    states[root] = IN_PROGRESS;
    stack[0] = root;
    positions[0] = 0;
    let depth = 1;
    while (depth > 0) {
      const top = depth - 1;
      const slot = stack[top]!;
      const position = positions[top]!;
      if (position === index.degreeOf(slot)) {
        states[slot] = DONE;
        order[length++] = slot;
        depth--;
      } else {
        positions[top] = position + 1;
        const dependency = index.dependencyAt(slot, position);
        if (states[dependency] === IN_PROGRESS) cycleMember ??= dependency;
        if (states[dependency] === 0) {
          states[dependency] = IN_PROGRESS;
          stack[depth] = dependency;
          positions[depth] = 0;
          depth++;
        }
      }
      if (pace.step()) yield;
    }
  }
  return { order: order.subarray(0, length), cycleMember };
}
