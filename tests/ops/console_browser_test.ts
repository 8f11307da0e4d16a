/// <reference lib="dom" />
/**
 * The console in a real browser: headless Chromium against pkgindex processes holding the
 * Homebrew dump, one with a data file on loopback, one on 0.0.0.0 with a token. Each step checks
 * what a view shows against what the API answers, and that the page logged no error and broke no
 * Content-Security-Policy rule.
 *
 * With `PKGINDEX_SCREENSHOTS=DIR` it also saves a screenshot of each view in DIR (docs/ holds
 * the ones the documentation shows).
 */
import assert from "node:assert/strict";
import { readPackageList } from "../../lib/tools/package_list.ts";
import { preloadPackages } from "../../lib/tools/load_generator.ts";
import {
  findChromium,
  launchChromium,
  openPage,
  type Page,
  type PageProblems,
} from "../support/browser.ts";
import { withTempDir } from "../support/data_files.ts";
import { findPostgres, startPostgresCluster } from "../support/postgres_cluster.ts";
import {
  durableServerCommand,
  serverCommand,
  startServerProcess,
  TestClient,
} from "../support/test_server.ts";

const BREW = "/work/shared/data/brew-dependencies.txt";
const TOKEN = "console-test-token-4f1c";
const chromium = await findChromium();
const postgres = await findPostgres();
const screenshots = Deno.env.get("PKGINDEX_SCREENSHOTS");

/** Waits until the console shows `view`: it sets `data-rendered` once a view's data is shown. */
async function rendered(page: Page, view: string): Promise<void> {
  await page.waitForSelector(`main[data-rendered="${view}"]:not([aria-busy])`);
}

/**
 * Runs `action` and waits for the render of `view` that it causes, not for the one already on
 * the page: the mark of the last render is cleared first.
 */
async function afterRender(
  page: Page,
  view: string,
  action: () => Promise<unknown>,
): Promise<void> {
  await page.evaluate(() => delete document.querySelector("main")!.dataset.rendered);
  await action();
  await rendered(page, view);
}

/** Navigates by changing the hash, as a link would, and waits for `view`. */
async function go(page: Page, hash: string, view: string): Promise<void> {
  await afterRender(page, view, () => page.evaluate((hash) => location.hash = hash, hash));
}

/**
 * Opens the console at `url` and follows the navigation's role link, which appears once the
 * console knows the server has a role, to the role view.
 */
async function showRole(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await rendered(page, "overview");
  await page.waitForSelector("#role-link:not([hidden])");
  await page.click('nav a[data-view="role"]');
  await rendered(page, "role");
}

/** The texts of the elements matching `selector`. */
function texts(page: Page, selector: string): Promise<string[]> {
  return page.$$eval(selector, (elements) => elements.map((e) => e.textContent ?? ""));
}

/** The names listed under the heading that starts with `title` in the package or explain view. */
function listed(page: Page, title: string): Promise<string[]> {
  return page.$$eval("main section", (sections, title) => {
    const section = sections.find((s) =>
      s.querySelector(":scope > h3")?.textContent?.startsWith(title)
    );
    return [...section?.querySelectorAll("li") ?? []].map((li) => li.textContent ?? "");
  }, title);
}

/** The value of the overview card labelled `label`. */
function card(page: Page, label: string): Promise<string> {
  return page.$$eval("dl.cards div", (cards, label) => {
    const card = cards.find((c) => c.querySelector("dt")?.textContent === label);
    return card?.querySelector("dd")?.textContent ?? "(no such card)";
  }, label);
}

/**
 * Waits until the page has logged `count` errors (they arrive from the browser on their own time,
 * after the view that caused them), then takes them out of `problems` and returns them.
 */
async function expectedErrors(problems: PageProblems, count: number): Promise<string[]> {
  // Bounded, so that a page that stops logging them fails instead of hanging.
  for (let wait = 0; problems.errors.length < count && wait < 1000; wait++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return problems.errors.splice(0);
}

function assertClean(problems: PageProblems): void {
  assert.deepEqual(problems.errors, [], "console errors");
  assert.deepEqual(problems.violations, [], "CSP violations");
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (screenshots === undefined) return;
  await page.screenshot({ path: `${screenshots}/console-${name}.png` });
}

Deno.test({
  name: "the console shows each view's data, navigates, asks for the token off loopback, " +
    "and logs no error or CSP violation",
  ignore: chromium.ignore,
  // The browser and its DevTools connection live across the steps.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const packages = await readPackageList(BREW);
    const { browser, close } = await launchChromium(chromium.path!);
    try {
      await withTempDir(async (dir) => {
        const server = await startServerProcess(
          durableServerCommand(`${dir}/data.db`).concat([
            "--http-port",
            "0",
            "--slowlog-threshold",
            "0",
          ]),
        );
        const held = await TestClient.connect(server.port);
        try {
          await preloadPackages({ hostname: "127.0.0.1", port: server.port }, packages);
          const base = `http://127.0.0.1:${server.httpPort}`;
          const api = async (path: string, init?: RequestInit) =>
            await (await fetch(base + path, init)).json();
          const { page, problems } = await openPage(browser);
          await page.setViewport({ width: 1100, height: 900 });

          await t.step("the overview shows the counters, rates and commit latency", async () => {
            // The server notices the preload connection's close on its own time: wait for it.
            while ((await api("/v1/info")).connections.open !== 1) {
              await new Promise((resolve) => setTimeout(resolve, 10));
            }
            await page.goto(`${base}/`);
            await rendered(page, "overview");
            const info = await api("/v1/info");
            assert.equal(await card(page, "Packages"), info.packages.toLocaleString("en"));
            assert.equal(info.packages, packages.length);
            assert.equal(await card(page, "Dependency edges"), info.edges.toLocaleString("en"));
            assert.equal(await card(page, "Open connections"), "1");
            // Keep QUERY traffic flowing until two samples apart show its rate.
            let sending = true;
            const traffic = (async () => {
              const client = await TestClient.connect(server.port);
              try {
                for (let i = 0; sending; i++) {
                  assert.equal(await client.request("QUERY|cairo|"), "OK\n");
                  assert.equal(
                    await client.request(`${i % 2 ? "REMOVE" : "INDEX"}|console-test|`),
                    "OK\n",
                  );
                }
              } finally {
                client.close();
              }
            })();
            try {
              await page.waitForFunction(() => {
                const row = [...document.querySelectorAll("main tbody tr")]
                  .find((r) => r.firstElementChild?.textContent === "QUERY");
                const ok = row?.children[1]?.textContent ?? "";
                const latency = [...document.querySelectorAll("dl.cards div")]
                  .find((c) => c.querySelector("dt")?.textContent === "Mean commit latency");
                return /^[\d.,]+\/s$/.test(ok) && ok !== "0/s" &&
                  / ms$/.test(latency?.querySelector("dd")?.textContent ?? "");
              });
            } finally {
              sending = false;
              await traffic;
            }
            assert.match(await card(page, "Mean commit latency"), /^[\d.,]+ ms$/);
            assert.match(await card(page, "Committed"), /^[\d,]+$/);
            const points = await page.$eval("svg.chart polyline", (p) => p.getAttribute("points"));
            assert.ok(points !== null && points.length > 0, "the chart draws a line");
            assert.equal(await page.$eval("#role-link", (e) => (e as HTMLElement).hidden), true);
            if (screenshots !== undefined) {
              // Some minutes' worth of varying load, so that the chart has a shape.
              const client = await TestClient.connect(server.port);
              for (let second = 0; second < 40; second++) {
                const burst = 300 * (1 + Math.round(10 * Math.abs(Math.sin(second / 6))));
                await client.send("QUERY|cairo|\n".repeat(burst));
                await client.readLines(burst);
                await new Promise((resolve) => setTimeout(resolve, 1000));
              }
              client.close();
              await screenshot(page, "overview");
            }
            assertClean(problems);
          });

          await t.step("search lists a prefix a page at a time and links to packages", async () => {
            await page.click('nav a[data-view="search"]');
            await rendered(page, "search");
            await page.type("#prefix", "lib");
            // The unfiltered list is rendered already: wait for the next render, not that one.
            await afterRender(page, "search", async () => {
              await page.keyboard.press("Enter");
              await page.waitForFunction(() => location.hash === "#/search?prefix=lib");
            });
            const first = await api("/v1/packages?prefix=lib&limit=50");
            assert.ok(first.next !== null, "more than one page of lib*");
            assert.deepEqual(await texts(page, "main ul.results li"), first.names);
            assert.match(
              await page.$eval("#search-summary", (e) => e.textContent ?? ""),
              new RegExp(`^${first.total} packages start with 'lib'`),
            );
            await screenshot(page, "search");
            await afterRender(page, "search", () => clickLink(page, "Next page"));
            const second = await api(
              `/v1/packages?prefix=lib&limit=50&after=${encodeURIComponent(first.next)}`,
            );
            assert.deepEqual(await texts(page, "main ul.results li"), second.names);
            await afterRender(page, "search", () => clickLink(page, "Previous page"));
            assert.deepEqual(await texts(page, "main ul.results li"), first.names);
            await afterRender(page, "package", () => clickLink(page, first.names[0]));
            assert.equal(await page.$eval("main h2", (e) => e.textContent), first.names[0]);
            assertClean(problems);
          });

          await t.step(
            "a package shows its neighbours, blockers, install order and graph",
            async () => {
              await go(page, "#/package/cairo", "package");
              const view = await api("/v1/packages/cairo?limit=500");
              const blockers = await api("/v1/packages/cairo/blockers?limit=500");
              const order = await api("/v1/packages/cairo/install-order?limit=500");
              assert.ok(view.dependencyCount > 0 && view.dependentCount > 0);
              assert.deepEqual(await listed(page, "Dependencies"), view.dependencies);
              assert.deepEqual(await listed(page, "Dependents"), view.dependents);
              assert.deepEqual(await listed(page, "Blockers, in REMOVE order"), blockers.blockers);
              assert.deepEqual(await listed(page, "Install order"), order.order);
              assert.equal(
                await card(page, "Blockers of REMOVE"),
                blockers.total.toLocaleString("en"),
              );
              const nodes = await page.$$eval(
                "svg.graph a",
                (links) => links.map((a) => a.getAttribute("aria-label")),
              );
              assert.deepEqual(
                nodes,
                [...layer(view.dependencies), ...layer(view.dependents)],
              );
              await screenshot(page, "package");
              // A name in the graph is a link: focus it by keyboard and follow it.
              const target = view.dependencies[0];
              const focused = await page.$eval(`svg.graph a[aria-label="${target}"]`, (a) => {
                a.focus();
                return document.activeElement === a;
              });
              assert.ok(focused, "a name in the graph takes the keyboard focus");
              await afterRender(page, "package", () => page.keyboard.press("Enter"));
              assert.equal(await page.$eval("main h2", (e) => e.textContent), target);
              assertClean(problems);
            },
          );

          await t.step("a package with many neighbours collapses them in the graph", async () => {
            await go(page, "#/package/pkg-config", "package");
            const view = await api("/v1/packages/pkg-config?limit=1");
            assert.ok(view.dependentCount > 100);
            assert.equal((await page.$$("svg.graph a")).length, 11);
            assert.deepEqual(await texts(page, "svg.graph .more text"), [
              `+${(view.dependentCount - 11).toLocaleString("en")} more`,
            ]);
            assert.equal((await listed(page, "Dependents")).length, 500);
            await go(page, "#/package/no-such-package", "package");
            assert.equal(
              await page.$eval("main p", (e) => e.textContent),
              "The package 'no-such-package' is not indexed.",
            );
            // Chromium itself logs the three 404s (package, install order, blockers).
            assert.deepEqual(
              await expectedErrors(problems, 3),
              Array(3).fill(
                "Failed to load resource: the server responded with a status of 404 (Not Found)",
              ),
            );
            assertClean(problems);
          });

          await t.step("explain shows the reply, the reason and the lists", async () => {
            await page.click('nav a[data-view="explain"]');
            await rendered(page, "explain");
            await page.type("#line", "REMOVE|cairo|");
            await afterRender(page, "explain", () => page.keyboard.press("Enter"));
            const answer = await api("/v1/explain", { method: "POST", body: "REMOVE|cairo|" });
            assert.equal(answer.reply, "FAIL");
            assert.equal(await page.$eval("#reply", (e) => e.textContent), "FAIL");
            assert.equal(await page.$eval("#reason", (e) => e.textContent), answer.reason);
            assert.deepEqual(await listed(page, "Blockers, in REMOVE order"), answer.blockers);
            assert.deepEqual(await listed(page, "Dependents"), answer.dependents);
            await screenshot(page, "explain");
            await go(page, `#/explain?line=${encodeURIComponent("INDEX|a b|")}`, "explain");
            assert.equal(await page.$eval("#reply", (e) => e.textContent), "ERROR");
            assert.equal(
              await page.$eval("main pre", (e) => e.textContent),
              "INDEX|a b|\n       ^ package",
            );
            assertClean(problems);
          });

          await t.step("the slow log and the connections match the API", async () => {
            // Re-index some real packages, so that the newest slow log entries are theirs.
            const reindexed = packages.filter((spec) => spec.dependencies.length > 0).slice(-20);
            const lines = reindexed.map((spec) => `INDEX|${spec.name}|${spec.dependencies}\n`);
            await held.send(lines.join(""));
            assert.equal(await held.readLines(lines.length), "OK\n".repeat(lines.length));
            await page.click('nav a[data-view="activity"]');
            await rendered(page, "activity");
            const slowlog = await api("/v1/slowlog?limit=500");
            const connections = await api("/v1/connections?limit=500");
            assert.ok(slowlog.entries.length > 0);
            const tables = await page.$$eval(
              "main table",
              (tables) =>
                tables.map((table) =>
                  [...table.querySelectorAll("tbody tr")].map((row) =>
                    [...row.children].map((cell) => cell.textContent ?? "")
                  )
                ),
            );
            assert.deepEqual(
              tables[1]!.map((row) => row[0]),
              slowlog.entries.map((e: { id: number }) => String(e.id)),
            );
            type Connection = {
              peer: string;
              requests: number;
              bytesReceived: number;
              bytesSent: number;
            };
            assert.deepEqual(
              tables[0]!.map((row) => [row[0], ...row.slice(3)]),
              connections.connections.map((
                c: Connection,
              ) => [
                c.peer,
                ...[c.requests, c.bytesReceived, c.bytesSent].map((n) => n.toLocaleString("en")),
              ]),
            );
            assert.equal(connections.total, 1); // the connection this test holds
            await screenshot(page, "activity");
            assertClean(problems);
          });

          await t.step("the role view appears once /v1/info reports replication", async () => {
            const { page: rolePage, problems: roleProblems } = await openPage(browser);
            await rolePage.setViewport({ width: 1100, height: 700 });
            await rolePage.setRequestInterception(true);
            rolePage.on("request", async (request) => {
              if (!request.url().endsWith("/v1/info")) return request.continue();
              const info = await api("/v1/info");
              info.replication = {
                role: "standby",
                epoch: 7,
                leaseValid: true,
                appliedChange: 4182,
                lagChanges: 3,
                lagSeconds: 0.25,
                data: "postgres://db.internal:5432/pkgindex",
              };
              await request.respond({
                status: 200,
                contentType: "application/json; charset=utf-8",
                body: JSON.stringify(info),
              });
            });
            await showRole(rolePage, `${base}/`);
            assert.equal(await rolePage.$eval("main h2", (e) => e.textContent), "Role: standby");
            assert.equal(await card(rolePage, "Epoch"), "7");
            assert.equal(await card(rolePage, "Lag, changes"), "3");
            assert.equal(await card(rolePage, "Lease valid"), "yes");
            await screenshot(rolePage, "role");
            await rolePage.close();
            assertClean(roleProblems);
          });

          await t.step("the page is usable by keyboard and has a dark theme", async () => {
            await go(page, "#/", "overview");
            await page.keyboard.press("Tab");
            assert.equal(
              await page.evaluate(() => document.activeElement?.textContent),
              "Skip to content",
            );
            const unlabelled = await page.$$eval(
              "input, select",
              (controls) =>
                controls.filter((c) =>
                  document.querySelector(`label[for="${c.id}"]`) === null &&
                  !c.getAttribute("aria-label")
                ).map((c) => c.outerHTML),
            );
            assert.deepEqual(unlabelled, []);
            await page.select("#theme", "dark");
            const background = await page.$eval("body", (b) => getComputedStyle(b).backgroundColor);
            assert.equal(background, "rgb(15, 18, 22)");
            await screenshot(page, "overview-dark");
            await page.select("#theme", "auto");
            assertClean(problems);
          });
          await page.close();
        } finally {
          held.close();
          const { code, log } = await server.stop();
          assert.equal(code, 0, log);
        }
      });

      await t.step({
        name: "a leader on PostgreSQL shows its role",
        ignore: postgres.ignore,
        fn: async () => {
          const cluster = await startPostgresCluster(postgres);
          try {
            const url = await cluster.createDatabase("console");
            const server = await startServerProcess(
              serverCommand(["--data", url, "--http-port", "0"]),
            );
            try {
              await server.waitForLog(/Leading database .* with epoch 1/);
              const { page, problems } = await openPage(browser);
              await showRole(page, `http://127.0.0.1:${server.httpPort}/`);
              assert.equal(await page.$eval("main h2", (e) => e.textContent), "Role: leader");
              assert.equal(await card(page, "Epoch"), "1");
              assert.equal(await card(page, "Lease valid"), "yes");
              assert.equal(await card(page, "Lag, changes"), "0");
              assertClean(problems);
              await page.close();
            } finally {
              const { code, log } = await server.stop();
              assert.equal(code, 0, log);
            }
          } finally {
            await cluster.stop();
          }
        },
      });

      await t.step(
        "off loopback the page asks for the token and sends it as a bearer header",
        async () => {
          const server = await startServerProcess(
            serverCommand(["--http-port", "0", "--http-host", "0.0.0.0"]),
            { env: { PKGINDEX_HTTP_TOKEN: TOKEN } },
          );
          try {
            await preloadPackages({ hostname: "127.0.0.1", port: server.port }, packages);
            const { page, problems } = await openPage(browser);
            await page.setViewport({ width: 1100, height: 500 });
            const requests: { url: string; authorization: string | undefined }[] = [];
            page.on("request", (request) => {
              requests.push({ url: request.url(), authorization: request.headers().authorization });
            });
            await page.goto(`http://127.0.0.1:${server.httpPort}/#/package/cairo`);
            await rendered(page, "token");
            assert.equal(requests.filter((r) => r.url.includes("/v1/")).length, 0);
            await screenshot(page, "token");
            await page.type("#token", "wrong-token");
            await page.keyboard.press("Enter");
            await page.waitForFunction(() =>
              document.querySelector("main p")?.textContent?.startsWith("The server refused")
            );
            // The three refused requests of the package view are the errors the page logs.
            assert.deepEqual(
              await expectedErrors(problems, 3),
              Array(3).fill(
                "Failed to load resource: the server responded with a status of 401 (Unauthorized)",
              ),
            );
            await page.type("#token", TOKEN);
            await page.keyboard.press("Enter");
            await rendered(page, "package");
            assert.equal(await page.$eval("main h2", (e) => e.textContent), "cairo");
            const api = requests.filter((r) => r.url.includes("/v1/"));
            assert.ok(api.length > 0);
            for (const request of api) {
              assert.ok(!request.url.includes(TOKEN), `no token in ${request.url}`);
            }
            assert.ok(api.some((r) => r.authorization === `Bearer ${TOKEN}`));
            assert.equal(
              await page.evaluate(() => sessionStorage.getItem("pkgindex-token")),
              TOKEN,
            );
            await page.click("#forget");
            await rendered(page, "token");
            assert.equal(await page.evaluate(() => sessionStorage.getItem("pkgindex-token")), null);
            assertClean(problems);
            await page.close();
          } finally {
            const { code, log } = await server.stop();
            assert.equal(code, 0, log);
          }
        },
      );
    } finally {
      await close();
    }
  },
});

/** The names a layer of the graph draws: all up to 12, else the first 11 and "+N more". */
function layer(names: string[]): string[] {
  return names.slice(0, names.length > 12 ? 11 : 12);
}

/** Clicks the link in `main` whose text is `text`. */
async function clickLink(page: Page, text: string): Promise<void> {
  const links = await page.$$("main a");
  for (const link of links) {
    if (await link.evaluate((a) => a.textContent) === text) {
      await link.click();
      return;
    }
  }
  throw new Error(`No link '${text}' in the view.`);
}
