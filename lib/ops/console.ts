/**
 * The operator console: one page, one script and one style sheet, served at `GET /` by the HTTP
 * listener. Its views read the `/v1/` inspection API from the browser.
 *
 * The files live in `console/` and are imported as text, so they are part of the module graph:
 * `deno compile` embeds them in the binary like any module, with no `--include`, and the server
 * never reads them from disk. The page works offline: no CDN, no external font, no framework,
 * no build step. Every answer carries a strict Content-Security-Policy that allows scripts,
 * styles and connections only from the listener itself (no inline script or style at all).
 *
 * @module
 */

import page from "./console/index.html" with { type: "text" };
import script from "./console/console.js" with { type: "text" };
import style from "./console/console.css" with { type: "text" };

/**
 * The Content-Security-Policy of the console's files: everything from the listener itself, no
 * inline script or style, no plugins, no framing, no form posted anywhere. `data:` images are
 * only the page's empty icon, so that browsers do not ask for `/favicon.ico`.
 */
export const CONSOLE_CSP: string = "default-src 'none'; script-src 'self'; style-src 'self'; " +
  "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; " +
  "frame-ancestors 'none'";

/** How the page learns whether to ask for the token before its first request. */
export type ConsoleAccess = "open" | "token";

/** A file of the console: its body and `Content-Type`. */
interface ConsoleFile {
  body: string;
  type: string;
}

const ACCESS_META = '<meta name="pkgindex-access" content="open">';

const FILES: Record<string, ConsoleFile> = {
  "/console.js": { body: script, type: "text/javascript; charset=utf-8" },
  "/console.css": { body: style, type: "text/css; charset=utf-8" },
};
const PAGES: Record<ConsoleAccess, ConsoleFile> = {
  open: { body: page, type: "text/html; charset=utf-8" },
  token: {
    body: page.replace(ACCESS_META, ACCESS_META.replace("open", "token")),
    type: "text/html; charset=utf-8",
  },
};

/** The paths the console answers: the page and its two files. */
export const CONSOLE_PATHS: readonly string[] = ["/", ...Object.keys(FILES)];

/** The console's page, script and style sheet, in bytes as served (the page for `open`). */
export const CONSOLE_BYTES: number = new TextEncoder().encode(page + script + style).length;

/**
 * The console's answer for `path` (one of {@linkcode CONSOLE_PATHS}): the page, told whether the
 * server wants a token (it then asks for it before any request), or one of its files; with the
 * policy, no caching of a page that may change with the server, and no sniffing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONSOLE_CSP, consoleResponse } from "./console.ts";
 *
 * const response = consoleResponse("/", "token");
 * assert.equal(response.headers.get("content-security-policy"), CONSOLE_CSP);
 * assert.match(await response.text(), /<meta name="pkgindex-access" content="token">/);
 * ```
 */
export function consoleResponse(path: string, access: ConsoleAccess): Response {
  const file = path === "/" ? PAGES[access] : FILES[path];
  if (file === undefined) throw new Error(`The console has no file at '${path}'.`);
  return new Response(file.body, {
    headers: {
      "content-type": file.type,
      "content-security-policy": CONSOLE_CSP,
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    },
  });
}
