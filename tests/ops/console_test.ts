import assert from "node:assert/strict";
import { CONSOLE_BYTES, CONSOLE_CSP, CONSOLE_PATHS } from "../../lib/ops/console.ts";
import { withService } from "../support/http_service.ts";

const CONSOLE = new URL("../../lib/ops/console/", import.meta.url);
const FILES = ["index.html", "console.js", "console.css"];

Deno.test("GET / serves the console page with a strict Content-Security-Policy", async () => {
  await withService(async (service) => {
    const page = await service.request("/");
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(page.headers.get("content-security-policy"), CONSOLE_CSP);
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
    assert.match(page.body, /<meta name="pkgindex-access" content="open">/);
    for (const [path, type] of [["/console.js", "text/javascript"], ["/console.css", "text/css"]]) {
      const file = await service.request(path!);
      assert.equal(file.status, 200, path);
      assert.equal(file.headers.get("content-type"), `${type}; charset=utf-8`);
      assert.equal(file.headers.get("content-security-policy"), CONSOLE_CSP);
      assert.equal(file.body, await Deno.readTextFile(new URL(path!.slice(1), CONSOLE)));
    }
    assert.equal((await service.request("/", { method: "HEAD" })).status, 200);
    const post = await service.request("/", { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    assert.equal((await service.request("/console.map")).status, 404);
  });
});

Deno.test("the Content-Security-Policy allows nothing inline and nothing from elsewhere", () => {
  const directives = new Map(
    CONSOLE_CSP.split("; ").map((directive) => {
      const [name, ...sources] = directive.split(" ");
      return [name!, sources.join(" ")];
    }),
  );
  assert.equal(directives.get("default-src"), "'none'");
  assert.equal(directives.get("script-src"), "'self'");
  assert.equal(directives.get("style-src"), "'self'");
  assert.equal(directives.get("connect-src"), "'self'");
  assert.equal(directives.get("frame-ancestors"), "'none'");
  assert.ok(!CONSOLE_CSP.includes("unsafe"), CONSOLE_CSP);
});

Deno.test("with a token the page is served without it and asks for it; /v1/ still needs it", async () => {
  await withService(async (service) => {
    const page = await service.request("/");
    assert.equal(page.status, 200);
    assert.match(page.body, /<meta name="pkgindex-access" content="token">/);
    assert.equal((await service.request("/console.js")).status, 200);
    assert.equal((await service.request("/v1/info")).status, 401);
  }, { token: "s3cret-token" });
});

Deno.test("off loopback without a token the console is closed like /v1/", async () => {
  await withService(async (service) => {
    for (const path of CONSOLE_PATHS) {
      const answer = await service.request(path);
      assert.equal(answer.status, 401, path);
      assert.match(answer.body, /PKGINDEX_HTTP_TOKEN/);
    }
  }, { httpHost: "0.0.0.0" });
});

Deno.test("the page and its script and styles stay within 60 KB and load nothing from elsewhere", async () => {
  let bytes = 0;
  for (const file of FILES) {
    const text = await Deno.readTextFile(new URL(file, CONSOLE));
    bytes += new TextEncoder().encode(text).length;
    // The one URL allowed is SVG's namespace, a name rather than a place to load from.
    const urls = text.match(/https?:\/\/[^"'\s)]*/g) ?? [];
    assert.deepEqual(urls.filter((url) => url !== "http://www.w3.org/2000/svg"), [], file);
  }
  assert.equal(bytes, CONSOLE_BYTES);
  assert.ok(bytes <= 60 * 1024, `the console is ${bytes} bytes`);
  const page = await Deno.readTextFile(new URL("index.html", CONSOLE));
  // Every script is a file of the listener's own: no inline script, no inline style.
  const scripts = [...page.matchAll(/<script\b[^>]*>/g)].map((match) => match[0]);
  assert.deepEqual(scripts, ['<script type="module" src="/console.js">']);
  assert.doesNotMatch(page, /<style|\sstyle=|\son[a-z]+=/);
  for (const path of CONSOLE_PATHS.filter((path) => path !== "/")) {
    assert.ok(page.includes(`"${path}"`), `the page loads ${path}`);
  }
});

/** The two themes' colours, from the `--name: light-dark(#light, #dark);` lines of `css`. */
function themes(css: string): { light: Map<string, string>; dark: Map<string, string> } {
  const light = new Map<string, string>();
  const dark = new Map<string, string>();
  for (const m of css.matchAll(/(--[a-z-]+): light-dark\((#[0-9a-f]{6}), (#[0-9a-f]{6})\);/g)) {
    light.set(m[1]!, m[2]!);
    dark.set(m[1]!, m[3]!);
  }
  return { light, dark };
}

/** WCAG's contrast ratio of two `#rrggbb` colours. */
function contrast(a: string, b: string): number {
  const luminance = (hex: string) => {
    const [r, g, b] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light! + 0.05) / (dark! + 0.05);
}

Deno.test("both themes keep text at a contrast of 4.5:1 or more on every background", async () => {
  const css = await Deno.readTextFile(new URL("console.css", CONSOLE));
  const { light, dark } = themes(css);
  assert.equal(light.size, 13);
  const pairs = [
    ["--fg", "--bg"],
    ["--fg", "--panel"],
    ["--fg", "--node"],
    ["--fg", "--node-self"],
    ["--muted", "--bg"],
    ["--muted", "--panel"],
    ["--muted", "--node"],
    ["--link", "--bg"],
    ["--link", "--panel"],
    ["--ok", "--bg"],
    ["--fail", "--bg"],
    ["--error", "--bg"],
  ];
  for (const [theme, values] of [["light", light], ["dark", dark]] as const) {
    for (const [text, background] of pairs) {
      const ratio = contrast(values.get(text!)!, values.get(background!)!);
      assert.ok(ratio >= 4.5, `${theme}: ${text} on ${background} is ${ratio.toFixed(2)}:1`);
    }
  }
});
