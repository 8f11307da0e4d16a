/**
 * The architecture, checked: the folders of `lib/` depend on each other in one direction only,
 * and the server side never imports the load tools. The rule is stated in README.md.
 */
import assert from "node:assert/strict";

const LIB = new URL("../lib/", import.meta.url);

/**
 * The server-side layers, lowest first: a module may import from its own folder and from the
 * folders before it. `cli/` may import anything; `tools/` only `util/` and `protocol/`.
 */
const LAYERS = ["util", "protocol", "index", "storage", "server", "ops", "cli"];
const TOOLS = "tools";

/** An import of `to` (a folder of lib/, or a path outside it) by a module of folder `from`. */
interface Edge {
  file: string;
  from: string;
  to: string;
}

/** The reasons the edges break the layering rule, one per offending import. */
function layeringViolations(edges: readonly Edge[]): string[] {
  const rank = (folder: string) => LAYERS.indexOf(folder);
  const violations: string[] = [];
  for (const { file, from, to } of edges) {
    if (from === to) continue;
    let allowed: boolean;
    if (from === TOOLS) allowed = to === "util" || to === "protocol";
    else if (to === TOOLS) allowed = from === "cli";
    else allowed = rank(from) !== -1 && rank(to) !== -1 && rank(to) < rank(from);
    if (!allowed) violations.push(`${file} (${from}/) imports from ${to}/`);
  }
  return violations;
}

/** Every import between folders of lib/, read from the source of every module. */
async function libraryImports(): Promise<Edge[]> {
  const edges: Edge[] = [];
  for await (const folder of Deno.readDir(LIB)) {
    if (!folder.isDirectory) continue;
    for await (const entry of Deno.readDir(new URL(`${folder.name}/`, LIB))) {
      if (!entry.name.endsWith(".ts")) continue;
      const file = new URL(`${folder.name}/${entry.name}`, LIB);
      const source = await Deno.readTextFile(file);
      // Static imports and re-exports; the doc examples' imports sit behind " * " and are skipped.
      for (const match of source.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gm)) {
        const specifier = match[1]!;
        if (!specifier.startsWith(".")) continue; // node:, the runtime's own modules
        const target = new URL(specifier, file).pathname;
        const inLib = target.startsWith(LIB.pathname);
        const to = inLib ? target.slice(LIB.pathname.length).split("/")[0]! : target;
        edges.push({ file: `${folder.name}/${entry.name}`, from: folder.name, to });
      }
    }
  }
  return edges;
}

Deno.test("lib/ folders import only from the layers below them, and only cli/ imports tools/", async () => {
  const edges = await libraryImports();
  assert.ok(edges.length > 30, `the import graph was read (${edges.length} edges)`);
  assert.deepEqual(layeringViolations(edges), []);
});

Deno.test("the layering rule rejects the server importing a load tool, and tools importing the index", () => {
  assert.deepEqual(
    layeringViolations([
      { file: "server/server.ts", from: "server", to: "tools" },
      { file: "tools/load_generator.ts", from: "tools", to: "index" },
      { file: "util/io.ts", from: "util", to: "protocol" },
      { file: "cli/bench.ts", from: "cli", to: "tools" },
      { file: "tools/load_generator.ts", from: "tools", to: "protocol" },
    ]),
    [
      "server/server.ts (server/) imports from tools/",
      "tools/load_generator.ts (tools/) imports from index/",
      "util/io.ts (util/) imports from protocol/",
    ],
  );
});

Deno.test("main.ts only picks a subcommand: it imports nothing but lib/cli/", async () => {
  const source = await Deno.readTextFile(new URL("../main.ts", import.meta.url));
  const imports = [...source.matchAll(/^import\b[^;]*?\bfrom\s+"([^"]+)"/gm)].map((m) => m[1]!);
  assert.ok(imports.length > 0);
  for (const specifier of imports) assert.match(specifier, /^\.\/lib\/cli\//);
});
