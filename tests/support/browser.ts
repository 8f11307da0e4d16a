/// <reference lib="dom" />
/**
 * Headless Chromium for the console's tests and benchmark, driven by `puppeteer-core` (a
 * development dependency only, pinned in deno.lock). Each browser gets a fresh profile and the
 * flags that keep an offline machine quiet: no background networking, no updates, no sync.
 *
 * @module
 */

import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { findComponent, type FoundComponent } from "./real_component.ts";

export type { Browser, Page };

/** Looks for Debian's Chromium: skipped with one line locally, a failure under `CI=true`. */
export function findChromium(): Promise<FoundComponent> {
  return findComponent({
    name: "Chromium",
    candidates: ["/usr/bin/chromium", "/usr/bin/chromium-browser"],
    install: "apt-get install -y chromium",
  });
}

/** A running browser and how to close it (which also removes its profile). */
export interface RunningBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/** Starts headless Chromium from `executablePath` with a fresh profile. */
export async function launchChromium(executablePath: string): Promise<RunningBrowser> {
  const profile = await Deno.makeTempDir({ prefix: "pkgindex_chromium_" });
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
      await Deno.remove(profile, { recursive: true });
    },
  };
}

/** What went wrong in a page: console errors, uncaught exceptions and CSP violations. */
export interface PageProblems {
  errors: string[];
  violations: string[];
}

/**
 * Opens a page that records its problems: every console message of type `error`, every uncaught
 * exception, and every Content-Security-Policy violation the page reports.
 */
export async function openPage(browser: Browser): Promise<{ page: Page; problems: PageProblems }> {
  const page = await browser.newPage();
  const problems: PageProblems = { errors: [], violations: [] };
  page.on("console", (message) => {
    if (message.type() === "error") problems.errors.push(message.text());
  });
  page.on("pageerror", (error) => problems.errors.push(String(error)));
  await page.exposeFunction("__reportViolation", (text: string) => {
    problems.violations.push(text);
  });
  await page.evaluateOnNewDocument(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      // deno-lint-ignore no-explicit-any
      (globalThis as any).__reportViolation(`${event.violatedDirective}: ${event.blockedURI}`);
    });
  });
  return { page, problems };
}
