/// <reference lib="dom" />
/**
 * `deno task bench:console`: how long the console takes to show its first view against an index
 * of a million packages, measured in headless Chromium. Starts pkgindex in its own process with
 * its HTTP listener, indexes a synthetic graph (`generatePackages`: preferential attachment, about
 * three dependencies each), then opens the console afresh (a new browser context each time, so
 * nothing is cached) on the overview and on package views, several times each.
 *
 * A first render is the time from the start of the navigation to the console's
 * `pkgindex:rendered` performance mark, which it sets once a view's data is on screen: loading
 * the page and its script, the API calls, and drawing. The package views are the most depended-on
 * package (its blockers are a walk over a large part of the graph), a package from the middle and
 * the last one (a long install order). The target: 300 ms or less for each.
 *
 * Pinned like the other benchmarks when the machine allows it: the server on one core, Chromium
 * and this process on the other.
 *
 * Run: `deno task bench:console [--packages 1000000] [--runs 5]`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { preloadPackages } from "../lib/tools/load_generator.ts";
import { generatePackages } from "../lib/tools/synthetic_packages.ts";
import { type Browser, findChromium, launchChromium } from "../tests/support/browser.ts";
import { PINNING, pinThisProcess, startPkgindexWithHttp } from "./server_process.ts";

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      packages: { type: "string", default: "1000000" },
      runs: { type: "string", default: "5" },
    },
  });
  const count = Number(values.packages);
  const runs = Number(values.runs);
  if (!Number.isInteger(count) || count < 2 || !Number.isInteger(runs) || runs < 1) {
    throw new Error(
      `Cannot use --packages '${values.packages}' and --runs '${values.runs}': expected an ` +
        "integer of at least 2 and a positive integer",
    );
  }
  const chromium = await findChromium();
  if (chromium.path === undefined) return;
  await pinThisProcess("client");
  log(
    PINNING === undefined
      ? "Unpinned: this machine has one core or no taskset."
      : `Pinned: the server on core ${PINNING.server}, Chromium and this process on core ` +
        `${PINNING.client}.`,
  );
  const server = await startPkgindexWithHttp();
  const { browser, close } = await launchChromium(chromium.path);
  try {
    const packages = generatePackages({ count, seed: 1 });
    const indexingMs = await preloadPackages(
      { hostname: "127.0.0.1", port: server.port },
      packages,
    );
    log(`${count} packages indexed in ${(indexingMs / 1000).toFixed(1)} s`);
    // Let the server's collector finish with what indexing left behind before measuring.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const base = `http://127.0.0.1:${server.httpPort}`;
    const hub = await mostDependedOn(base, packages.slice(0, 64).map((spec) => spec.name));
    const views: [string, string][] = [
      ["overview", "#/"],
      [
        `package ${hub.name} (${hub.dependents} dependents)`,
        `#/package/${encodeURIComponent(hub.name)}`,
      ],
      ...[packages[count >> 1]!.name, packages[count - 1]!.name].map((name): [string, string] => [
        `package ${name}`,
        `#/package/${encodeURIComponent(name)}`,
      ]),
    ];
    // One navigation first, not counted: the browser's own first-use costs.
    const warmup = await browser.createBrowserContext();
    await (await warmup.newPage()).goto(`${base}/`);
    await warmup.close();
    log(
      `the browser's floor, a plain-text page (/healthz) painted: ${
        summary(await floor(browser, base, runs))
      }`,
    );
    for (const [label, hash] of views) {
      const marks = new Map<string, number[]>();
      const apiTimes = new Map<string, number[]>();
      for (let run = 0; run < runs; run++) {
        for (const [path, ms] of await apiTimesOf(base, hash)) {
          apiTimes.set(path, [...apiTimes.get(path) ?? [], ms]);
        }
        const context = await browser.createBrowserContext();
        const page = await context.newPage();
        await page.goto(`${base}/${hash}`);
        await page.waitForSelector("main[data-rendered]:not([aria-busy])");
        const view = await page.$eval("main", (main) => main.dataset.rendered);
        if (view === "error") {
          const text = await page.$eval("main", (main) => main.textContent);
          throw new Error(`The console showed an error for ${hash}: ${text}`);
        }
        const entries = await page.evaluate(() =>
          ["pkgindex:package-shown", "pkgindex:rendered"].flatMap((name) =>
            performance.getEntriesByName(name).slice(0, 1).map((mark) => [name, mark.startTime])
          )
        );
        for (const [name, ms] of entries as [string, number][]) {
          marks.set(name, [...marks.get(name) ?? [], ms]);
        }
        await context.close();
      }
      log(`${label} (${runs} runs):`);
      const shown = marks.get("pkgindex:package-shown");
      if (shown !== undefined) log(`  package and graph on screen: ${summary(shown)}`);
      log(`  view complete (first render): ${summary(marks.get("pkgindex:rendered")!)}`);
      for (const [path, times] of apiTimes) log(`  ${path} alone, from Deno: ${summary(times)}`);
    }
  } finally {
    await close();
    await server.stop();
  }
}

/**
 * How long each API call of the view at `hash` takes when made from here, all at once as the
 * console makes them: the server's share of a first render.
 */
async function apiTimesOf(base: string, hash: string): Promise<[string, number][]> {
  const name = hash.startsWith("#/package/") ? hash.slice("#/package/".length) : undefined;
  const paths = name === undefined
    ? ["/v1/info"]
    : ["", "/install-order", "/blockers"].map((walk) => `/v1/packages/${name}${walk}?limit=500`);
  const started = performance.now();
  return await Promise.all(paths.map(async (path): Promise<[string, number]> => {
    await (await fetch(base + path)).arrayBuffer();
    return [
      path.replace(/^\/v1\/packages\/[^/?]+/, "/v1/packages/{name}"),
      performance.now() - started,
    ];
  }));
}

/**
 * The first paint of `/healthz` (two words of plain text) in a fresh context, `runs` times: what
 * any page costs this browser on this machine now, to read the console's figures against.
 */
async function floor(browser: Browser, base: string, runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.goto(`${base}/healthz`);
    times.push(
      await page.waitForFunction(() =>
        performance.getEntriesByName("first-contentful-paint")[0]?.startTime
      ).then((handle) => handle.jsonValue() as Promise<number>),
    );
    await context.close();
  }
  return times;
}

/** "median M ms (min A, max B)" of `times`. */
function summary(times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const ms = (value: number) => value.toFixed(0);
  return `median ${ms(sorted[sorted.length >> 1]!)} ms (min ${ms(sorted[0]!)}, max ${
    ms(sorted.at(-1)!)
  })`;
}

/** Of `names`, the one with the most direct dependents, asked of the API. */
async function mostDependedOn(base: string, names: string[]) {
  let best = { name: names[0]!, dependents: -1 };
  for (const name of names) {
    const response = await fetch(`${base}/v1/packages/${encodeURIComponent(name)}?limit=1`);
    const { dependentCount } = await response.json();
    if (dependentCount > best.dependents) best = { name, dependents: dependentCount };
  }
  return best;
}

function log(line: string): void {
  // deno-lint-ignore no-console
  console.log(line);
}

if (import.meta.main) await main();
