/**
 * Finds the real programs some tests need (PostgreSQL, HAProxy, Chromium) and decides what a test
 * does without them: locally it is skipped with one line saying how to install the program; under
 * `CI=true` a missing program is a failure, never a skip.
 *
 * @module
 */

/** A program a test needs, and where it may be installed. */
export interface RealComponent {
  /** What the program is called in the skip line, e.g. "PostgreSQL 15". */
  name: string;
  /** The executables to look for, first found wins. */
  candidates: readonly string[];
  /** The command that installs it, e.g. "apt-get install -y postgresql-15". */
  install: string;
}

/** A component looked up: the path of its executable, or why the tests that need it skip. */
export type FoundComponent =
  | { path: string; ignore: false }
  | { path: undefined; ignore: true };

/**
 * Looks for `component`'s executable. When it is missing: under `CI=true` throws, so the test file
 * fails to load; otherwise logs one line with the install command and returns `ignore: true`, to
 * be passed as `Deno.test`'s `ignore` option.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findComponent } from "./real_component.ts";
 *
 * const sh = await findComponent({ name: "a shell", candidates: ["/bin/sh"], install: "-" });
 * assert.equal(sh.path, "/bin/sh");
 * assert.equal(sh.ignore, false);
 * ```
 */
export async function findComponent(component: RealComponent): Promise<FoundComponent> {
  for (const candidate of component.candidates) {
    if (await isExecutable(candidate)) return { path: candidate, ignore: false };
  }
  const missing = `${component.name} is not installed (looked for ${
    component.candidates.join(", ")
  }); install it with: ${component.install}`;
  if (Deno.env.get("CI") === "true") {
    throw new Error(`${missing}. Under CI=true this is a failure.`);
  }
  // deno-lint-ignore no-console
  console.warn(`Skipping the tests that need ${component.name}: ${missing}`);
  return { path: undefined, ignore: true };
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && ((info.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}
