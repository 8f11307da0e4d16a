/**
 * Explaining a protocol line, for `POST /v1/explain`: the reply the server would give it now and
 * why, worked out with the server's own parser and read-only walks of the index. Nothing is
 * changed: an explanation is what the protocol does not say.
 *
 * @module
 */

import {
  blockersOf,
  cycleClosedBy,
  dependentsOf,
  missingDependencies,
} from "../index/graph_walks.ts";
import type { PackageIndex } from "../index/package_index.ts";
import type { WalkSteps } from "../index/walk_runner.ts";
import { type Command, COMMAND_TABLE } from "../protocol/command_table.ts";
import type { Reply } from "../protocol/replies.ts";
import {
  describeProblem,
  type Problem,
  requestDependencies,
  RequestLine,
  requestName,
} from "../protocol/request_parser.ts";
import { plural } from "../util/plural.ts";

/** Why a line is malformed: the field at fault and the offset of the byte at fault. */
export interface Malformation {
  /** `command`, `package`, `dependencies` or `line` (for a line over the length limit). */
  field: Problem["field"];
  /** The offset of the offending byte from the start of the line. */
  byte: number;
}

/** What the server would answer to a line, and why. */
export interface Explanation {
  /** The line, without its `\n`, decoded as UTF-8. */
  line: string;
  /** The reply the server would give now. */
  reply: Reply;
  /** Why, in a sentence or two. */
  reason: string;
  /** For an INDEX with dependencies that are not indexed: those, each once, in line order. */
  missing?: string[];
  /** For an INDEX that would close a cycle: the path from the package back to itself. */
  cycle?: string[];
  /** For a REMOVE that fails: the packages that depend on it directly, in byte order. */
  dependents?: string[];
  /** For a REMOVE that fails: everything that depends on it, in an order REMOVE accepts. */
  blockers?: string[];
  /** Whether a list above was cut at the limit. */
  truncated?: boolean;
  /** For a malformed line: what is wrong where. */
  malformed?: Malformation;
}

/** Options for {@linkcode explainLine}. */
export interface ExplainOptions {
  /** The server's longest request line, in bytes; a longer line is answered `ERROR`. */
  maxLineBytes: number;
  /** The most names each list of the explanation holds. */
  limit: number;
}

const decoder = new TextDecoder();

/**
 * Explains `bytes`, one protocol line ending in `\n`, against `index`: a walk for
 * {@linkcode WalkRunner}, so that a cycle or blockers over a large graph are worked out in
 * slices, on one state of the index.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { explainLine } from "./line_explainer.ts";
 * import { PackageIndex } from "../index/package_index.ts";
 * import { WalkRunner } from "../index/walk_runner.ts";
 *
 * const index = PackageIndex.fromEntries([["gmp", []], ["isl", ["gmp"]], ["cloog", ["isl"]]]);
 * const explain = (line: string) =>
 *   new WalkRunner(index).run(
 *     (index) => explainLine(index, new TextEncoder().encode(line), { maxLineBytes: 1024, limit: 1000 }),
 *     "a line",
 *   );
 * assert.deepEqual(await explain("INDEX|gmp|cloog\n"), {
 *   line: "INDEX|gmp|cloog",
 *   reply: "FAIL",
 *   reason: "Indexing 'gmp' with these dependencies would close a dependency cycle of 3 steps " +
 *     "(in \"cycle\"); a package on a cycle could never be removed.",
 *   cycle: ["gmp", "cloog", "isl", "gmp"],
 *   truncated: false,
 * });
 * assert.equal((await explain("REMOVE|cloog|\n")).reply, "OK");
 * assert.equal(index.size, 3); // nothing changed
 * ```
 */
export function* explainLine(
  index: PackageIndex,
  bytes: Uint8Array,
  options: ExplainOptions,
): WalkSteps<Explanation> {
  const request = new RequestLine({ maxLineBytes: options.maxLineBytes });
  const newline = request.parse(bytes, 0);
  const line = decoder.decode(bytes.subarray(0, newline));
  if (request.problem !== undefined) {
    return {
      line,
      reply: "ERROR",
      reason: describeProblem(request),
      malformed: { field: request.problem.field, byte: request.problemAt },
    };
  }
  const explainer = EXPLAINERS[COMMAND_TABLE[request.command]!.name];
  return { line, ...yield* explainer(index, request, options.limit) };
}

/** What an explanation says besides the line. */
type Verdict = Omit<Explanation, "line">;

/** How each command is explained: every command of the table has one. */
const EXPLAINERS: Record<
  Command,
  (index: PackageIndex, request: RequestLine, limit: number) => WalkSteps<Verdict>
> = {
  INDEX: explainIndex,
  REMOVE: explainRemove,
  // deno-lint-ignore require-yield
  *QUERY(index, request) {
    const name = requestName(request);
    return index.has(name)
      ? { reply: "OK", reason: `'${name}' is indexed.` }
      : { reply: "FAIL", reason: `'${name}' is not indexed.` };
  },
};

/** Explains an INDEX: the index decides, and the walks say why. */
function* explainIndex(
  index: PackageIndex,
  request: RequestLine,
  limit: number,
): WalkSteps<Verdict> {
  const name = requestName(request);
  const dependencies = requestDependencies(request);
  const decision = index.checkIndex(request);
  if (decision === "missing-dependency") {
    const missing = yield* missingDependencies(index, dependencies);
    const named = new Set(dependencies).size;
    return {
      reply: "FAIL",
      reason: `${missing.length} of the ${plural(named, "dependency name")} ` +
        `${missing.length === 1 ? "is" : "are"} not indexed (in "missing"); index ` +
        `${missing.length === 1 ? "it" : "them"} first.`,
      missing,
    };
  }
  if (decision === "cycle") {
    const cycle = (yield* cycleClosedBy(index, name, dependencies, limit))!;
    const reason = cycle.total === 2
      ? `'${name}' cannot depend on itself: a package on a cycle could never be removed.`
      : `Indexing '${name}' with these dependencies would close a dependency cycle of ` +
        `${cycle.total - 1} steps (in "cycle"); a package on a cycle could never be removed.`;
    return { reply: "FAIL", reason, cycle: cycle.names, truncated: cycle.truncated };
  }
  if (index.has(name)) {
    return {
      reply: "OK",
      reason: `'${name}' is indexed, and every dependency named is indexed and closes no ` +
        "cycle: INDEX would replace its dependency list.",
    };
  }
  return {
    reply: "OK",
    reason: dependencies.length === 0
      ? `'${name}' is not indexed and names no dependencies: INDEX would add it.`
      : `'${name}' is not indexed and every dependency named is: INDEX would add it.`,
  };
}

function* explainRemove(
  index: PackageIndex,
  request: RequestLine,
  limit: number,
): WalkSteps<Verdict> {
  const name = requestName(request);
  const slot = index.slotOf(name);
  if (slot === -1) {
    return {
      reply: "OK",
      reason: `'${name}' is not indexed: REMOVE would answer OK and change nothing.`,
    };
  }
  const dependents = yield* dependentsOf(index, slot, limit);
  if (dependents.total === 0) {
    return { reply: "OK", reason: `Nothing depends on '${name}': REMOVE would remove it.` };
  }
  const blockers = yield* blockersOf(index, slot, limit);
  return {
    reply: "FAIL",
    reason: `${plural(dependents.total, "indexed package")} ` +
      `${dependents.total === 1 ? "depends" : "depend"} on '${name}' directly (in "dependents") ` +
      `and ${blockers.total} in all; REMOVE those first, in the order of "blockers".`,
    dependents: dependents.names,
    blockers: blockers.names,
    truncated: dependents.truncated || blockers.truncated,
  };
}
