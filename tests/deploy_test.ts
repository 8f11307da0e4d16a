/**
 * The deployment files in deploy/ are checked against the code, so that they cannot drift: the
 * alert rules may use only metrics the server exports, and the systemd unit only flags and
 * variables the server reads.
 */
import assert from "node:assert/strict";
import { SERVE_ENV_VARIABLES, SERVE_FLAGS } from "../lib/cli/serve.ts";
import { METRIC_NAMES } from "../lib/ops/metrics.ts";

const deployFile = (name: string) =>
  Deno.readTextFile(new URL(`../deploy/${name}`, import.meta.url));

/** The metric families a text names: `pkgindex_*` words, histogram suffixes dropped. */
function metricFamilies(text: string): string[] {
  const names = text.match(/\bpkgindex_[a-z_]+/g) ?? [];
  return [...new Set(names.map((name) => name.replace(/_(bucket|sum|count)$/, "")))];
}

Deno.test("the alert rules use only metrics the server exports", async () => {
  const used = metricFamilies(await deployFile("alerts.yml"));
  assert.ok(used.length >= 5, `the rules were read (${used.join(", ")})`);
  for (const name of used) assert.ok(METRIC_NAMES.includes(name), `${name} is exported`);
});

Deno.test("the alert check rejects a metric the server does not export", () => {
  const used = metricFamilies("expr: rate(pkgindex_requests_totl[5m]) > 0");
  assert.deepEqual(used.filter((name) => !METRIC_NAMES.includes(name)), ["pkgindex_requests_totl"]);
});

Deno.test("the systemd unit uses only flags and variables the server has", async () => {
  const unit = await deployFile("pkgindex.service");
  const execStart = /^ExecStart=(\S+) serve (.*)$/m.exec(unit);
  assert.ok(execStart !== null, "ExecStart runs pkgindex serve");
  const flags = [...execStart[2]!.matchAll(/--([a-z-]+)/g)].map((match) => match[1]!);
  assert.ok(flags.length >= 2);
  for (const flag of flags) assert.ok(Object.hasOwn(SERVE_FLAGS, flag), `--${flag} exists`);
  const variables = [...unit.matchAll(/^Environment=(\w+)=/gm)].map((match) => match[1]!);
  assert.ok(variables.length >= 1);
  for (const variable of variables) {
    assert.ok(SERVE_ENV_VARIABLES.includes(variable), `${variable} is read by serve`);
  }
});
